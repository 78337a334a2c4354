"""The claim path's route switch: neighbour, VIP /32 route and route entries in one netlink send.

``RouteSwitch`` owns a raw rtnetlink socket opened inside the host namespace. ``switch``
sends ``RTM_NEWNEIGH`` (permanent, the holder's MAC), ``RTM_NEWROUTE`` (replace
``VIP/32 dev port table T proto 77``) and one ``RTM_NEWROUTE`` per route table entry
whose next hop is the HaVip (replace ``dst via VIP dev port onlink table T proto 77``)
in a single ``sendmsg`` and waits for every ack; it returns the wall-clock time (ns,
CLOCK_REALTIME like ``SO_TIMESTAMPNS``) at which the kernel acknowledged the last one.
An EIP of the HaVip needs nothing here: its traffic is translated to the VIP and so
follows the VIP's route. pyroute2's synchronous calls cost about 1-2 ms each; this
costs a fraction of that (rlab.md).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time
from collections.abc import Sequence

from havip.agent import marks
from havip.agent.arp import mac_bytes
from havip.agent.dataplane.netlink import NETLINK_ROUTE, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, SO_RCVBUFFORCE, attr
from havip.agent.dataplane.netns import Netns
from havip.agent.kernel import DataplaneError, Encap, Move

RTM_NEWROUTE = 24
RTM_NEWNEIGH = 28
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15
RTA_ENCAP_TYPE = 21
RTA_ENCAP = 22
LWTUNNEL_ENCAP_IP = 2
LWTUNNEL_IP_ID = 1
LWTUNNEL_IP_DST = 2
NLA_F_NESTED = 0x8000
RTNH_F_ONLINK = 4
RT_SCOPE_UNIVERSE = 0
NDA_DST = 1
NDA_LLADDR = 2
NUD_PERMANENT = 0x80
RT_SCOPE_LINK = 253
RTN_UNICAST = 1
RCVBUF = 4 << 20
BATCH = 256  # messages per sendmsg (a move is 2 + its route entries): their acks well inside RCVBUF


def _msg(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    return struct.pack("IHHII", 16 + len(body), kind, flags, seq, 0) + body


def neigh_msg(seq: int, ifindex: int, ip: str, mac: str) -> bytes:
    body = struct.pack("BxxxiHBB", socket.AF_INET, ifindex, NUD_PERMANENT, 0, 0)
    body += attr(NDA_DST, ipaddress.IPv4Address(ip).packed) + attr(NDA_LLADDR, mac_bytes(mac))
    return _msg(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, seq, body)


def route_body(table: int, dst: str, ifindex: int, gateway: str | None = None, encap: Encap | None = None) -> bytes:
    """The rtmsg and attributes of ``dst`` (an address or a CIDR) ``dev ifindex``, or ``via
    gateway dev ifindex onlink``, or with ``encap`` ``encap ip id VNI dst HOST dev ifindex``
    (the tunnel), in ``table`` with the agent's protocol. pyroute2 0.9 has no encoder for the
    IP lightweight tunnel, so the reconcile's tunnel routes use this too."""
    net = ipaddress.IPv4Network(dst)
    scope, flags = (RT_SCOPE_LINK, 0) if gateway is None else (RT_SCOPE_UNIVERSE, RTNH_F_ONLINK)
    body = struct.pack(
        "BBBBBBBBI", socket.AF_INET, net.prefixlen, 0, 0, 0, marks.RTPROT_HAVIP, scope, RTN_UNICAST, flags
    )
    body += attr(RTA_TABLE, struct.pack("I", table))
    body += attr(RTA_DST, net.network_address.packed) + attr(RTA_OIF, struct.pack("i", ifindex))
    if gateway is not None:
        body += attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed)
    if encap is not None:
        tunnel = attr(LWTUNNEL_IP_ID, struct.pack(">Q", encap.vni))
        tunnel += attr(LWTUNNEL_IP_DST, ipaddress.IPv4Address(encap.dst).packed)
        body += attr(RTA_ENCAP_TYPE, struct.pack("H", LWTUNNEL_ENCAP_IP)) + attr(RTA_ENCAP | NLA_F_NESTED, tunnel)
    return body


