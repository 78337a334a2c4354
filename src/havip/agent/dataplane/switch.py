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

import errno
import ipaddress
import os
import socket
import struct
import time
from collections.abc import Sequence

from havip.agent import marks
from havip.agent.arp import mac_bytes
from havip.agent.dataplane.errors import DataplaneError
from havip.agent.dataplane.netlink import attr
from havip.agent.dataplane.netns import Netns

NETLINK_ROUTE = 0
RTM_NEWROUTE = 24
RTM_NEWNEIGH = 28
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15
RTNH_F_ONLINK = 4
RT_SCOPE_UNIVERSE = 0
NDA_DST = 1
NDA_LLADDR = 2
NUD_PERMANENT = 0x80
RT_SCOPE_LINK = 253
RTN_UNICAST = 1


def _msg(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    return struct.pack("IHHII", 16 + len(body), kind, flags, seq, 0) + body


def neigh_msg(seq: int, ifindex: int, ip: str, mac: str) -> bytes:
    body = struct.pack("BxxxiHBB", socket.AF_INET, ifindex, NUD_PERMANENT, 0, 0)
    body += attr(NDA_DST, ipaddress.IPv4Address(ip).packed) + attr(NDA_LLADDR, mac_bytes(mac))
    return _msg(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, seq, body)


def route_msg(seq: int, table: int, dst: str, ifindex: int, gateway: str | None = None) -> bytes:
    """Replace ``dst`` (an address or a CIDR) by ``dev ifindex``, or ``via gateway dev ifindex onlink``."""
    net = ipaddress.IPv4Network(dst)
    scope, flags = (RT_SCOPE_LINK, 0) if gateway is None else (RT_SCOPE_UNIVERSE, RTNH_F_ONLINK)
    body = struct.pack(
        "BBBBBBBBI", socket.AF_INET, net.prefixlen, 0, 0, 0, marks.RTPROT_HAVIP, scope, RTN_UNICAST, flags
    )
    body += attr(RTA_TABLE, struct.pack("I", table))
    body += attr(RTA_DST, net.network_address.packed) + attr(RTA_OIF, struct.pack("i", ifindex))
    if gateway is not None:
        body += attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed)
    return _msg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE, seq, body)


class RouteSwitch:
    """A raw rtnetlink writer bound to one namespace. One caller at a time."""

    def __init__(self, ns: Netns) -> None:
        self._sock: socket.socket = ns.run(self._open)
        self._seq = 0

    @staticmethod
    def _open() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        s.bind((0, 0))
        return s

    def close(self) -> None:
        self._sock.close()

    def switch(self, table: int, vip: str, ifindex: int, mac: str, routes: Sequence[str] = ()) -> int:
        """Point ``vip`` and the route entries ``routes`` (destinations via the VIP) at
        ``ifindex``; returns ``time.time_ns()`` of the last ack."""
        first = self._seq + 1
        msgs = [neigh_msg(first, ifindex, vip, mac), route_msg(first + 1, table, vip, ifindex)]
        msgs += [route_msg(first + 2 + n, table, dst, ifindex, vip) for n, dst in enumerate(routes)]
        self._seq += len(msgs)
        self._sock.sendall(b"".join(msgs))
        pending = set(range(first, first + len(msgs)))
        while pending:
            data = self._sock.recv(65536)
            acked = time.time_ns()
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, seq, _pid = struct.unpack_from("IHHII", data, off)
                if kind == NLMSG_ERROR and seq in pending:
                    (err,) = struct.unpack_from("i", data, off + 16)
                    if err:
                        raise DataplaneError(f"route switch of {vip}: {os.strerror(-err)}") from OSError(-err, "")
                    pending.discard(seq)
                    if not pending:
                        return acked
                off += (length + 3) & ~3 if length else len(data)
        raise DataplaneError(f"route switch of {vip}: no ack") from OSError(errno.EIO, "")
