"""ARP classification for the claim path, and the BPF filter that must agree with it."""

from __future__ import annotations

import pytest

from havip.agent.arp import (
    ACCEPT,
    ARP_REPLY,
    ARP_REQUEST,
    PACKET_OUTGOING,
    GarpSeen,
    Ignored,
    Skip,
    build_arp,
    build_garp,
    claim_filter,
    classify,
    pack_filter,
    run_filter,
)

pytestmark = pytest.mark.unit

MAC = "52:54:00:00:00:01"
VIP = "10.0.0.3"


def ipv6_frame() -> bytes:
    return bytes.fromhex("333300000001") + bytes.fromhex("525400000001") + b"\x86\xdd" + bytes(40)


def rarp_op() -> bytes:
    frame = bytearray(build_garp(MAC, VIP))
    frame[21] = 3  # RARP request opcode
    return bytes(frame)


def ipv6_over_arp() -> bytes:
    frame = bytearray(build_garp(MAC, VIP))
    frame[16:18] = b"\x86\xdd"
    return bytes(frame)


CASES = [
    pytest.param(build_garp(MAC, VIP), 0, GarpSeen(7, VIP, MAC, ARP_REQUEST), id="garp-request"),
    pytest.param(build_garp(MAC, VIP, ARP_REPLY), 0, GarpSeen(7, VIP, MAC, ARP_REPLY), id="garp-reply"),
    pytest.param(build_arp(ARP_REQUEST, MAC, "0.0.0.0", VIP), 0, Ignored(Skip.PROBE), id="probe-sender-zero"),
    pytest.param(
        build_arp(ARP_REPLY, MAC, VIP, "10.0.0.1", "ee:ff:ff:ff:ff:ff", eth_dst="ee:ff:ff:ff:ff:ff"),
        0,
        Ignored(Skip.NOT_GRATUITOUS),
        id="ordinary-reply-is-not-a-claim",
    ),
    pytest.param(build_arp(ARP_REQUEST, MAC, "10.0.0.11", VIP), 0, Ignored(Skip.NOT_GRATUITOUS), id="ordinary-request"),
    pytest.param(build_garp(MAC, VIP), PACKET_OUTGOING, Ignored(Skip.OUTGOING), id="our-own-frame"),
    pytest.param(build_garp(MAC, VIP)[:30], 0, Ignored(Skip.SHORT), id="truncated"),
    pytest.param(ipv6_frame(), 0, Ignored(Skip.NOT_ARP), id="ipv6"),
    pytest.param(rarp_op(), 0, Ignored(Skip.BAD_OP), id="other-opcode"),
    pytest.param(ipv6_over_arp(), 0, Ignored(Skip.NOT_IPV4), id="not-ipv4"),
]


@pytest.mark.parametrize(("frame", "pkttype", "expected"), CASES)
def test_classify(frame: bytes, pkttype: int, expected: GarpSeen | Ignored) -> None:
    assert classify(frame, 7, pkttype) == expected


@pytest.mark.parametrize(("frame", "pkttype", "expected"), CASES)
def test_bpf_filter_agrees_with_classify(frame: bytes, pkttype: int, expected: GarpSeen | Ignored) -> None:
    kept = run_filter(claim_filter(), frame, pkttype)
    assert kept == (ACCEPT if isinstance(expected, GarpSeen) else 0)


def test_filter_packs_to_sock_filter_array() -> None:
    prog = claim_filter()
    assert len(pack_filter(prog)) == 8 * len(prog)


def test_build_arp_layout() -> None:
    frame = build_arp(ARP_REQUEST, MAC, "10.0.0.11", VIP)
    assert len(frame) == 42
    assert frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x08\x06"
    assert frame[28:32] == bytes([10, 0, 0, 11]) and frame[38:42] == bytes([10, 0, 0, 3])
