"""The claim path's eyes: a packet socket that sees gratuitous ARPs on every port.

An ``AF_PACKET``/``ETH_P_ARP`` socket opened inside the host namespace (unbound, so it
hears every device there) with the classic BPF filter of ``havip.agent.arp`` attached,
so only ARP request/reply with sender IP = target IP that are not our own outgoing
frames reach user space. An ``ETH_P_ARP`` socket is fed after the netdev ingress hook,
so frames nftables dropped (spoofed claims) never arrive. Every frame comes with its
kernel receive time (``SO_TIMESTAMPNS``, CLOCK_REALTIME). Classification stays pure
(``arp.classify``); this module only receives.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import select
import socket
import struct

from havip.agent.arp import ETH_P_ARP, Insn, claim_filter, pack_filter
from havip.agent.dataplane.netlink import SO_RCVBUFFORCE
from havip.agent.dataplane.netns import Netns
from havip.agent.kernel import Frame

SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
# A mass failover announces every VIP of an instance at once (keepalived: one GARP per VIP,
# repeated): 1,000 frames arrive within a few milliseconds, about 1 MB of socket memory;
# the default buffer (~200 KB) would drop most of them before the claim path reads them.
RCVBUF = 4 << 20
SIOCGIFINDEX = 0x8933


class ArpWatcher:
    """``prog`` defaults to ``arp.claim_filter()``; the agent passes ``arp.watch_filter``
    to also hear probe answers. ``send`` puts a frame out of a port (holder probes)."""

    def __init__(self, ns: Netns, prog: list[Insn] | None = None) -> None:
        self._sock: socket.socket = ns.run(self._open, prog or claim_filter())
        self._index: dict[str, int] = {}

    @staticmethod
    def _open(insns: list[Insn]) -> socket.socket:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.htons(ETH_P_ARP))
        prog = pack_filter(insns)
        buf = ctypes.create_string_buffer(prog)
        fprog = struct.pack("HL", len(prog) // 8, ctypes.addressof(buf))
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)  # root (CAP_NET_ADMIN), as the agent runs
        s.setblocking(False)
        # frames queued before the filter was attached skipped it: drop them
        with contextlib.suppress(BlockingIOError):
            while True:
                s.recv(65536)
        return s

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def send(self, ifname: str, frame: bytes) -> None:
        """Transmit ``frame`` (Ethernet header included) out of ``ifname``."""
        self._sock.sendto(frame, (ifname, ETH_P_ARP))

    def forget(self) -> None:
        """Devices may have been recreated under the same name (a new ifindex): resolve
        names afresh. The agent calls it whenever it swaps the claim view, which it builds
        from a fresh read of the links."""
        self._index = {}  # swapped whole: the claims thread may be reading the old one

    def _ifindex(self, name: str) -> int:
        index = self._index
        found = index.get(name)
        if found is None:
            req = struct.pack("16si", name.encode(), 0)
            res = fcntl.ioctl(self._sock.fileno(), SIOCGIFINDEX, req)  # in the socket's namespace
            found = index[name] = struct.unpack("16si", res)[1]
        return found

    def receive(self, timeout: float | None = None) -> Frame | None:
        """The next frame that passed the filter, or None after ``timeout`` seconds."""
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            return None
        try:
            data, anc, _flags, addr = self._sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return None
        rx_ns = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", payload[:16])
                rx_ns = sec * 1_000_000_000 + nsec
        ifname, _proto, pkttype = addr[0], addr[1], addr[2]
        return Frame(data, ifname, self._ifindex(ifname), pkttype, rx_ns)
