"""Raw rtnetlink dumps for the read-back: links, IPv4 addresses, routes, neighbours, rules.

pyroute2 decodes every attribute of every message into Python objects, about 1 ms a
message: with 2,000 interfaces and 1,000 HaVips that was 5 s of a 6.9 s read-back
(issue 8). The read-back needs a handful of attributes, so ``RtDump`` sends each
``NLM_F_DUMP`` request over a plain ``NETLINK_ROUTE`` socket opened inside the host
namespace, reads the multi-part reply until ``NLMSG_DONE`` and picks the attributes
out with ``netlink.attrs``. The records hold the values exactly as pyroute2 gave them
(strings for addresses, the attribute before the header field of the same name), so
the ``Observed`` built from them does not change (``tests/kernel/test_rtdump.py``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterator
from typing import NamedTuple

from havip.agent.dataplane.netlink import (
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    attrs,
)
from havip.agent.dataplane.netns import Netns

NLM_F_DUMP_INTR = 0x10  # the dumped table changed meanwhile: the dump may be inconsistent
RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
RTM_GETNEIGH = 30
RTM_GETRULE = 34
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_VXLAN_PORT = 15  # be16
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_EXT_MASK = 29
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_TUN_TYPE = 3
IFF_TAP = 2  # IFLA_TUN_TYPE of a tun device in tap mode
RTEXT_FILTER_SKIP_STATS = 1 << 3  # leave the counters out of link messages: a third of their size
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15
RTA_ENCAP_TYPE = 21
RTA_ENCAP = 22
LWTUNNEL_ENCAP_IP = 2
LWTUNNEL_IP_ID = 1  # be64
LWTUNNEL_IP_DST = 2
NDA_DST = 1
NDA_LLADDR = 2
FRA_IIFNAME = 3
FRA_PRIORITY = 6
FRA_FWMARK = 10
FRA_TUN_ID = 12  # be64
FRA_SUPPRESS_PREFIXLEN = 14
FRA_TABLE = 15
FRA_FWMASK = 16
FRA_PROTOCOL = 21
BUFSIZE = 1 << 16  # the kernel fills a dump's datagrams up to 32 KiB
DUMP_TRIES = 3  # an interrupted dump is repeated; the last try is taken as it is


class LinkMsg(NamedTuple):
    ifindex: int
    flags: int
    name: str
    alias: str | None  # None: no alias, or an empty one
    mac: str  # lower-case "aa:bb:..."; "" when the device has no link-layer address
    kind: str | None  # IFLA_INFO_KIND; "tap" for a tun device in tap mode
    mtu: int = 0
    vxlan_port: int | None = None  # IFLA_VXLAN_PORT of a vxlan device


class RouteMsg(NamedTuple):
    table: int
    dst: str  # "a.b.c.d/len"
    oif: int | None
    proto: int
    gateway: str | None
    encap: tuple[int, str] | None = None  # LWTUNNEL_ENCAP_IP: (tunnel id, dst)


class NeighMsg(NamedTuple):
    ifindex: int
    dst: str | None
    lladdr: str  # lower-case; "" when the entry has none
    state: int


class RuleMsg(NamedTuple):
    priority: int
    iif: str | None
    action: int
    table: int
    protocol: int
    fwmark: int | None
    fwmask: int | None
    suppress_prefixlen: int | None  # as the kernel reports it (0xffffffff: not set)
    tun_id: int | None = None


def _attrs(data: bytes) -> dict[int, bytes]:
    """Attribute type -> payload; the first of a repeated type, as pyroute2's ``get``."""
    out: dict[int, bytes] = {}
    for kind, value in attrs(data):
        out.setdefault(kind, value)
    return out


def _str(value: bytes | None) -> str | None:
    return None if value is None else value.split(b"\0", 1)[0].decode()


def _u32(value: bytes | None) -> int | None:
    return None if value is None else int(struct.unpack_from("I", value)[0])


def _or(value: int | None, field: int) -> int:
    """An attribute, else the header field of the same name (pyroute2's ``get``)."""
    return field if value is None else value


def _be64(value: bytes | None) -> int | None:
    return None if value is None else int(struct.unpack_from(">Q", value)[0])


def _ipv4(value: bytes | None) -> str | None:
    return None if value is None else str(ipaddress.IPv4Address(value[:4]))


