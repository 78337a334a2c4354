"""The claim messages' socket: UDP on the host's underlay, opened inside the host namespace.

Bound to every address of the host namespace on ``port`` (the underlay address comes later,
with the desired state); what arrives is authenticated and checked by ``havip.agent.peers``
before anything acts on it, so an instance that reached the socket could do nothing with it.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from havip.agent.dataplane.netns import Netns

RCVBUF = 4 << 20  # a mass failover's datagrams from every peer at once
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class PeerLink:
    def __init__(self, ns: Netns, port: int) -> None:
        self.port = port
        self._sock: socket.socket = ns.run(self._open, port)

    @staticmethod
    def _open(port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        try:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # each datagram's kernel receive time
            s.bind(("0.0.0.0", port))
        except BaseException:
            s.close()
            raise
        return s

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self) -> list[tuple[bytes, str, int]]:
        out: list[tuple[bytes, str, int]] = []
        while True:
            try:
                data, anc, _flags, (addr, _port) = self._sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return out
            rx_ns = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", payload[:16])
                    rx_ns = sec * 1_000_000_000 + nsec
            out.append((data, str(addr), rx_ns))

    def send(self, address: str, data: bytes) -> None:
        self._sock.sendto(data, (address, self.port))

    def close(self) -> None:
        self._sock.close()
