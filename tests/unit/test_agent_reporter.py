"""The reporter: typed reports in order, in batches, retried while the control plane is down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from havip.agent.claims import Claimed
from havip.agent.control import FakeControlPlane
from havip.agent.reporter import Queued, Reporter
from havip.agent.settings import ReportSettings
from havip.client import ApiError
from havip.contract.agents import Report, ReportBatchItem, ReportRefusal
from havip.domain.claims import Outcome, ReportKind

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def queued(havip: str, kind: ReportKind = ReportKind.CLAIM, claim: bool = False, n: int = 1) -> Queued:
    rep = Report(havip_id=havip, interface_id="eni-1", kind=kind, at=AT, cause="garp-request")
    return Queued(rep, Claimed(havip, "eni-1", n) if claim else None)


class Collect:
    def __init__(self) -> None:
        self.done: list[tuple[str, Outcome | None]] = []

    def __call__(self, item: Queued, outcome: Outcome | None) -> None:
        self.done.append((item.report.havip_id, outcome))


class Flaky(FakeControlPlane):
    """Unreachable ``failures`` times, then answers; HaVip ``gone`` is refused alone."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures, self.calls = failures, 0
        self.sent: list[list[str]] = []

    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ApiError(0, "ConnectionFailed", "down")
        self.sent.append([r.havip_id for r in reports])
        return [
            ReportBatchItem(error=ReportRefusal(code="NotFound.HaVip", message="no such HaVip"))
            if r.havip_id == "gone"
            else ReportBatchItem(outcome=Outcome.HOLDER_CHANGED)
            for r in reports
        ]


def drain(r: Reporter, steps: int = 10) -> None:
    for _ in range(steps):
        r.step(idle_timeout=0)


def test_the_reporter_retries_while_down_and_drops_final_refusals() -> None:
    control, done = Flaky(failures=3), Collect()
    r = Reporter(control, ReportSettings(backoff=(0.001,)), done)
    r.put(queued("havip-1"))
    r.put(queued("gone"))
    drain(r)
    assert done.done == [("havip-1", Outcome.HOLDER_CHANGED), ("gone", None)]
    assert control.calls == 4 and control.sent == [["havip-1", "gone"]], "one batch, retried while down"
    assert r.pending() == 0 and r.failures == 0


def test_the_queue_goes_in_order_in_batches_of_batch_max() -> None:
    control, done = Flaky(failures=0), Collect()
    r = Reporter(control, ReportSettings(batch_max=2), done)
    for n in range(5):
        r.put(queued(f"havip-{n}"))
    drain(r)
    assert control.sent == [["havip-0", "havip-1"], ["havip-2", "havip-3"], ["havip-4"]]
    assert done.done == [(f"havip-{n}", Outcome.HOLDER_CHANGED) for n in range(5)]


class Refusing(FakeControlPlane):
    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        raise ApiError(403, "Forbidden.NotThisHost", "not your host")


def test_a_batch_refused_whole_settles_every_report_of_it() -> None:
    done = Collect()
    r = Reporter(Refusing(), ReportSettings(), done)
    r.put(queued("havip-1", claim=True))
    r.put(queued("havip-2", ReportKind.REFUSED))
    drain(r)
    assert done.done == [("havip-1", None), ("havip-2", None)] and r.pending() == 0


def test_the_wire_body_is_the_contract() -> None:
    rep = Report(
        havip_id="h", interface_id="e", kind=ReportKind.SPLIT_BRAIN, at=AT, cause="discovery-timer", others=["e2"]
    )
    body = rep.model_dump(mode="json", exclude_defaults=True)
    assert body == {
        "havip_id": "h",
        "interface_id": "e",
        "kind": "split-brain",
        "at": "2026-12-02T12:00:00Z",
        "cause": "discovery-timer",
        "others": ["e2"],
    }


def test_a_full_queue_drops_refusals_first_and_settles_a_dropped_claim() -> None:
    done = Collect()
    r = Reporter(Flaky(failures=0), ReportSettings(queue_max=3, batch_max=1), done)
    r.put(queued("c1", claim=True, n=1))
    r.put(queued("r1", ReportKind.REFUSED))
    r.put(queued("c2", claim=True, n=3))
    r.put(queued("c3", claim=True, n=4))  # full: the refusal goes, no claim
    assert [q.report.havip_id for q in r.queued()] == ["c1", "c2", "c3"]
    assert done.done == []
    r.put(queued("c4", claim=True, n=5))  # only claims left: the oldest not in flight goes, and is settled
    assert [q.report.havip_id for q in r.queued()] == ["c1", "c3", "c4"]
    assert done.done == [("c2", None)]


class Buggy(Flaky):
    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("a bug, not an ApiError")
        return super().report(reports)


def test_an_unexpected_exception_goes_to_the_loop_runner_and_the_batch_stays() -> None:
    done = Collect()
    r = Reporter(Buggy(failures=0), ReportSettings(), done)
    r.put(queued("havip-1"))
    with pytest.raises(RuntimeError):
        r.step(idle_timeout=0)
    assert r.pending() == 1, "the batch is still at the head"
    r.step(idle_timeout=0)
    assert done.done == [("havip-1", Outcome.HOLDER_CHANGED)]


@pytest.mark.parametrize(
    ("batch_max", "queue_max"), [(0, 100), (1001, 10_000), (10, 10)], ids=["zero", "over", "queue"]
)
def test_report_settings_stay_inside_what_the_control_plane_accepts(batch_max: int, queue_max: int) -> None:
    with pytest.raises(ValueError, match="batch_max"):
        ReportSettings(batch_max=batch_max, queue_max=queue_max)
