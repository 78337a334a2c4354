"""Claims across hosts on the fast path: host h1's claim path tells h2's directly (issue 14).

Two claim paths on fake kernels, their datagrams carried by hand between the fakes: h1's
member announces the VIP, h1 switches locally and sends a signed claim; h2 checks it against
its own view, routes the VIP into the tunnel towards h1 in one batch, and acknowledges."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from havip.agent import claims as c
from havip.agent import peers as p2p
from havip.agent.claimpath import ClaimPath
from havip.agent.fakekernel import FakeKernel
from havip.agent.kernel import Encap
from havip.agent.ledger import Ledger
from havip.agent.metrics import AgentMetrics
from havip.agent.settings import DiscoverySettings

from .agent_world import MACS, VIP

pytestmark = pytest.mark.unit

KEY = b"a fleet key of 32 bytes........."
UNDERLAY = {"h1": "10.255.0.1", "h2": "10.255.0.2", "h3": "10.255.0.3"}
TABLE, VNI = 20000, 1001


class Host:
    """One host's claim path on a fake kernel: a port for its member and the tunnel."""

    def __init__(
        self, name: str, member: str | None, epoch: int = 0, holder: str | None = "eni-9", eips: tuple[str, ...] = ()
    ) -> None:
        self.name, self.kernel, self.metrics = name, FakeKernel(), AgentMetrics()
        self.kernel.state.add_device("havip-tun", kind="vxlan")
        ports = {}
        if member is not None:
            self.kernel.state.add_device(f"tap-{member}", kind="tap")
            index = self.kernel.state.index(f"tap-{member}")
            ports[index] = c.PortInfo(
                interface_id=member, device=f"tap-{member}", ifindex=index, vpc_id="vpc-1", table=TABLE, mac=MACS[2]
            )
        remotes = {
            eni: p2p.Remote(interface_id=eni, host=host, vpc_id="vpc-1", claimable=frozenset({"havip-1"}))
            for eni, host in (("eni-1", "h1"), ("eni-2", "h2"), ("eni-3", "h3"))
            if host != name
        }
        vip = c.VipInfo(
            havip_id="havip-1",
            vpc_id="vpc-1",
            ip=VIP,
            table=TABLE,
            claimants=frozenset({member} if member else set()),
            gateway_ip="10.0.0.1",
            holder_interface_id=holder,  # by default an earlier holder on a host long gone
            holder_host="h9" if holder else None,
            routes=("192.168.50.0/24",),
            eips=eips,
            epoch=epoch,
        )
        self.view = c.ClaimView(
            name,
            1,
            ports,
            {("vpc-1", VIP): vip},
            tunnel=self.kernel.state.index("havip-tun"),
            vnis={"vpc-1": VNI},
            peers=p2p.PeerView(
                host=name, peers={h: a for h, a in UNDERLAY.items() if h != name}, remotes=remotes,
                havips={"havip-1": "vpc-1"},
            ),
        )  # fmt: skip
        self.ledger = Ledger(name)
        self.ledger.settle(c.Fetched(0, 0, frozenset({"havip-1"}), {"havip-1": epoch}), self.view)
        self.events: list[c.ClaimEvent] = []
        self.path = ClaimPath(
            self.ledger, self.kernel.arp, self.kernel.switch, self.kernel.nflog, self.metrics,
            DiscoverySettings(interval=3600), self.events.append, peers=self.kernel.peers, peer_key=KEY,
        )  # fmt: skip

    def deliver_from(self, other: Host) -> int:
        """Carry what ``other`` sent to this host's underlay; returns how many datagrams."""
        mine = [d for a, d in other.kernel.peers.sent if a == UNDERLAY[self.name]]
        other.kernel.peers.sent = [(a, d) for a, d in other.kernel.peers.sent if a != UNDERLAY[self.name]]
        for data in mine:
            self.kernel.peers.deliver(data, UNDERLAY[other.name])
        self.path.step()
        return len(mine)

    def sample(self, name: str, **labels: str) -> float:
        return float(self.metrics.registry.get_sample_value(name, labels) or 0.0)