def _hw(value: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in value) if value else ""


def parse_link(body: bytes) -> LinkMsg:
    """An ``RTM_NEWLINK`` body: ifinfomsg, then attributes."""
    _family, _type, index, flags, _change = struct.unpack_from("BxHiII", body)
    at = _attrs(body[16:])
    kind = None
    vxlan_port = None
    info = at.get(IFLA_LINKINFO)
    if info is not None:
        nested = _attrs(info)
        kind = _str(nested.get(IFLA_INFO_KIND))
        data = nested.get(IFLA_INFO_DATA)
        if kind == "tun" and data is not None:
            tun_type = _attrs(data).get(IFLA_TUN_TYPE)
            if tun_type is not None and tun_type[0] == IFF_TAP:
                kind = "tap"
        if kind == "vxlan" and data is not None:
            port = _attrs(data).get(IFLA_VXLAN_PORT)
            vxlan_port = None if port is None else int(struct.unpack_from(">H", port)[0])
    return LinkMsg(
        ifindex=index,
        flags=flags,
        name=_str(at.get(IFLA_IFNAME)) or "",
        alias=_str(at.get(IFLA_IFALIAS)) or None,
        mac=_hw(at.get(IFLA_ADDRESS)),
        kind=kind,
        mtu=_u32(at.get(IFLA_MTU)) or 0,
        vxlan_port=vxlan_port,
    )


def parse_route(body: bytes) -> RouteMsg:
    """An ``RTM_NEWROUTE`` body: rtmsg, then attributes (RTA_TABLE before rtm_table)."""
    _family, dst_len, _src_len, _tos, table, proto, _scope, _type, _flags = struct.unpack_from("BBBBBBBBI", body)
    at = _attrs(body[12:])
    encap = None
    kind, data = at.get(RTA_ENCAP_TYPE), at.get(RTA_ENCAP)
    if kind is not None and struct.unpack_from("H", kind)[0] == LWTUNNEL_ENCAP_IP and data is not None:
        nested = _attrs(data)
        tun_id, dst = _be64(nested.get(LWTUNNEL_IP_ID)), _ipv4(nested.get(LWTUNNEL_IP_DST))
        encap = (tun_id or 0, dst or "0.0.0.0")
    return RouteMsg(
        table=_or(_u32(at.get(RTA_TABLE)), table),
        dst=f"{_ipv4(at.get(RTA_DST)) or '0.0.0.0'}/{dst_len}",
        oif=_u32(at.get(RTA_OIF)),
        proto=proto,
        gateway=_ipv4(at.get(RTA_GATEWAY)),
        encap=encap,
    )


def parse_neigh(body: bytes) -> NeighMsg:
    """An ``RTM_NEWNEIGH`` body: ndmsg, then attributes."""
    _family, ifindex, state, _flags, _type = struct.unpack_from("BxxxiHBB", body)
    at = _attrs(body[12:])
    return NeighMsg(ifindex, _ipv4(at.get(NDA_DST)), _hw(at.get(NDA_LLADDR)), state)


def parse_rule(body: bytes) -> RuleMsg:
    """An ``RTM_NEWRULE`` body: fib_rule_hdr, then attributes (FRA_TABLE before the header's table)."""
    _family, _dst_len, _src_len, _tos, table, _res1, _res2, action, _flags = struct.unpack_from("BBBBBBBBI", body)
    at = _attrs(body[12:])
    protocol = at.get(FRA_PROTOCOL)
    return RuleMsg(
        priority=_u32(at.get(FRA_PRIORITY)) or 0,
        iif=_str(at.get(FRA_IIFNAME)),
        action=action,
        table=_or(_u32(at.get(FRA_TABLE)), table),
        protocol=protocol[0] if protocol else 0,
        fwmark=_u32(at.get(FRA_FWMARK)),
        fwmask=_u32(at.get(FRA_FWMASK)),
        suppress_prefixlen=_u32(at.get(FRA_SUPPRESS_PREFIXLEN)),
        tun_id=_be64(at.get(FRA_TUN_ID)),
    )


