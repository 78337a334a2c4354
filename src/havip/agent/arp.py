"""ARP frames for the claim path: classify what the watcher receives, build what we send.

``classify_watch`` adds the other kind of frame the watcher reads: an ARP reply
addressed to the gateway MAC (``ProbeAnswer``), the answer to a holder-discovery probe;
``watch_filter`` is its BPF twin. ``classify`` decides whether a frame seen on a port is a HaVip claim (a gratuitous ARP:
sender IP = target IP, request or reply, never a probe from 0.0.0.0, never our own
outgoing frame) and returns either ``GarpSeen`` or ``Ignored`` with a reason.
``claim_filter`` is the same decision as a classic BPF program that the watcher's
packet socket runs in the kernel; ``run_filter`` interprets such a program so unit tests
can check the two agree. ``build_arp`` crafts frames for tests and holder probes.
Pure: bytes in, values out.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_REQUEST = 1
ARP_REPLY = 2
PACKET_OUTGOING = 4
ETH_HLEN = 14
ARP_LEN = 28
BROADCAST = "ff:ff:ff:ff:ff:ff"


@dataclass(frozen=True)
class GarpSeen:
    ifindex: int
    ip: str  # the announced address (sender IP = target IP)
    sender_mac: str
    op: int  # ARP_REQUEST or ARP_REPLY


@dataclass(frozen=True)
class ProbeAnswer:
    """An ordinary ARP reply to the gateway MAC: the port's instance has ``ip``."""

    ifindex: int
    ip: str  # the sender IP: the address the instance answered for
    sender_mac: str


class Skip(enum.StrEnum):
    """Why a frame the watcher heard is not a claim."""

    OUTGOING = "outgoing"  # our own frame
    SHORT = "short"
    NOT_ARP = "not-arp"
    NOT_IPV4 = "not-ipv4-over-ethernet"
    BAD_OP = "bad-op"
    PROBE = "probe"  # an ARP probe (sender 0.0.0.0)
    NOT_GRATUITOUS = "not-gratuitous"


@dataclass(frozen=True)
class Ignored:
    reason: Skip


def ipv4(b: bytes) -> str:
    """Four address bytes as dotted quad (what ``socket.inet_ntoa`` does, without the socket module)."""
    return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"


def mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def mac_bytes(s: str) -> bytes:
    return bytes(int(x, 16) for x in s.split(":"))


def classify(frame: bytes, ifindex: int, pkttype: int = 0) -> GarpSeen | Ignored:
    """Is ``frame`` (Ethernet header included), received on ``ifindex``, a claim?"""
    if pkttype == PACKET_OUTGOING:
        return Ignored(Skip.OUTGOING)
    if len(frame) < ETH_HLEN + ARP_LEN:
        return Ignored(Skip.SHORT)
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype != ETH_P_ARP:
        return Ignored(Skip.NOT_ARP)
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, ETH_HLEN)
    if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4):
        return Ignored(Skip.NOT_IPV4)
    if op not in (ARP_REQUEST, ARP_REPLY):
        return Ignored(Skip.BAD_OP)
    sha = frame[ETH_HLEN + 8 : ETH_HLEN + 14]
    spa = frame[ETH_HLEN + 14 : ETH_HLEN + 18]
    tpa = frame[ETH_HLEN + 24 : ETH_HLEN + 28]
    if spa == b"\0\0\0\0":
        return Ignored(Skip.PROBE)
    if spa != tpa:
        return Ignored(Skip.NOT_GRATUITOUS)
    return GarpSeen(ifindex, ipv4(spa), mac_str(sha), op)