def test_a_claim_reaches_the_other_host_and_is_acknowledged() -> None:
    h1, h3 = Host("h1", "eni-1", epoch=4), Host("h3", None, epoch=4)
    h1.kernel.arp.garp("tap-eni-1", VIP, MACS[2])
    h1.path.step()
    (switched,) = [e for e in h1.events if isinstance(e, c.Switched)]
    assert switched.epoch == 5, "the highest epoch seen (the store's 4) + 1"
    assert h3.deliver_from(h1) == 1
    (move,) = h3.kernel.switch.moves
    assert (move.vip, move.ifindex, move.encap) == (VIP, h3.view.tunnel, Encap(VNI, "10.255.0.1"))
    assert tuple(move.routes) == ("192.168.50.0/24",), "route entries via the HaVip go the same way"
    assert h3.ledger.snapshot()[1] == {"havip-1": "eni-1"}
    assert h3.sample("havip_agent_peer_claims_total", result="applied") == 1
    assert h1.deliver_from(h3) == 1  # the ack
    assert h1.sample("havip_agent_peer_switch_latency_seconds_count") == 1


@pytest.mark.parametrize("eips", [pytest.param((), id="no-eip"), pytest.param(("198.51.100.1",), id="eip-here")])
def test_a_peers_claim_of_a_vip_with_an_eip_translated_here_ends_its_flows(eips: tuple[str, ...]) -> None:
    """The host with the uplink keeps the EIP's conntrack entries: a peer's claim moves the VIP
    into the tunnel, and the claim path says so (``PeerMoved``: the flows loop resets them);
    nothing is reported, the claimant reports its own claim."""
    h1, h3 = Host("h1", "eni-1", epoch=4), Host("h3", None, epoch=4, eips=eips)
    h1.kernel.arp.garp("tap-eni-1", VIP, MACS[2])
    h1.path.step()
    assert h3.deliver_from(h1) == 1
    moved = [e for e in h3.events if isinstance(e, c.PeerMoved)]
    assert [(m.vip.eips, m.peer) for m in moved] == ([(eips, "h1")] if eips else [])
    assert not [e for e in h3.events if not isinstance(e, c.PeerMoved)]


def test_forged_wrong_source_and_disallowed_claims_are_refused_and_counted() -> None:
    h3 = Host("h3", None, epoch=4)
    claim = p2p.PeerClaim(havip_id="havip-1", interface_id="eni-1", epoch=9, seen_ns=1)
    batch = p2p.ClaimBatch(sender="h1", seq=1, sent_ns=1, claims=(claim,))
    h3.kernel.peers.deliver(p2p.encode(batch, b"the wrong key of 32 bytes......."), UNDERLAY["h1"])
    h3.kernel.peers.deliver(p2p.encode(batch, KEY), "10.255.0.99")  # not h1's underlay
    h3.kernel.peers.deliver(p2p.encode(replace(batch, sender="h9"), KEY), "10.255.0.9")
    not_member = replace(batch, claims=(replace(claim, interface_id="eni-2"),))  # h2's interface, sent by h1
    h3.kernel.peers.deliver(p2p.encode(not_member, KEY), UNDERLAY["h1"])
    h3.path.step()
    assert h3.kernel.switch.moves == []
    for reason in ("bad-signature", "wrong-source", "unknown-host"):
        assert h3.sample("havip_agent_peer_datagrams_dropped_total", reason=reason) == 1, reason
    assert h3.sample("havip_agent_peer_claims_total", result="not-senders-interface") == 1


def test_a_stale_or_duplicated_claim_changes_nothing() -> None:
    h3 = Host("h3", None, epoch=7)
    old = p2p.ClaimBatch(
        sender="h1",
        seq=1,
        sent_ns=1,
        claims=(p2p.PeerClaim(havip_id="havip-1", interface_id="eni-1", epoch=6, seen_ns=1),),
    )
    h3.kernel.peers.deliver(p2p.encode(old, KEY), UNDERLAY["h1"])
    h3.path.step()
    assert h3.kernel.switch.moves == [] and h3.sample("havip_agent_peer_claims_total", result="stale") == 1
    new = replace(old, seq=2, claims=(replace(old.claims[0], epoch=8),))
    for _ in range(2):
        h3.kernel.peers.deliver(p2p.encode(new, KEY), UNDERLAY["h1"])
    h3.path.step()
    assert len(h3.kernel.switch.moves) == 1, "the duplicate is stale once the first is applied"


