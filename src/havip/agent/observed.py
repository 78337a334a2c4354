"""What the data plane read back from the host's kernel: the planner's second input.

The data plane fills these in (``havip.agent.dataplane``); the planner and the unit
tests build them by hand. Only objects that can matter to the agent are listed: every
link (so a desired device can be adopted), routes of the VPC tables and the egress table, permanent
neighbours, IPv4 policy rules and nftables tables. Pure values, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from havip.agent import marks


class Encap(NamedTuple):
    """A route's lightweight tunnel (``encap ip id VNI dst UNDERLAY``): where the tunnel
    device sends what the route carries."""

    vni: int
    dst: str  # the peer host's underlay address


@dataclass(frozen=True, kw_only=True)
class Link:
    name: str
    index: int = 0
    alias: str | None = None
    mac: str = ""
    up: bool = False
    kind: str | None = None  # "veth", "ifb", "tun", "tap" (a tun device in tap mode), ...
    # per-device IPv4 settings the agent needs on a port: proxy_arp=1, proxy_delay=0,
    # rp_filter=0, forwarding=1, send_redirects=0
    port_sysctls_ok: bool = False
    # what the uplink needs: rp_filter=0 (a reply's way back is in a VPC table), forwarding=1
    uplink_sysctls_ok: bool = False
    has_ipv4: bool = False  # carries an IPv4 address (never a port: the host uses it)
    mtu: int = 0
    tunnel_port: int | None = None  # a VXLAN device's UDP port


@dataclass(frozen=True, kw_only=True)
class Route:
    table: int
    dst: str  # "a.b.c.d/len"
    device: str | None
    proto: int
    gateway: str | None = None  # a route entry's next hop (onlink); None for device routes
    encap: Encap | None = None  # a route into the tunnel: its VNI and the peer's underlay


@dataclass(frozen=True)
class Neigh:
    device: str
    ip: str
    mac: str
    permanent: bool


@dataclass(frozen=True, kw_only=True)
class Rule:
    priority: int
    iif: str | None
    table: int | None  # None: an unreachable rule
    proto: int
    fwmark: int | None = None
    fwmask: int | None = None
    suppress_prefixlength: int | None = None
    tun_id: int | None = None  # FRA_TUN_ID: packets decapsulated with this VNI


@dataclass(frozen=True)
class Observed:
    # True once every kind of object has been read at least once: before that the
    # planner never deletes anything.
    complete: bool = False
    host_ready: bool = False  # ip_forward=1, all/default rp_filter=0 and send_redirects=0
    links: Mapping[str, Link] = field(default_factory=dict)
    routes: frozenset[Route] = frozenset()
    neighs: frozenset[Neigh] = frozenset()
    rules: frozenset[Rule] = frozenset()
    nft: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (family, name) -> digest ("" unknown)
    fwmark_reflect: bool = False  # net.ipv4.fwmark_reflect=1 (set with the tunnel: its ICMP errors)

    def vpc_tables(self) -> dict[str, int]:
        """VPC id -> table, from the sinks' aliases and names (keeps tables stable)."""
        out: dict[str, int] = {}
        for link in self.links.values():
            if link.alias and link.alias.startswith(marks.ALIAS_SINK) and link.name.startswith(marks.SINK_NAME_PREFIX):
                suffix = link.name[len(marks.SINK_NAME_PREFIX) :]
                if suffix.isdigit() and marks.is_our_table(int(suffix)):
                    out[link.alias[len(marks.ALIAS_SINK) :]] = int(suffix)
        return out
