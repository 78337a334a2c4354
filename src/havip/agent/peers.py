"""Claim messages between agents: the cross-host fast path's wire format and its judgement.

When a member's GARP moves a VIP on host B, B tells the agent of every other host of the
VPC directly (over the underlay, UDP) so that their routes point into the tunnel towards B
within a couple of milliseconds, without waiting for the control plane (which stays the
system of record and repairs anything a lost message missed). This module is that
message's pure part: building and reading a datagram, authenticating it, and deciding what
a receiver does with each claim in it. No sockets, no clock: times are passed in.

Wire format (one UDP datagram)::

    b"HVC1" | HMAC-SHA256(key, body) (32 bytes) | body (UTF-8 JSON)

    body of a claim batch: {"t": "claims", "from": HOST, "seq": N, "sent_ns": T,
                            "claims": [{"havip": ID, "interface": ID, "epoch": E, "seen_ns": T}, ...]}
    body of an ack:        {"t": "ack", "from": HOST, "seq": N, "acked_ns": T}

The key is the fleet's claim key (a file each agent reads, never sent on the wire). Claims
are ordered by a per-HaVip **epoch** (the highest the claimant has seen + 1; ties go to the
lower host name), never by wall clocks: ``seen_ns`` and ``sent_ns`` only measure latency.

A receiver refuses, and counts by reason, a datagram that is not ours or whose signature
does not verify, one from an address that is not the named sender's underlay, and each
claim for a HaVip it does not know, by an interface that is not the sender's, or by one its
own desired state does not allow to claim it. A claim older than what the receiver holds
(by epoch) is stale: ignored, and counted.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from havip.domain.claims import outranks

MAGIC = b"HVC1"
DIGEST = 32
MAX_DATAGRAM = 65_507  # UDP's limit over IPv4
CLAIMS_PER_DATAGRAM = 256  # ~40 KB with 64-character ids: inside a datagram, split beyond
KEY_MIN = 16  # bytes: a shorter claim key is refused when it is read


class BadMessage(ValueError):
    """A datagram the receiver drops whole; ``reason`` is its metric label."""

    def __init__(self, reason: Drop, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


class Drop(enum.StrEnum):
    """Why a datagram or one of its claims was refused (a metric label)."""

    NOT_OURS = "not-ours"  # no magic, or too short
    BAD_SIGNATURE = "bad-signature"
    MALFORMED = "malformed"  # signed, but not a message we understand
    UNKNOWN_HOST = "unknown-host"  # the named sender is not a peer of this host
    WRONG_SOURCE = "wrong-source"  # the datagram did not come from the sender's underlay
    UNKNOWN_HAVIP = "unknown-havip"
    NOT_SENDERS = "not-senders-interface"  # the interface is not placed on the sending host
    NOT_A_CLAIMANT = "not-a-claimant"  # this host's desired state does not let it claim the HaVip
    STALE = "stale"  # an epoch below (or equal to, and losing the tie) what this host holds


@dataclass(frozen=True, kw_only=True)
class PeerClaim:
    havip_id: str
    interface_id: str
    epoch: int
    seen_ns: int  # when the claimant's agent received the GARP (latency only)


@dataclass(frozen=True, kw_only=True)
class ClaimBatch:
    sender: str  # host name
    seq: int
    sent_ns: int
    claims: tuple[PeerClaim, ...]


@dataclass(frozen=True, kw_only=True)
class Ack:
    sender: str
    seq: int  # the batch it acknowledges
    acked_ns: int  # when the receiver's routes were acknowledged by its kernel


Message = ClaimBatch | Ack


def check_key(key: bytes) -> bytes:
    if len(key) < KEY_MIN:
        raise ValueError(f"the claim key must be at least {KEY_MIN} bytes, not {len(key)}")
    return key


def _seal(body: dict[str, object], key: bytes) -> bytes:
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return MAGIC + hmac.digest(key, raw, hashlib.sha256) + raw


def encode(msg: Message, key: bytes) -> bytes:
    if isinstance(msg, Ack):
        return _seal({"t": "ack", "from": msg.sender, "seq": msg.seq, "acked_ns": msg.acked_ns}, key)
    claims = [
        {"havip": c.havip_id, "interface": c.interface_id, "epoch": c.epoch, "seen_ns": c.seen_ns} for c in msg.claims
    ]
    return _seal({"t": "claims", "from": msg.sender, "seq": msg.seq, "sent_ns": msg.sent_ns, "claims": claims}, key)


def encode_claims(sender: str, seq: int, sent_ns: int, claims: Sequence[PeerClaim], key: bytes) -> list[bytes]:
    """The claims in as few datagrams as fit (a mass failover's 1,000 VIPs: four); the
    datagrams are numbered ``seq``, ``seq + 1``, ... Each carries at most
    ``CLAIMS_PER_DATAGRAM`` claims, well inside ``MAX_DATAGRAM`` for ids of the store's length."""
    return [
        encode(
            ClaimBatch(sender=sender, seq=seq + n, sent_ns=sent_ns, claims=tuple(claims[i : i + CLAIMS_PER_DATAGRAM])),
            key,
        )
        for n, i in enumerate(range(0, len(claims), CLAIMS_PER_DATAGRAM))
    ]


def decode(data: bytes, key: bytes) -> Message:
    """The message in ``data``, or ``BadMessage``: checked before anything is parsed."""
    if len(data) <= len(MAGIC) + DIGEST or not data.startswith(MAGIC):
        raise BadMessage(Drop.NOT_OURS)
    mac, raw = data[len(MAGIC) : len(MAGIC) + DIGEST], data[len(MAGIC) + DIGEST :]
    if not hmac.compare_digest(mac, hmac.digest(key, raw, hashlib.sha256)):
        raise BadMessage(Drop.BAD_SIGNATURE)
    try:
        body = json.loads(raw)
        kind, sender, seq = body["t"], str(body["from"]), int(body["seq"])
        if kind == "ack":
            return Ack(sender=sender, seq=seq, acked_ns=int(body["acked_ns"]))
        if kind != "claims":
            raise BadMessage(Drop.MALFORMED, f"unknown message type {kind!r}")
        claims = tuple(
            PeerClaim(
                havip_id=str(c["havip"]),
                interface_id=str(c["interface"]),
                epoch=int(c["epoch"]),
                seen_ns=int(c["seen_ns"]),
            )
            for c in body["claims"]
        )
        return ClaimBatch(sender=sender, seq=seq, sent_ns=int(body["sent_ns"]), claims=claims)
    except (ValueError, KeyError, TypeError) as e:
        if isinstance(e, BadMessage):
            raise
        raise BadMessage(Drop.MALFORMED, str(e)) from e


# ------------------------------------------------------------------ judgement


@dataclass(frozen=True, kw_only=True)
class Remote:
    """An interface of one of this host's VPCs placed on a peer (from the desired state)."""

    interface_id: str
    host: str
    vpc_id: str
    claimable: frozenset[str]  # HaVip ids it may claim


@dataclass(frozen=True)
class PeerView:
    """What a receiver knows to judge claim messages: its peers, their interfaces, and the
    HaVips of its VPCs (id -> VPC). Rebuilt with every desired state."""

    host: str = ""
    peers: Mapping[str, str] = field(default_factory=dict)  # host name -> underlay address
    remotes: Mapping[str, Remote] = field(default_factory=dict)  # by interface id
    havips: Mapping[str, str] = field(default_factory=dict)  # HaVip id -> VPC id

    def peers_of(self, vpc_id: str) -> list[str]:
        """The peers that have an interface in ``vpc_id`` (where a claim there must go), by name."""
        return sorted({r.host for r in self.remotes.values() if r.vpc_id == vpc_id})


@dataclass(frozen=True)
class Holding:
    """What a host holds a HaVip by: the claim's epoch and the claimant's host."""

    epoch: int
    host: str


def newer(claim: Holding, held: Holding | None) -> bool:
    """Does ``claim`` outrank ``held`` (``domain.claims.outranks``: epoch, then host name)?"""
    return held is None or outranks(claim.epoch, claim.host, held.epoch, held.host)


def next_epoch(held: Holding | None, desired_epoch: int) -> int:
    """The epoch of a claim this host makes now: the highest it has seen + 1."""
    return max(desired_epoch, held.epoch if held else 0) + 1


@dataclass(frozen=True)
class Judged:
    claim: PeerClaim
    accepted: bool
    drop: Drop | None = None


def check_sender(view: PeerView, sender: str, source: str) -> None:
    """The datagram's sender must be a peer and must have sent it from its underlay."""
    underlay = view.peers.get(sender)
    if underlay is None:
        raise BadMessage(Drop.UNKNOWN_HOST, sender)
    if source != underlay:
        raise BadMessage(Drop.WRONG_SOURCE, f"{sender} is at {underlay}, the datagram came from {source}")


def judge(view: PeerView, batch: ClaimBatch, held: Mapping[str, Holding]) -> list[Judged]:
    """Each claim of an authenticated batch from a checked sender: accepted (route the VIP
    towards the sender) or dropped, and why. ``held`` is what this host holds each HaVip by
    now; a batch that names a HaVip twice is judged in order (the later wins if newer)."""
    out: list[Judged] = []
    now = dict(held)
    for claim in batch.claims:
        drop = _refusal(view, batch.sender, claim)
        if drop is None and not newer(Holding(claim.epoch, batch.sender), now.get(claim.havip_id)):
            drop = Drop.STALE
        if drop is None:
            now[claim.havip_id] = Holding(claim.epoch, batch.sender)
        out.append(Judged(claim, drop is None, drop))
    return out


def _refusal(view: PeerView, sender: str, claim: PeerClaim) -> Drop | None:
    if claim.havip_id not in view.havips:
        return Drop.UNKNOWN_HAVIP
    remote = view.remotes.get(claim.interface_id)
    if remote is None or remote.host != sender:
        return Drop.NOT_SENDERS
    if claim.havip_id not in remote.claimable or remote.vpc_id != view.havips[claim.havip_id]:
        return Drop.NOT_A_CLAIMANT
    return None
