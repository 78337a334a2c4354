"""The agent's control-plane port: fetch the host's desired state, send reports, typed.

``ControlPlane.fetch`` long-polls the desired state (the domain's one model,
``havip.domain.desired.DesiredState``: the wire model is validated and converted here, at
the edge, and nowhere else in the agent) and carries the heartbeat; ``report`` sends a
batch of ``contract.agents.Report`` and returns one ``ReportBatchItem`` per report.
``HttpControlPlane`` is the real one over ``havip.client.HavipClient``; unit tests use
``FakeControlPlane``. Failures are the client's ``ApiError`` (a transport failure has no
status), so the loops tell "unreachable" from "refused" in one way.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from havip.client import ApiError, HavipClient
from havip.client.errors import NO_RESPONSE
from havip.contract import agents as wire
from havip.contract.agents import Report, ReportBatchItem
from havip.domain.claims import Outcome, ReportKind
from havip.domain.desired import DesiredState


@dataclass(frozen=True)
class Heartbeat:
    """What each fetch tells the control plane about the agent."""

    agent_version: str
    applied_revision: int | None


class ControlPlane(Protocol):
    def fetch(self, since_revision: int | None, wait: float | None, heartbeat: Heartbeat) -> DesiredState | None:
        """The desired state; with ``since_revision`` and ``wait`` a long poll that answers
        None when nothing changed within ``wait`` seconds."""
        ...

    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        """Send a batch (applied in order in one transaction): one item per report, in order."""
        ...


class HttpControlPlane:
    def __init__(self, client: HavipClient, host: str) -> None:
        self.client, self.host = client, host

    def fetch(self, since_revision: int | None, wait: float | None, heartbeat: Heartbeat) -> DesiredState | None:
        raw = self.client.desired_state(
            self.host,
            since_revision=since_revision,
            wait=wait,
            agent_version=heartbeat.agent_version,
            applied_revision=heartbeat.applied_revision,
        )
        return None if raw is None else wire.DesiredState.model_validate(raw).to_domain()

    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        answers = self.client.report_batch(
            self.host, [r.model_dump(mode="json", exclude_defaults=True) for r in reports]
        )
        return [ReportBatchItem.model_validate(a) for a in answers]


class FakeControlPlane:
    """A control plane in memory: serves the desired states a test puts, records reports.

    ``put(state)`` makes a new revision visible (a waiting long poll answers at once);
    ``down`` makes every call fail as an unreachable server does, ``reports_down`` only
    the reports; ``answer`` decides what
    becomes of each report (default: a claim or probe answer changes the holder, a refusal
    is refused, a split brain recorded)."""

    def __init__(self, state: DesiredState | None = None) -> None:
        self._cond = threading.Condition()
        self.state = state
        self.down = False
        self.reports_down = False
        self.reports: list[Report] = []
        self.fetches: list[tuple[int | None, Heartbeat]] = []
        self.answer: Callable[[Report], ReportBatchItem] = _default_answer
        self.batches: collections.Counter[int] = collections.Counter()

    def put(self, state: DesiredState) -> None:
        with self._cond:
            self.state = state
            self._cond.notify_all()

    def _unreachable(self) -> ApiError:
        return ApiError(NO_RESPONSE, "Unreachable", "the fake control plane is down")

    def fetch(self, since_revision: int | None, wait: float | None, heartbeat: Heartbeat) -> DesiredState | None:
        with self._cond:
            self.fetches.append((since_revision, heartbeat))
            if self.down:
                raise self._unreachable()
            if since_revision is not None and wait:
                self._cond.wait_for(
                    lambda: self.down or (self.state is not None and self.state.revision != since_revision), wait
                )
                if self.down:
                    raise self._unreachable()
            if self.state is None:
                raise ApiError(404, "NotFound.Host", "no desired state yet")
            if since_revision is not None and self.state.revision == since_revision:
                return None
            return self.state

    def report(self, reports: Sequence[Report]) -> list[ReportBatchItem]:
        with self._cond:
            if self.down or self.reports_down:
                raise self._unreachable()
            self.reports.extend(reports)
            self.batches[len(reports)] += 1
            return [self.answer(r) for r in reports]


_OUTCOMES = {
    ReportKind.CLAIM: Outcome.HOLDER_CHANGED,
    ReportKind.PROBE_ANSWER: Outcome.HOLDER_CHANGED,
    ReportKind.REFUSED: Outcome.REFUSED,
    ReportKind.SPLIT_BRAIN: Outcome.RECORDED,
}


def _default_answer(report: Report) -> ReportBatchItem:
    return ReportBatchItem(outcome=_OUTCOMES[report.kind])
