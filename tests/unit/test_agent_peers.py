"""Claim messages between agents (havip.agent.peers): wire format, authentication, judgement, epochs."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from havip.agent import peers as p

pytestmark = pytest.mark.unit

KEY = b"k" * 32
VIEW = p.PeerView(
    host="h1",
    peers={"h2": "10.255.0.2", "h3": "10.255.0.3"},
    remotes={
        "eni-b": p.Remote(interface_id="eni-b", host="h2", vpc_id="vpc-1", claimable=frozenset({"havip-1"})),
        "eni-c": p.Remote(interface_id="eni-c", host="h3", vpc_id="vpc-1", claimable=frozenset({"havip-1"})),
        "eni-x": p.Remote(interface_id="eni-x", host="h2", vpc_id="vpc-1", claimable=frozenset()),
    },
    havips={"havip-1": "vpc-1", "havip-2": "vpc-1"},
)


def claim(interface: str = "eni-b", epoch: int = 5, havip: str = "havip-1") -> p.PeerClaim:
    return p.PeerClaim(havip_id=havip, interface_id=interface, epoch=epoch, seen_ns=123)


def batch(*claims: p.PeerClaim, sender: str = "h2") -> p.ClaimBatch:
    return p.ClaimBatch(sender=sender, seq=7, sent_ns=456, claims=claims)


def test_a_batch_and_an_ack_survive_the_wire() -> None:
    msg = batch(claim(), claim("eni-c", 6))
    assert p.decode(p.encode(msg, KEY), KEY) == msg
    ack = p.Ack(sender="h1", seq=7, acked_ns=999)
    assert p.decode(p.encode(ack, KEY), KEY) == ack


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", p.Drop.NOT_OURS, id="empty"),
        pytest.param(b"GET / HTTP/1.1\r\n" + b"x" * 40, p.Drop.NOT_OURS, id="not-magic"),
        pytest.param(p.encode(batch(claim()), b"another key of 32 bytes........."), p.Drop.BAD_SIGNATURE, id="key"),
    ],
)
def test_foreign_and_forged_datagrams_are_dropped(data: bytes, reason: p.Drop) -> None:
    with pytest.raises(p.BadMessage) as e:
        p.decode(data, KEY)
    assert e.value.reason is reason


def test_a_tampered_body_fails_its_signature() -> None:
    data = bytearray(p.encode(batch(claim(epoch=5)), KEY))
    at = data.index(b'"epoch":5')
    data[at + 8] = ord("9")
    with pytest.raises(p.BadMessage) as e:
        p.decode(bytes(data), KEY)
    assert e.value.reason is p.Drop.BAD_SIGNATURE


def test_a_signed_but_unreadable_message_is_malformed() -> None:
    raw = json.dumps({"t": "claims", "from": "h2"}).encode()
    data = p.MAGIC + hmac.digest(KEY, raw, hashlib.sha256) + raw
    with pytest.raises(p.BadMessage) as e:
        p.decode(data, KEY)
    assert e.value.reason is p.Drop.MALFORMED


def test_the_sender_must_be_a_peer_and_send_from_its_underlay() -> None:
    p.check_sender(VIEW, "h2", "10.255.0.2")
    with pytest.raises(p.BadMessage) as e:
        p.check_sender(VIEW, "h9", "10.255.0.9")
    assert e.value.reason is p.Drop.UNKNOWN_HOST
    with pytest.raises(p.BadMessage) as e:
        p.check_sender(VIEW, "h2", "10.255.0.3")  # h3 pretending to be h2
    assert e.value.reason is p.Drop.WRONG_SOURCE


@pytest.mark.parametrize(
    ("c", "drop"),
    [
        pytest.param(claim(havip="havip-9"), p.Drop.UNKNOWN_HAVIP, id="unknown-havip"),
        pytest.param(claim("eni-c"), p.Drop.NOT_SENDERS, id="another-hosts-interface"),
        pytest.param(claim("eni-zz"), p.Drop.NOT_SENDERS, id="unknown-interface"),
        pytest.param(claim("eni-x"), p.Drop.NOT_A_CLAIMANT, id="not-a-member"),
        pytest.param(claim(havip="havip-2"), p.Drop.NOT_A_CLAIMANT, id="member-of-another-havip"),
    ],
)
def test_claims_the_receivers_own_state_does_not_allow_are_refused(c: p.PeerClaim, drop: p.Drop) -> None:
    (j,) = p.judge(VIEW, batch(c), {})
    assert (j.accepted, j.drop) == (False, drop)


def test_epochs_order_claims_never_clocks() -> None:
    held = {"havip-1": p.Holding(5, "h1")}
    (older,) = p.judge(VIEW, batch(claim(epoch=4)), held)
    assert older.drop is p.Drop.STALE
    (newer,) = p.judge(VIEW, batch(claim(epoch=6)), held)
    assert newer.accepted
    # a reordered pair in one batch: epoch 7 then 6 -> the 6 is stale
    a, b = p.judge(VIEW, batch(claim(epoch=7), claim(epoch=6)), held)
    assert a.accepted and b.drop is p.Drop.STALE


def test_a_tie_goes_to_the_lower_host_name_on_every_host() -> None:
    # h2 and h3 both claimed at epoch 6: whichever order the messages arrive in, h2 wins
    assert p.newer(p.Holding(6, "h2"), p.Holding(6, "h3"))
    assert not p.newer(p.Holding(6, "h3"), p.Holding(6, "h2"))
    assert not p.newer(p.Holding(6, "h2"), p.Holding(6, "h2"))  # a duplicate changes nothing
    (dup,) = p.judge(VIEW, batch(claim(epoch=6)), {"havip-1": p.Holding(6, "h2")})
    assert dup.drop is p.Drop.STALE


def test_the_next_epoch_is_the_highest_seen_plus_one() -> None:
    assert p.next_epoch(None, 0) == 1
    assert p.next_epoch(p.Holding(9, "h2"), 4) == 10
    assert p.next_epoch(p.Holding(3, "h2"), 4) == 5


def test_a_mass_failover_fits_in_a_few_datagrams() -> None:
    claims = [claim(epoch=n) for n in range(1, 1001)]
    datagrams = p.encode_claims("h2", 100, 1, claims, KEY)
    assert len(datagrams) == 4 and all(len(d) < p.MAX_DATAGRAM for d in datagrams)
    decoded = [p.decode(d, KEY) for d in datagrams]
    assert [m.seq for m in decoded] == [100, 101, 102, 103]
    assert [c for m in decoded if isinstance(m, p.ClaimBatch) for c in m.claims] == claims


def test_peers_of_a_vpc_are_the_hosts_of_its_remote_interfaces() -> None:
    assert VIEW.peers_of("vpc-1") == ["h2", "h3"]
    assert VIEW.peers_of("vpc-2") == []


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        p.check_key(b"short")
    assert p.check_key(KEY) == KEY