def classify_watch(frame: bytes, ifindex: int, pkttype: int, gateway_mac: str) -> GarpSeen | ProbeAnswer | Ignored:
    """``classify``, plus ARP replies addressed to ``gateway_mac`` as probe answers."""
    seen = classify(frame, ifindex, pkttype)
    if seen != Ignored(Skip.NOT_GRATUITOUS):
        return seen
    (op,) = struct.unpack_from("!H", frame, ETH_HLEN + 6)
    tha = frame[ETH_HLEN + 18 : ETH_HLEN + 24]
    if op != ARP_REPLY or tha != mac_bytes(gateway_mac):
        return seen
    return ProbeAnswer(
        ifindex,
        ipv4(frame[ETH_HLEN + 14 : ETH_HLEN + 18]),
        mac_str(frame[ETH_HLEN + 8 : ETH_HLEN + 14]),
    )


def build_arp(
    op: int,
    sender_mac: str,
    sender_ip: str,
    target_ip: str,
    target_mac: str = "00:00:00:00:00:00",
    eth_dst: str = BROADCAST,
    eth_src: str | None = None,
) -> bytes:
    """An Ethernet + ARP frame (IPv4 over Ethernet)."""
    eth = mac_bytes(eth_dst) + mac_bytes(eth_src or sender_mac) + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op)
    arp += mac_bytes(sender_mac) + ipaddress.IPv4Address(sender_ip).packed
    arp += mac_bytes(target_mac) + ipaddress.IPv4Address(target_ip).packed
    return eth + arp


def build_garp(mac: str, ip: str, op: int = ARP_REQUEST) -> bytes:
    """What keepalived sends on becoming master."""
    return build_arp(op, mac, ip, ip, target_mac="ff:ff:ff:ff:ff:ff" if op == ARP_REPLY else "00:00:00:00:00:00")


# ------------------------------------------------------------------- classic BPF

# struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
Insn = tuple[int, int, int, int]

_LD_W_ABS = 0x20
_LD_H_ABS = 0x28
_LD_B_ABS = 0x30
_JEQ_K = 0x15
_JEQ_X = 0x1D
_RET_K = 0x06
_TAX = 0x07
_SKF_AD_PKTTYPE = (-0x1000 + 4) & 0xFFFFFFFF
ACCEPT = 0xFFFF


def claim_filter() -> list[Insn]:
    """BPF: accept ARP request/reply, IPv4 over Ethernet, spa == tpa, spa != 0, not outgoing."""
    prog: list[Insn] = [
        (_LD_B_ABS, 0, 0, _SKF_AD_PKTTYPE),  # 0
        (_JEQ_K, 12, 0, PACKET_OUTGOING),  # 1 -> drop
        (_LD_H_ABS, 0, 0, 12),  # 2 ethertype
        (_JEQ_K, 0, 10, ETH_P_ARP),  # 3
        (_LD_W_ABS, 0, 0, 14),  # 4 htype . ptype
        (_JEQ_K, 0, 8, (1 << 16) | ETH_P_IP),  # 5
        (_LD_W_ABS, 0, 0, 18),  # 6 hlen . plen . op
        (_JEQ_K, 1, 0, 0x06040000 | ARP_REQUEST),  # 7 -> 9
        (_JEQ_K, 0, 5, 0x06040000 | ARP_REPLY),  # 8
        (_LD_W_ABS, 0, 0, 28),  # 9 spa
        (_JEQ_K, 3, 0, 0),  # 10 probe -> drop
        (_TAX, 0, 0, 0),  # 11 X = spa
        (_LD_W_ABS, 0, 0, 38),  # 12 tpa
        (_JEQ_X, 1, 0, 0),  # 13 -> accept
        (_RET_K, 0, 0, 0),  # 14 drop
        (_RET_K, 0, 0, ACCEPT),  # 15 accept
    ]
    return _fix_jumps(prog)


def _fix_jumps(prog: list[Insn]) -> list[Insn]:
    """The listing above jumps to 'drop' with hand-counted offsets; verify them."""
    drop = len(prog) - 2
    for i, (code, jt, jf, _k) in enumerate(prog):
        if code in (_JEQ_K, _JEQ_X):
            for off in (jt, jf):
                target = i + 1 + off
                if not 0 <= target < len(prog):
                    raise AssertionError(f"bpf jump out of range at {i}")
    if prog[drop] != (_RET_K, 0, 0, 0):
        raise AssertionError("bpf drop instruction moved")
    return prog


