"""Refused claims as nftables logged them: a raw NFLOG (nfnetlink_log) reader.

The antispoof table drops an ARP for a HaVip from a port that may not claim it and
logs it (rate-limited per port, ``queue-threshold 1`` so it is not batched for up to a
second: research/rlab.md) to one NFLOG group. ``NflogReader`` binds a
``NETLINK_NETFILTER`` socket to that group inside the host namespace and returns each
logged packet as a ``Logged``: the ingress ifindex, the payload (the ARP header in the
netdev family) and the kernel's timestamp. It decides nothing; ``arp`` helpers parse.
"""

from __future__ import annotations

import select
import socket
import struct

from havip.agent.dataplane.netlink import NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, attr, attrs
from havip.agent.dataplane.netns import Netns
from havip.agent.kernel import DataplaneError, Logged

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2
NFULA_TIMESTAMP = 3
NFULA_IFINDEX_INDEV = 4
NFULA_PAYLOAD = 9
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5


def _config(group: int, attrs: bytes, seq: int) -> bytes:
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, group) + attrs
    kind = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    return struct.pack("IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def parse_packet(body: bytes) -> Logged:
    """One NFULNL_MSG_PACKET body (after the netlink header)."""
    ifindex, payload, at_ns = 0, b"", 0
    for kind, data in attrs(body[4:]):  # after nfgenmsg
        if kind == NFULA_IFINDEX_INDEV:
            (ifindex,) = struct.unpack("!I", data[:4])
        elif kind == NFULA_PAYLOAD:
            payload = bytes(data)
        elif kind == NFULA_TIMESTAMP:
            sec, usec = struct.unpack("!QQ", data[:16])
            at_ns = sec * 1_000_000_000 + usec * 1000
    return Logged(ifindex, payload, at_ns)


class NflogReader:
    """Reads one NFLOG group inside a namespace. One reader thread at a time."""

    def __init__(self, ns: Netns, group: int) -> None:
        self.group = group
        self._sock: socket.socket = ns.run(self._open, group)

    @staticmethod
    def _open(group: int) -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER)
        s.bind((0, 0))
        s.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)  # a flood overflows the buffer; keep reading
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        mode = struct.pack("!IBx", 0xFFFF, NFULNL_COPY_PACKET)
        for seq, config in enumerate(
            (attr(NFULA_CFG_CMD, bytes([NFULNL_CFG_CMD_BIND])), attr(NFULA_CFG_MODE, mode)), start=1
        ):
            s.send(_config(group, config, seq))
            _expect_ack(s, seq)
        s.setblocking(False)
        return s

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def receive(self, timeout: float | None = None) -> list[Logged]:
        """The packets of the next datagram (possibly several), or [] after ``timeout``."""
        if not select.select([self._sock], [], [], timeout)[0]:
            return []
        try:
            data = self._sock.recv(1 << 16)
        except (BlockingIOError, OSError):
            return []
        out, off = [], 0
        while off + 16 <= len(data):
            length, kind, _flags, _seq, _pid = struct.unpack_from("IHHII", data, off)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
                out.append(parse_packet(data[off + 16 : off + length]))
            off += (length + 3) & ~3
        return out


def _expect_ack(s: socket.socket, seq: int) -> None:
    data = s.recv(65536)
    off = 0
    while off + 16 <= len(data):
        length, kind, _flags, rseq, _pid = struct.unpack_from("IHHII", data, off)
        if kind == NLMSG_ERROR and rseq == seq:
            (err,) = struct.unpack_from("i", data, off + 16)
            if err:
                raise DataplaneError(f"binding NFLOG failed: errno {-err}") from OSError(-err, "")
            return
        off += (length + 3) & ~3 if length else len(data)
    raise DataplaneError("binding NFLOG: no acknowledgement")
