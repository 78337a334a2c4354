"""The running agent over the fake kernel and control plane: follow, reconcile, claim, report."""

from __future__ import annotations

import struct
import time
from dataclasses import replace

import pytest

from havip.agent import arp
from havip.agent import claims as c
from havip.agent.kernel import DataplaneError
from havip.agent.metrics import AgentMetrics
from havip.agent.pipeline import reconcile_pass
from havip.agent.settings import LoopPolicy, LoopSettings
from havip.domain.desired import DesiredHaVip

from .agent_world import FAST, HOST, MACS, VIP, World, desired, wait_for, world

pytestmark = pytest.mark.unit


def sample(metrics: AgentMetrics, name: str, labels: dict[str, str] | None = None) -> float:
    return float(metrics.registry.get_sample_value(name, labels or {}) or 0.0)


def ask_round(w: World) -> None:
    """Let the start round end, then ask for a round and wait for its probes."""
    wait_for("the start round", lambda: w.agent.claim_path.last_round is not None)
    w.kernel.arp.sent.clear()
    w.agent.claim_path.request_round(c.RoundReason.ASKED)
    wait_for("the probes", lambda: len(w.kernel.arp.sent) >= 2)


def test_the_agent_builds_the_host_and_a_second_pass_plans_nothing() -> None:
    with world() as w:
        assert w.route() == "tap1", "the VIP is routed to its recorded holder"
        assert w.agent.state is not None
        again = reconcile_pass(w.agent.state, w.kernel.state.read(), uplink=None, limits=FAST.nft)
        assert again.actions == [], again.actions
        assert w.control.fetches[0][1].agent_version, "the heartbeat carries the agent's version"
        wait_for("the applied revision in the heartbeat", lambda: w.control.fetches[-1][1].applied_revision == 1)


def test_a_member_garp_switches_the_route_and_reports_once() -> None:
    with world() as w:
        w.garp(2)
        wait_for("the claim report", lambda: w.claim_reports() == [("eni-2", "garp-request")])
        assert w.route() == "tap2"
        assert w.kernel.state.neighs[("tap2", VIP)].mac == MACS[2]
        w.garp(2)  # keepalived's refresh: nothing more to do or say
        time.sleep(0.05)
        assert w.claim_reports() == [("eni-2", "garp-request")]
        assert sample(w.agent.metrics, "havip_agent_claims_total", {"verdict": "already-holder"}) == 1


def test_a_non_member_garp_moves_nothing_and_says_nothing() -> None:
    with world() as w:
        w.garp(3)
        time.sleep(0.05)
        assert w.route() == "tap1" and w.control.reports == []
        assert sample(w.agent.metrics, "havip_agent_claims_total", {"verdict": "not-a-claimant"}) == 1


def test_a_desired_state_from_before_the_claim_never_moves_the_vip_back() -> None:
    with world() as w:
        w.control.reports_down = True  # the claim's report cannot be delivered yet
        w.garp(2)
        wait_for("the switch", lambda: w.route() == "tap2")
        w.control.put(desired(revision=2, holder="eni-1"))  # still the old holder: predates the claim
        wait_for("revision 2 reconciled", lambda: w.agent.reconciled_revision == 2)
        assert w.route() == "tap2", "a local claim outranks a desired state that does not know it"
        assert w.agent.ledger.snapshot()[1] == {"havip-1": "eni-2"}
        w.control.reports_down = False
        wait_for("the report", lambda: w.claim_reports() == [("eni-2", "garp-request")])
        w.control.put(desired(revision=3, holder="eni-2"))  # the control plane's answer
        wait_for("revision 3 reconciled", lambda: w.agent.reconciled_revision == 3)
        # the long poll that brought revision 3 may have started before the delivery: the
        # claim retires with the first desired state fetched after it
        w.control.put(desired(revision=4, holder="eni-2"))
        wait_for("revision 4 reconciled", lambda: w.agent.reconciled_revision == 4)
        assert w.agent.ledger.snapshot()[1] == {}
        assert w.route() == "tap2"


def test_a_claim_survives_a_control_plane_outage_and_is_reported_after() -> None:
    with world() as w:
        w.control.down = True
        w.garp(2)
        wait_for("the switch", lambda: w.route() == "tap2")
        time.sleep(0.05)
        assert w.control.reports == []
        w.control.down = False
        wait_for("the report after the outage", lambda: w.claim_reports() == [("eni-2", "garp-request")])