class RtDump:
    """A ``NETLINK_ROUTE`` socket bound to one namespace, for dumps. One caller at a time."""

    def __init__(self, ns: Netns) -> None:
        self._sock: socket.socket = ns.run(self._open)
        self._seq = 0
        self._buf = bytearray(BUFSIZE)

    @staticmethod
    def _open() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        s.bind((0, 0))
        return s

    def close(self) -> None:
        self._sock.close()

    def links(self) -> list[LinkMsg]:
        ext_mask = struct.pack("HHI", 8, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
        return [parse_link(b) for b in self.dump(RTM_GETLINK, struct.pack("BxHiII", 0, 0, 0, 0, 0) + ext_mask)]

    def ipv4_address_links(self) -> set[int]:
        """The ifindexes that carry at least one IPv4 address."""
        return {
            struct.unpack_from("I", b, 4)[0]
            for b in self.dump(RTM_GETADDR, struct.pack("BBBBI", socket.AF_INET, 0, 0, 0, 0))
        }

    def routes(self) -> list[RouteMsg]:
        """Every IPv4 route of every table."""
        return [parse_route(b) for b in self.dump(RTM_GETROUTE, struct.pack("BBBBBBBBI", socket.AF_INET, *[0] * 8))]

    def neighbours(self) -> list[NeighMsg]:
        """The IPv4 neighbour table (ARP), without proxy entries."""
        return [parse_neigh(b) for b in self.dump(RTM_GETNEIGH, struct.pack("BxxxiHBB", socket.AF_INET, 0, 0, 0, 0))]

    def rules(self) -> list[RuleMsg]:
        """Every IPv4 policy rule."""
        return [parse_rule(b) for b in self.dump(RTM_GETRULE, struct.pack("BBBBBBBBI", socket.AF_INET, *[0] * 8))]

    def request(self, kind: int, flags: int, body: bytes) -> None:
        """One request with ``NLM_F_ACK`` (not a dump); raises OSError with the kernel's errno."""
        self._seq += 1
        seq = self._seq
        self._sock.sendall(struct.pack("IHHII", 16 + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body)
        for mtype, _flags, reply in self._replies(seq):
            if mtype == NLMSG_ERROR:
                (err,) = struct.unpack_from("i", reply)
                if err:
                    raise OSError(-err, f"rtnetlink request {kind}: {os.strerror(-err)}")
                return

    def dump(self, kind: int, request: bytes) -> list[bytes]:
        """The bodies (after the netlink header) of every message answering one dump
        request; repeated when the kernel flags the dump as interrupted by a change."""
        for _ in range(DUMP_TRIES - 1):
            bodies, interrupted = self._dump_once(kind, request)
            if not interrupted:
                return bodies
        return self._dump_once(kind, request)[0]

    def _dump_once(self, kind: int, request: bytes) -> tuple[list[bytes], bool]:
        self._seq += 1
        seq = self._seq
        self._sock.sendall(struct.pack("IHHII", 16 + len(request), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + request)
        bodies: list[bytes] = []
        interrupted = False
        for mtype, flags, body in self._replies(seq):
            interrupted |= bool(flags & NLM_F_DUMP_INTR)
            if mtype == NLMSG_DONE:
                return bodies, interrupted
            if mtype == NLMSG_ERROR:
                (err,) = struct.unpack_from("i", body)
                if err:
                    raise OSError(-err, f"rtnetlink dump {kind}: {os.strerror(-err)}")
                return bodies, interrupted
            bodies.append(body)
        raise AssertionError("unreachable: _replies ends only by raising")

    def _replies(self, seq: int) -> Iterator[tuple[int, int, bytes]]:
        """(type, flags, body) of each message with sequence ``seq``, datagram after datagram
        (a left-over of an earlier, abandoned dump carries an older sequence and is skipped)."""
        view = memoryview(self._buf)
        while True:
            n = self._sock.recv_into(self._buf, BUFSIZE, socket.MSG_TRUNC)
            if n > BUFSIZE:
                raise OSError(f"rtnetlink datagram of {n} bytes does not fit the {BUFSIZE}-byte buffer")
            off = 0
            while off + 16 <= n:
                length, mtype, flags, mseq, _pid = struct.unpack_from("IHHII", self._buf, off)
                if length < 16:
                    break
                if mseq == seq:
                    yield mtype, flags, bytes(view[off + 16 : off + length])
                off += (length + 3) & ~3
