"""The loop runner, and the two faults that once killed or spun a loop (issue 13)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from havip.agent import claims as c
from havip.agent.claimpath import ClaimPath
from havip.agent.fakekernel import FakeKernel
from havip.agent.flows import Flow
from havip.agent.kernel import DataplaneError
from havip.agent.ledger import Ledger
from havip.agent.loops import LoopExit, LoopName, Loops
from havip.agent.metrics import AgentMetrics
from havip.agent.resetter import FlowResetter, Job, Reason
from havip.agent.settings import DiscoverySettings, LoopPolicy

from .agent_world import MACS, VIP, wait_for

pytestmark = pytest.mark.unit


def errors(metrics: AgentMetrics, loop: str) -> float:
    return float(metrics.registry.get_sample_value("havip_agent_loop_errors_total", {"loop": loop}) or 0.0)


def test_a_failing_step_is_logged_counted_backed_off_and_run_again(caplog: pytest.LogCaptureFixture) -> None:
    metrics, stop = AgentMetrics(), threading.Event()
    calls: list[float] = []

    def step() -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ValueError("a desired state that does not validate")
        if len(calls) == 5:
            stop.set()

    loops = Loops(metrics, stop)
    loops.spawn(LoopName.FOLLOW, step, LoopPolicy((0.02, 0.04)))
    loops.start()
    assert stop.wait(5)
    loops.stop()
    assert len(calls) == 5 and loops.fatal is None
    assert errors(metrics, "follow") == 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.04, "bounded backoff, the last delay repeats"
    assert "loop-error" in caplog.text


def test_a_loop_that_fails_too_often_in_a_row_stops_the_agent() -> None:
    metrics, stop = AgentMetrics(), threading.Event()

    def step() -> None:
        raise OSError(9, "Bad file descriptor")

    loops = Loops(metrics, stop)
    loops.spawn(LoopName.CLAIMS, step, LoopPolicy((0.001,), give_up_after=4))
    loops.start()
    assert stop.wait(5), "the whole agent stops"
    loops.stop()
    assert loops.fatal is not None and loops.fatal.loop is LoopName.CLAIMS
    assert "4 failures in a row" in loops.fatal.reason and errors(metrics, "claims") == 4


def test_loop_exit_stops_the_agent_at_once() -> None:
    metrics, stop = AgentMetrics(), threading.Event()

    def step() -> None:
        raise LoopExit("the namespace is gone")

    loops = Loops(metrics, stop)
    loops.spawn(LoopName.REPORTER, step, LoopPolicy())
    loops.start()
    assert stop.wait(5)
    loops.stop()
    assert loops.fatal is not None and loops.fatal.reason == "the namespace is gone"


def test_a_successful_step_resets_the_backoff() -> None:
    policy = LoopPolicy((0.01, 0.5, 9.0))
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.01, 0.5, 9.0, 9.0]


# ---------------------------------------------------------------- fault 1: a heal that fails


def _view(kernel: FakeKernel) -> c.ClaimView:
    index = {n: kernel.state.index(f"tap{n}") for n in (2, 3)}
    ports = {
        index[n]: c.PortInfo(
            interface_id=f"eni-{n}", device=f"tap{n}", ifindex=index[n], vpc_id="vpc-1", table=20000, mac=MACS[n]
        )
        for n in (2, 3)
    }
    vip = c.VipInfo(
        havip_id="havip-1",
        vpc_id="vpc-1",
        ip=VIP,
        table=20000,
        claimants=frozenset({"eni-2", "eni-3"}),
        gateway_ip="10.0.0.1",
        holder_interface_id="eni-2",
        holder_host="h1",
    )
    return c.ClaimView("h1", 1, ports, {("vpc-1", VIP): vip})


def test_a_heal_the_kernel_refuses_is_not_retried_in_a_hot_loop() -> None:
    """Before the fix, a failed heal raised before the round was cleared, and the loop
    judged the same round again at once: tens of thousands of switches and reports."""
    kernel, metrics, stop = FakeKernel(), AgentMetrics(), threading.Event()
    for n in (1, 2, 3):
        kernel.state.add_device(f"tap{n}", kind="tap")
    ledger = Ledger("h1")
    ledger.settle(c.Fetched(0, 0, frozenset({"havip-1"}), {}), _view(kernel))
    emitted: list[c.ClaimEvent] = []
    path = ClaimPath(
        ledger, kernel.arp, kernel.switch, kernel.nflog, metrics,
        DiscoverySettings(interval=3600, answer_window=0.02, claim_shield=0.0), emitted.append,
    )  # fmt: skip
    kernel.switch.faults.failing = DataplaneError("route switch of 10.0.0.3: No such device")
    loops = Loops(metrics, stop)
    loops.spawn(LoopName.CLAIMS, path.step, LoopPolicy((0.01,)), wake=path.wake)
    loops.start()
    path.request_round(c.RoundReason.ASKED)
    wait_for("the probes", lambda: len(kernel.arp.sent) == 2)
    kernel.arp.answer("tap3", VIP, MACS[3], "10.0.0.1")  # eni-3 has it, eni-2 is recorded: a heal
    wait_for("the round", lambda: path.last_round is not None)
    time.sleep(0.3)
    loops.stop()
    path.close()
    assert path.last_round is not None and path.last_round.findings["havip-1"].finding is c.Finding.HEAL
    assert kernel.switch.calls == 1, f"one attempt per round, not {kernel.switch.calls}"
    assert emitted == [], "a heal that did not happen is not reported"
    failures = metrics.registry.get_sample_value("havip_agent_switch_failures_total", {"kind": "heal"})
    assert failures == 1
    assert ledger.snapshot()[1] == {}


# ----------------------------------------------------- fault 2: a flow reset that fails oddly


def test_the_flow_reset_loop_outlives_an_unexpected_exception() -> None:
    """Before the fix the flows thread caught only DataplaneError and OSError: any other
    exception ended it silently and no flow was ever reset again."""
    kernel, metrics, stop = FakeKernel(), AgentMetrics(), threading.Event()
    flow = Flow(20000, 6, "198.51.100.7", VIP, 40000, 80, VIP, "198.51.100.7", 80, 40000)
    kernel.flows.table.append(flow)
    resetter = FlowResetter(kernel.flows, metrics)
    loops = Loops(metrics, stop)
    loops.spawn(LoopName.FLOWS, resetter.step, LoopPolicy((0.01,)), wake=resetter.wake)
    loops.start()
    kernel.flows.faults.fail_next, kernel.flows.faults.error = 1, KeyError("a bug in the flow dump")

    def job(n: int) -> Job:
        return Job(
            reason=Reason.SWITCH, havip_id=f"havip-{n}", zone=20000, addresses=frozenset({VIP}), kick=False,
            requested_ns=n,
        )  # fmt: skip

    resetter.put(job(1))
    wait_for("the failure counted", lambda: errors(metrics, "flows") == 1)
    resetter.put(job(2))
    wait_for("the next job done", lambda: resetter.last is not None)
    loops.stop()
    assert resetter.last is not None and resetter.last.job.havip_id == "havip-2" and resetter.last.deleted == 1
    assert kernel.flows.table == [] and loops.fatal is None