def test_a_split_brain_across_hosts_ends_with_the_same_holder_everywhere() -> None:
    """h1 and h2 claim at the same epoch within a millisecond: h3 gets the two messages in
    either order, and h1 and h2 hear each other; every host ends with h1's member (the tie
    goes to the lower host name)."""
    for order in (("h1", "h2"), ("h2", "h1")):
        hosts = {"h1": Host("h1", "eni-1", 4), "h2": Host("h2", "eni-2", 4, holder=None), "h3": Host("h3", None, 4)}
        hosts["h1"].kernel.arp.garp("tap-eni-1", VIP, MACS[2])
        hosts["h2"].kernel.arp.garp("tap-eni-2", VIP, MACS[2])
        for name in ("h1", "h2"):
            hosts[name].path.step()
            assert [e.epoch for e in hosts[name].events if isinstance(e, c.Switched)] == [5]
        for sender in order:
            hosts["h3"].deliver_from(hosts[sender])
        hosts["h2"].deliver_from(hosts["h1"])
        hosts["h1"].deliver_from(hosts["h2"])
        for name in ("h1", "h2", "h3"):
            assert hosts[name].ledger.snapshot()[1] == {"havip-1": "eni-1"}, (order, name)
        assert hosts["h1"].sample("havip_agent_peer_claims_total", result="stale") == 1


def test_a_probe_answer_never_takes_the_vip_back_from_a_peers_claim() -> None:
    """i1 crashed on h1 with the VIP still on its interface; i2 on h2 claimed it. h1's next
    discovery round hears i1 answer: the peer's claim outranks the answer (no heal back)."""
    h1 = Host("h1", "eni-1", epoch=4, holder=None)
    batch = p2p.ClaimBatch(
        sender="h2",
        seq=1,
        sent_ns=1,
        claims=(p2p.PeerClaim(havip_id="havip-1", interface_id="eni-2", epoch=5, seen_ns=1),),
    )
    h1.kernel.peers.deliver(p2p.encode(batch, KEY), UNDERLAY["h2"])
    h1.path.step()
    assert h1.ledger.snapshot()[1] == {"havip-1": "eni-2"}
    h1.path.settings = DiscoverySettings(interval=3600, answer_window=0.0, claim_shield=0.0)
    h1.path.request_round(c.RoundReason.ASKED)
    h1.path.step()  # the probes
    h1.kernel.arp.answer("tap-eni-1", VIP, MACS[2], "10.0.0.1")
    h1.path.step()  # the answer, then the round (already due) is judged
    assert h1.path.last_round is not None
    assert h1.path.last_round.findings["havip-1"].finding is c.Finding.CLAIM_WINS
    assert h1.ledger.snapshot()[1] == {"havip-1": "eni-2"}
    assert not [e for e in h1.events if isinstance(e, c.Switched)]


def test_a_peers_claim_the_store_never_confirms_is_read_again_once_its_hold_is_over() -> None:
    from havip.agent.ledger import REMOTE_HOLD_NS

    h3 = Host("h3", None, epoch=4)
    assert h3.ledger.remote_hold_ends_ns() is None, "nothing held"
    claim = p2p.PeerClaim(havip_id="havip-1", interface_id="eni-1", epoch=5, seen_ns=1)
    h3.kernel.peers.deliver(
        p2p.encode(p2p.ClaimBatch(sender="h1", seq=1, sent_ns=1, claims=(claim,)), KEY), UNDERLAY["h1"]
    )
    h3.path.step()
    assert len(h3.kernel.switch.moves) == 1, "applied: routed into the tunnel"
    ends = h3.ledger.remote_hold_ends_ns()
    assert ends is not None and ends - REMOTE_HOLD_NS <= time.time_ns() < ends
    # a desired state whose fetch started before the hold ended keeps it; one started after retires it
    early = c.Fetched(h3.ledger.tick(), ends - 1, frozenset({"havip-1"}), {"havip-1": 4})
    assert not h3.ledger.settles_any(early)
    late = c.Fetched(h3.ledger.tick(), ends, frozenset({"havip-1"}), {"havip-1": 4})
    assert h3.ledger.settles_any(late)
    h3.ledger.settle(late, h3.view)
    assert h3.ledger.remote_hold_ends_ns() is None
