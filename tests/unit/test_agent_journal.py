"""The claim journal: a claim switched but never delivered survives the agent's death.

Over the fake kernel and control plane: the first agent switches a claim while the
control plane takes no reports, and dies; the kernel keeps the route. A second agent on
the same kernel and state directory keeps the route (the control plane still names the
old holder) and reports the claim; without a state directory it routes the VIP back to
the old holder and the claim is lost, which is what the journal is for.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from havip.agent.control import FakeControlPlane
from havip.agent.fakekernel import FakeKernel
from havip.agent.journal import COMPACT_LINES, Entry, Journal, journal_path
from havip.agent.runtime import Agent

from .agent_world import FAST, HOST, MACS, VIP, desired, wait_for


def _entry(n: int) -> Entry:
    return Entry("havip-1", f"eni-{n}", "claim", 1_000 + n, "garp-request", 700, 0)


def test_a_new_journal_is_empty_and_keeps_only_what_was_not_delivered(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "state", "h1")
    j, pending = Journal.open(path)
    assert pending == [] and path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    j.switched(_entry(1))
    j.switched(_entry(2))
    j.delivered(_entry(1).key)
    j.delivered("never-switched")  # an unknown key changes nothing
    assert j.pending() == 1
    j.close()
    j2, pending = Journal.open(path)
    assert pending == [_entry(2)]
    assert len(path.read_text().splitlines()) == 1, "reopening rewrites the file with only the undelivered"
    j2.close()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "h1")
    line = json.dumps({"op": "claim", **_entry(1).__dict__})
    path.write_text(line + "\n" + line[:20])
    j, pending = Journal.open(path)
    assert pending == [_entry(1)]
    j.close()


def test_the_journal_is_emptied_once_nothing_is_pending_and_it_grew(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "h1")
    j, _ = Journal.open(path)
    for n in range(COMPACT_LINES // 2 + 1):
        e = Entry("havip-1", "eni-1", "claim", n, "garp-request")
        j.switched(e)
        j.delivered(e.key)
    j.close()
    assert path.stat().st_size == 0


def _agent(kernel: FakeKernel, control: FakeControlPlane, state_dir: Path | None) -> Agent:
    agent = Agent(control, HOST, kernel, replace(FAST, state_dir=str(state_dir) if state_dir else None))
    agent.start()
    wait_for("the first reconcile", lambda: agent.reconciled_revision is not None)
    return agent


def _route(kernel: FakeKernel) -> str | None:
    return next((r.device for (_t, d), r in kernel.state.routes.items() if d == f"{VIP}/32"), None)


def _crash_after_a_claim(state_dir: Path | None) -> tuple[FakeKernel, FakeControlPlane]:
    kernel = FakeKernel()
    for n in (1, 2, 3):
        kernel.state.add_device(f"tap{n}", mac=f"fe:00:00:00:00:0{n}", kind="tap")
    control = FakeControlPlane(desired())
    control.reports_down = True  # the claim's report cannot be delivered before the agent dies
    first = _agent(kernel, control, state_dir)
    kernel.arp.garp("tap2", VIP, MACS[2])
    wait_for("the switch", lambda: _route(kernel) == "tap2")
    first.request_stop()
    first.stop()  # its queue dies with it, as with SIGKILL; the kernel keeps the route
    return FakeKernel(kernel.state), control


def test_a_restarted_agent_keeps_and_reports_the_claim_its_predecessor_switched(tmp_path: Path) -> None:
    kernel, control = _crash_after_a_claim(tmp_path)
    second = _agent(kernel, control, tmp_path)
    try:
        # the control plane still names eni-1 (it never heard of the claim)
        assert _route(kernel) == "tap2", "the first reconcile kept the journal's claim"
        control.reports_down = False
        wait_for(
            "the replayed report", lambda: [(r.interface_id, r.kind) for r in control.reports] == [("eni-2", "claim")]
        )
        assert control.reports[0].cause == "garp-request" and control.reports[0].latency_us is not None
        wait_for("the journal settled", lambda: second.journal is not None and second.journal.pending() == 0)
        control.put(desired(revision=2, holder="eni-2"))  # what the control plane made of it
        wait_for("revision 2 reconciled", lambda: second.reconciled_revision == 2)
        assert _route(kernel) == "tap2"
    finally:
        second.request_stop()
        second.stop()


def test_without_a_journal_the_claim_is_lost_and_the_vip_routed_back(tmp_path: Path) -> None:
    kernel, control = _crash_after_a_claim(None)
    control.reports_down = False
    second = _agent(kernel, control, None)
    try:
        wait_for("the route back to the control plane's holder", lambda: _route(kernel) == "tap1")
        assert control.reports == []
    finally:
        second.request_stop()
        second.stop()