def watch_filter(gateway_mac: str) -> list[Insn]:
    """BPF twin of ``classify_watch``: gratuitous ARPs and replies to ``gateway_mac``."""
    gw = mac_bytes(gateway_mac)
    ops = 0x06040000
    # (label or None, insn with jump targets given as labels)
    listing: list[tuple[str | None, tuple[int, str | int, str | int, int]]] = [
        (None, (_LD_B_ABS, 0, 0, _SKF_AD_PKTTYPE)),
        (None, (_JEQ_K, "drop", 0, PACKET_OUTGOING)),
        (None, (_LD_H_ABS, 0, 0, 12)),
        (None, (_JEQ_K, 0, "drop", ETH_P_ARP)),
        (None, (_LD_W_ABS, 0, 0, 14)),
        (None, (_JEQ_K, 0, "drop", (1 << 16) | ETH_P_IP)),
        (None, (_LD_W_ABS, 0, 0, 18)),
        (None, (_JEQ_K, "garp", 0, ops | ARP_REQUEST)),
        (None, (_JEQ_K, "garp", "drop", ops | ARP_REPLY)),
        ("garp", (_LD_W_ABS, 0, 0, 28)),
        (None, (_JEQ_K, "drop", 0, 0)),
        (None, (_TAX, 0, 0, 0)),
        (None, (_LD_W_ABS, 0, 0, 38)),
        (None, (_JEQ_X, "accept", 0, 0)),
        (None, (_LD_W_ABS, 0, 0, 18)),
        (None, (_JEQ_K, 0, "drop", ops | ARP_REPLY)),
        (None, (_LD_W_ABS, 0, 0, 32)),
        (None, (_JEQ_K, 0, "drop", int.from_bytes(gw[:4], "big"))),
        (None, (_LD_H_ABS, 0, 0, 36)),
        (None, (_JEQ_K, "accept", "drop", int.from_bytes(gw[4:], "big"))),
        ("drop", (_RET_K, 0, 0, 0)),
        ("accept", (_RET_K, 0, 0, ACCEPT)),
    ]
    return _assemble(listing)


def _assemble(listing: list[tuple[str | None, tuple[int, str | int, str | int, int]]]) -> list[Insn]:
    """Resolve label jumps into classic BPF's relative offsets."""
    where = {label: i for i, (label, _insn) in enumerate(listing) if label}
    out: list[Insn] = []
    for i, (_label, (code, jt, jf, k)) in enumerate(listing):
        rel = [where[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf)]
        if not all(0 <= r < 256 for r in rel):
            raise AssertionError(f"bpf jump out of range at {i}")
        out.append((code, rel[0], rel[1], k))
    return out


def pack_filter(prog: list[Insn]) -> bytes:
    return b"".join(struct.pack("HBBI", *insn) for insn in prog)


def run_filter(prog: list[Insn], frame: bytes, pkttype: int = 0) -> int:
    """Interpret the subset of classic BPF ``claim_filter`` uses; returns the kept length."""
    a = x = 0
    pc = 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        if code in (_LD_W_ABS, _LD_H_ABS, _LD_B_ABS):
            if k == _SKF_AD_PKTTYPE:
                a = pkttype
                continue
            size = {_LD_W_ABS: 4, _LD_H_ABS: 2, _LD_B_ABS: 1}[code]
            if k + size > len(frame):
                return 0  # the kernel drops on an out-of-bounds load
            a = int.from_bytes(frame[k : k + size], "big")
        elif code == _TAX:
            x = a
        elif code == _JEQ_K:
            pc += jt if a == k else jf
        elif code == _JEQ_X:
            pc += jt if a == x else jf
        elif code == _RET_K:
            return k
        else:
            raise ValueError(f"unsupported bpf opcode {code:#x}")