def test_a_refused_claim_read_from_nflog_is_reported() -> None:
    with world() as w:
        payload = arp.build_garp(MACS[3], VIP)[arp.ETH_HLEN :]  # NFLOG gives the ARP header on
        w.kernel.nflog.inject(w.kernel.state.index("tap3"), payload)
        wait_for("the refusal", lambda: [r.kind for r in w.control.reports] == ["refused"])
        (rep,) = w.control.reports
        assert (rep.interface_id, rep.cause) == ("eni-3", c.Cause.REFUSED_GARP)
        assert w.route() == "tap1"


def test_a_mass_failover_moves_every_vip_of_one_drain_in_one_switch_call() -> None:
    havips = [
        DesiredHaVip(
            id=f"havip-{n}",
            vpc_id="vpc-1",
            subnet_id="vsw-1",
            ip=f"10.0.0.{100 + n}",
            claimants=["eni-1", "eni-2"],
            holder_interface_id="eni-1",
            holder_host=HOST,
        )
        for n in range(50)
    ]
    state = replace(desired(), havips=havips)
    with world(state) as w:
        calls = w.kernel.switch.calls
        w.agent.request_stop()  # hold the claim loop so every GARP waits in one queue
        w.agent.loops.stop()
        for n in range(50):
            w.kernel.arp.garp("tap2", f"10.0.0.{100 + n}", MACS[2])
        w.agent.claim_path.step()
        assert w.kernel.switch.calls == calls + 1
        assert all(w.route(f"10.0.0.{100 + n}/32") == "tap2" for n in range(50))


def test_a_route_switch_the_kernel_refuses_is_counted_and_not_reported() -> None:
    with world() as w:
        w.kernel.switch.faults.failing = DataplaneError("route switch of 10.0.0.3: No such device")
        w.garp(2)
        wait_for(
            "the failure counted",
            lambda: sample(w.agent.metrics, "havip_agent_switch_failures_total", {"kind": "claim"}) == 1,
        )
        assert w.control.reports == [] and w.agent.ledger.snapshot()[1] == {}


def test_a_claim_loop_that_cannot_go_on_stops_the_agent() -> None:
    settings = FAST.__class__(
        follow=FAST.follow,
        discovery=FAST.discovery,
        loops=LoopSettings(claims=LoopPolicy((0.001,), give_up_after=3)),
    )
    with world(settings=settings) as w:
        w.kernel.arp.faults.failing = OSError(19, "No such device")  # the packet socket is gone for good
        w.garp(2)
        assert w.agent.stopping.wait(5), "the agent stops"
        assert w.agent.loops.fatal is not None and w.agent.loops.fatal.loop == "claims"
        assert sample(w.agent.metrics, "havip_agent_loop_errors_total", {"loop": "claims"}) == 3


def test_a_heal_found_by_a_round_switches_and_reports_a_probe_answer_for_an_unheld_havip() -> None:
    with world(desired(holder=None)) as w:
        assert w.route() is None or w.route() != "tap2"
        ask_round(w)
        w.kernel.arp.answer("tap2", VIP, MACS[2], "10.0.0.1")
        wait_for("the heal", lambda: w.route() == "tap2")
        wait_for("its report", lambda: [r.kind for r in w.control.reports] == ["probe-answer"])
        assert w.control.reports[0].cause == "discovery-asked"


def test_a_split_brain_found_by_a_round_is_reported_with_the_others() -> None:
    with world() as w:
        ask_round(w)
        w.kernel.arp.answer("tap1", VIP, MACS[1], "10.0.0.1")
        w.kernel.arp.answer("tap2", VIP, MACS[2], "10.0.0.1")
        wait_for("the split brain", lambda: [r.kind for r in w.control.reports] == ["split-brain"])
        (rep,) = w.control.reports
        assert (rep.interface_id, rep.others, rep.cause) == ("eni-1", ["eni-2"], "discovery-asked")
        assert w.route() == "tap1", "a split brain is recorded, never acted on"


def test_probe_frames_ask_for_the_vip_from_the_gateway() -> None:
    with world() as w:
        ask_round(w)
        devices = sorted(d for d, _f in w.kernel.arp.sent)
        assert devices == ["tap1", "tap2"]
        frame = w.kernel.arp.sent[0][1]
        (op,) = struct.unpack_from("!H", frame, arp.ETH_HLEN + 6)
        assert op == arp.ARP_REQUEST
