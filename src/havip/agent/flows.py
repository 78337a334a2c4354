"""Which tracked flows to end when a VIP with an EIP moves or an EIP goes away.

Conntrack keeps the translation of a flow for as long as the flow lives, not the
route: after a failover the packets of a connection the old holder served are still
translated to the VIP and so reach the new holder, which has no socket and answers
with a reset; but only once the internet peer sends something. A peer that waits
(a download, a long poll) would wait until its own keepalive. So on a switch the
agent deletes the flows of the VIP in the VPC's conntrack zone and, for each TCP
flow that was translated and still lives, sends its internet peer one bare ACK from
the EIP with a sequence number it does not expect: the peer answers with a
challenge ACK (RFC 5961) carrying its exact sequence numbers, that answer is
translated to the VIP, reaches the new holder, and the new holder's reset carries
the right sequence number, so the peer's connection ends at once with a reset.

``select`` is the decision, pure and unit-tested; ``havip.agent.dataplane.conntrack``
reads the table, deletes and sends; ``havip.agent.resetter`` runs it off the claim
path. No I/O here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

IPPROTO_TCP = 6
IPS_SRC_NAT = 1 << 4
IPS_DST_NAT = 1 << 5

# TCP states (nf_conntrack_tcp.h) in which nobody will hear from the flow again
TCP_TIME_WAIT = 7
TCP_CLOSE = 8
TCP_DONE = (TCP_TIME_WAIT, TCP_CLOSE)


@dataclass(frozen=True)
class Flow:
    """One conntrack entry as the data plane read it."""

    zone: int
    proto: int
    orig_src: str
    orig_dst: str
    orig_sport: int
    orig_dport: int
    reply_src: str
    reply_dst: str
    reply_sport: int
    reply_dport: int
    status: int = 0
    tcp_state: int | None = None

    def addresses(self) -> set[str]:
        return {self.orig_src, self.orig_dst, self.reply_src, self.reply_dst}


@dataclass(frozen=True)
class Kick:
    """A bare TCP ACK from an EIP's side of a flow to its internet peer."""

    src: str
    sport: int
    dst: str
    dport: int


@dataclass(frozen=True)
class Selection:
    delete: tuple[Flow, ...]
    kick: tuple[Kick, ...]


def select(flows: Iterable[Flow], zone: int, addresses: Collection[str], kick: bool = True) -> Selection:
    """The flows of ``zone`` that touch any of ``addresses`` (a VIP, or an EIP), and the
    kicks for those that were translated, are TCP and still live (``kick`` False: none)."""
    mine = [f for f in flows if f.zone == zone and f.addresses() & set(addresses)]
    kicks: list[Kick] = []
    if kick:
        for f in mine:
            if f.proto != IPPROTO_TCP or f.tcp_state in TCP_DONE:
                continue
            if f.status & IPS_DST_NAT:  # the peer opened it to the EIP
                kicks.append(Kick(f.orig_dst, f.orig_dport, f.orig_src, f.orig_sport))
            elif f.status & IPS_SRC_NAT:  # the holder opened it from the VIP
                kicks.append(Kick(f.reply_dst, f.reply_dport, f.reply_src, f.reply_sport))
    return Selection(tuple(mine), tuple(dict.fromkeys(kicks)))
