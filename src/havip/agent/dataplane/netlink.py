"""Netlink attribute encoding and decoding shared by the raw sockets (switch, NFLOG, conntrack)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED and NLA_F_NET_BYTEORDER


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of each attribute in ``data``; stops at a malformed length."""
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, off)
        if length < 4:
            return
        yield kind & NLA_TYPE_MASK, data[off + 4 : off + length]
        off += (length + 3) & ~3
