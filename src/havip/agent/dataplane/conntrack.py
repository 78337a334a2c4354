"""Conntrack of the host namespace over raw ctnetlink, and the TCP ACK that ends a flow.

``Conntrack(ns)`` opens a ``NETLINK_NETFILTER`` socket and a raw IP socket inside the
namespace. ``flows(zone)`` dumps the IPv4 table (the kernel's dump is not filtered by
zone everywhere, so the zone is filtered here); ``delete(flow)`` removes one entry by
its original tuple and zone (gone already is success); ``kick(k)`` sends one bare ACK
from an EIP to an internet peer, marked ``MARK_EGRESS`` so the EIP path's policy rule
routes it out of the uplink (and ``raw_output`` in ``havip_nat`` leaves it untracked).
What to delete and kick is decided by ``havip.agent.flows``. One caller at a time.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import socket
import struct

from havip.agent import marks
from havip.agent.dataplane.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, attr, attrs
from havip.agent.dataplane.netns import Netns
from havip.agent.flows import Flow, Kick
from havip.agent.kernel import DataplaneError

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET = 1
IPCTNL_MSG_CT_DELETE = 2
NLA_F_NESTED = 0x8000

CTA_TUPLE_ORIG = 1
CTA_TUPLE_REPLY = 2
CTA_STATUS = 3
CTA_PROTOINFO = 4
CTA_ZONE = 18
CTA_TUPLE_IP = 1
CTA_TUPLE_PROTO = 2
CTA_IP_V4_SRC = 1
CTA_IP_V4_DST = 2
CTA_PROTO_NUM = 1
CTA_PROTO_SRC_PORT = 2
CTA_PROTO_DST_PORT = 3
CTA_PROTOINFO_TCP = 1
CTA_PROTOINFO_TCP_STATE = 1

TCP_ACK = 0x10


def _tuple(data: bytes) -> tuple[str, str, int, int, int]:
    """(src, dst, proto, sport, dport) of a CTA_TUPLE_* attribute."""
    src = dst = "0.0.0.0"
    proto = sport = dport = 0
    for kind, value in attrs(data):
        if kind == CTA_TUPLE_IP:
            for k, v in attrs(value):
                if k == CTA_IP_V4_SRC:
                    src = str(ipaddress.IPv4Address(v[:4]))
                elif k == CTA_IP_V4_DST:
                    dst = str(ipaddress.IPv4Address(v[:4]))
        elif kind == CTA_TUPLE_PROTO:
            for k, v in attrs(value):
                if k == CTA_PROTO_NUM:
                    proto = v[0]
                elif k == CTA_PROTO_SRC_PORT:
                    (sport,) = struct.unpack("!H", v[:2])
                elif k == CTA_PROTO_DST_PORT:
                    (dport,) = struct.unpack("!H", v[:2])
    return src, dst, proto, sport, dport


def parse_flow(payload: bytes) -> Flow | None:
    """One ``IPCTNL_MSG_CT_NEW`` message body (after the nfgenmsg header)."""
    orig = reply = None
    zone = status = 0
    state = None
    for kind, value in attrs(payload):
        if kind == CTA_TUPLE_ORIG:
            orig = _tuple(value)
        elif kind == CTA_TUPLE_REPLY:
            reply = _tuple(value)
        elif kind == CTA_STATUS:
            (status,) = struct.unpack("!I", value[:4])
        elif kind == CTA_ZONE:
            (zone,) = struct.unpack("!H", value[:2])
        elif kind == CTA_PROTOINFO:
            for k, v in attrs(value):
                if k == CTA_PROTOINFO_TCP:
                    for k2, v2 in attrs(v):
                        if k2 == CTA_PROTOINFO_TCP_STATE:
                            state = v2[0]
    if orig is None or reply is None:
        return None
    return Flow(
        zone, orig[2], orig[0], orig[1], orig[3], orig[4], reply[0], reply[1], reply[3], reply[4], status, state
    )


def _tuple_attr(src: str, dst: str, proto: int, sport: int, dport: int) -> bytes:
    ip = attr(CTA_IP_V4_SRC, ipaddress.IPv4Address(src).packed) + attr(CTA_IP_V4_DST, ipaddress.IPv4Address(dst).packed)
    pr = attr(CTA_PROTO_NUM, bytes([proto]))
    if proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP):
        pr += attr(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)) + attr(CTA_PROTO_DST_PORT, struct.pack("!H", dport))
    return attr(CTA_TUPLE_IP | NLA_F_NESTED, ip) + attr(CTA_TUPLE_PROTO | NLA_F_NESTED, pr)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ack_packet(k: Kick, seq: int, ack: int) -> bytes:
    """An IPv4 + TCP ACK (no payload) from ``k.src:k.sport`` to ``k.dst:k.dport``."""
    src, dst = ipaddress.IPv4Address(k.src).packed, ipaddress.IPv4Address(k.dst).packed
    tcp = struct.pack("!HHIIBBHHH", k.sport, k.dport, seq, ack, 5 << 4, TCP_ACK, 1024, 0, 0)
    csum = _checksum(src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, socket.IPPROTO_TCP, 0, src, dst)
    return ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:] + tcp


class Conntrack:
    """ctnetlink and a raw IP socket in one namespace."""

    def __init__(self, ns: Netns) -> None:
        self.ns = ns
        self._nl, self._raw = ns.run(self._open)
        self._seq = 0

    @staticmethod
    def _open() -> tuple[socket.socket, socket.socket]:
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER)
        nl.bind((0, 0))
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.IPPROTO_RAW)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, marks.MARK_EGRESS)
        return nl, raw

    def close(self) -> None:
        self._nl.close()
        self._raw.close()

    def _request(self, kind: int, flags: int, body: bytes) -> int:
        self._seq += 1
        header = struct.pack("IHHII", 16 + 4 + len(body), (NFNL_SUBSYS_CTNETLINK << 8) | kind, flags, self._seq, 0)
        self._nl.sendall(header + struct.pack("BBH", socket.AF_INET, 0, 0) + body)
        return self._seq

    def flows(self, zone: int | None = None) -> list[Flow]:
        """Every IPv4 entry (of ``zone``)."""
        seq = self._request(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, b"")
        out: list[Flow] = []
        while True:
            data = self._nl.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, mseq, _pid = struct.unpack_from("IHHII", data, off)
                if length < 16:
                    break
                if mseq == seq:
                    if kind == NLMSG_DONE:
                        return out
                    if kind == NLMSG_ERROR:
                        (err,) = struct.unpack_from("i", data, off + 16)
                        if err:
                            raise DataplaneError(f"conntrack dump: {os.strerror(-err)}")
                        return out
                    flow = parse_flow(data[off + 20 : off + length])
                    if flow is not None and (zone is None or flow.zone == zone):
                        out.append(flow)
                off += (length + 3) & ~3

    def delete(self, flow: Flow) -> bool:
        """Remove one entry; False when it was gone already."""
        body = attr(
            CTA_TUPLE_ORIG | NLA_F_NESTED,
            _tuple_attr(flow.orig_src, flow.orig_dst, flow.proto, flow.orig_sport, flow.orig_dport),
        ) + attr(CTA_ZONE, struct.pack("!H", flow.zone))
        seq = self._request(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, body)
        while True:
            data = self._nl.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, mseq, _pid = struct.unpack_from("IHHII", data, off)
                if length < 16:
                    break
                if mseq == seq and kind == NLMSG_ERROR:
                    err = int(struct.unpack_from("i", data, off + 16)[0])
                    if err in (0, -errno.ENOENT):
                        return err == 0
                    raise DataplaneError(f"conntrack delete: {os.strerror(-err)}")
                off += (length + 3) & ~3

    def kick(self, k: Kick) -> None:
        """One ACK with sequence numbers the peer does not expect (it answers with its own)."""
        packet = ack_packet(k, random.getrandbits(32), random.getrandbits(32))
        self._raw.sendto(packet, (k.dst, 0))