def route_msg(
    seq: int, table: int, dst: str, ifindex: int, gateway: str | None = None, encap: Encap | None = None
) -> bytes:
    """Replace the route of ``route_body`` (one message, acked)."""
    body = route_body(table, dst, ifindex, gateway, encap)
    return _msg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, seq, body)


def messages(move: Move, first_seq: int) -> list[bytes]:
    """The netlink messages of one move: neighbour, VIP /32, then each route entry via the VIP;
    into the tunnel: the VIP /32 and each route entry, encapsulated towards the holder's host."""
    if move.encap is not None:
        dsts = [move.vip, *move.routes]
        return [route_msg(first_seq + n, move.table, d, move.ifindex, encap=move.encap) for n, d in enumerate(dsts)]
    msgs = [
        neigh_msg(first_seq, move.ifindex, move.vip, move.mac),
        route_msg(first_seq + 1, move.table, move.vip, move.ifindex),
    ]
    msgs += [route_msg(first_seq + 2 + n, move.table, dst, move.ifindex, move.vip) for n, dst in enumerate(move.routes)]
    return msgs


def _failed(vip: str, err: int) -> DataplaneError:
    e = DataplaneError(f"route switch of {vip}: {os.strerror(err)}")
    e.__cause__ = OSError(err, os.strerror(err))
    return e


class RouteSwitch:
    """A raw rtnetlink writer bound to one namespace. One caller at a time."""

    def __init__(self, ns: Netns) -> None:
        self._sock: socket.socket = ns.run(self._open)
        self._seq = 0

    @staticmethod
    def _open() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)  # a batch's acks (CAP_NET_ADMIN)
        s.bind((0, 0))
        return s

    def close(self) -> None:
        self._sock.close()

    def switch(self, table: int, vip: str, ifindex: int, mac: str, routes: Sequence[str] = ()) -> int:
        """Point ``vip`` and the route entries ``routes`` (destinations via the VIP) at
        ``ifindex``; returns ``time.time_ns()`` of the last ack."""
        (result,) = self.switch_many([Move(table, vip, ifindex, mac, routes)])
        if isinstance(result, DataplaneError):
            raise result
        return result

    def switch_many(self, moves: Sequence[Move]) -> list[int | DataplaneError]:
        """Several moves (a mass failover announces every VIP of an instance at once):
        up to ``BATCH`` messages per ``sendmsg``, every ack awaited before the next. For
        each move, in order, the time of its last ack, or the error the kernel gave for it
        (the others still move)."""
        out: list[int | DataplaneError] = []
        chunk: list[Move] = []
        size = 0
        for move in [*moves, None]:
            if chunk and (move is None or size + 2 + len(move.routes) > BATCH):
                try:
                    out += self._send(chunk)
                except OSError as e:  # the socket failed (not the kernel refusing a move): these did not happen
                    out += [DataplaneError(f"route switch of {m.vip}: {e}") for m in chunk]
                chunk, size = [], 0
            if move is not None:
                chunk.append(move)
                size += 2 + len(move.routes)
        return out

    def _send(self, moves: Sequence[Move]) -> list[int | DataplaneError]:
        owner: dict[int, int] = {}  # seq -> index of its move
        left = [0] * len(moves)  # acks still awaited per move
        msgs: list[bytes] = []
        for i, move in enumerate(moves):
            mine = messages(move, self._seq + 1)
            for n in range(len(mine)):
                owner[self._seq + 1 + n] = i
            self._seq += len(mine)
            left[i] = len(mine)
            msgs += mine
        result: list[int | DataplaneError | None] = [None] * len(moves)
        self._sock.sendall(b"".join(msgs))
        pending = len(owner)
        while pending:
            data = self._sock.recv(1 << 20)
            acked = time.time_ns()
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, seq, _pid = struct.unpack_from("IHHII", data, off)
                i = owner.pop(seq, -1) if kind == NLMSG_ERROR else -1
                if i >= 0:
                    pending -= 1
                    left[i] -= 1
                    (err,) = struct.unpack_from("i", data, off + 16)
                    if err and not isinstance(result[i], DataplaneError):
                        result[i] = _failed(moves[i].vip, -err)
                    elif not left[i] and result[i] is None:
                        result[i] = acked
                off += (length + 3) & ~3 if length else len(data)
        return [
            r if r is not None else DataplaneError(f"route switch of {m.vip}: no ack")
            for r, m in zip(result, moves, strict=True)
        ]
