"""Delivers the agent's reports (claims, refusals, split brains) to the control plane.

The claim path's events become reports (``contract.agents.Report``, typed kinds) queued
here; the claim path never waits for the control plane. ``Reporter.step`` (one loop of
``havip.agent.loops``) sends the queue in order, in batches of up to
``ReportSettings.batch_max`` (a mass failover queues a report per VIP: one request and
one transaction each would keep the control plane minutes behind), and, while the
control plane is unreachable or failing (transport error, 5xx, 429), retries the same
batch after the delays of ``ReportSettings.backoff`` (the last repeats). A report the
control plane refuses (the HaVip was deleted meanwhile, ...: an error in its place of the
answer, or a 4xx for the whole batch) is final: logged and dropped. Every finished
delivery calls ``on_done(queued, outcome or None)``.

A full queue drops its oldest report that switched no route (refused, split brain, ...)
first; only a queue of nothing but local claims drops its oldest claim, and settles it
with ``on_done(queued, None)`` so its local claim retires instead of pinning the route.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from havip.agent.claims import Claimed
from havip.agent.control import ControlPlane
from havip.agent.logs import event
from havip.agent.settings import ReportSettings
from havip.client import ApiError
from havip.client.errors import NO_RESPONSE
from havip.contract.agents import Report, ReportBatchItem, ReportRefusal
from havip.domain.claims import Outcome

log = logging.getLogger("havip.agent.reporter")


@dataclass(frozen=True, eq=False)
class Queued:
    """A report waiting for the control plane, and the local claim it settles (if the
    agent switched a route for it)."""

    report: Report
    claim: Claimed | None = None

    @property
    def local_claim(self) -> bool:
        return self.claim is not None


def retryable(exc: ApiError) -> bool:
    """Transport failures (no status), server errors and throttling are worth retrying."""
    return exc.status == NO_RESPONSE or exc.status >= 500 or exc.status in (408, 429)


Done = Callable[[Queued, Outcome | None], None]


class Reporter:
    def __init__(self, control: ControlPlane, settings: ReportSettings, on_done: Done) -> None:
        self._control, self._settings, self._on_done = control, settings, on_done
        self._queue: collections.deque[Queued] = collections.deque()
        self._in_flight = 0  # the head's reports being sent
        self._cond = threading.Condition()
        self._stopping = False
        self._attempt = 0  # failed attempts at the head batch
        self.failures = 0  # consecutive failed attempts (0: the control plane answers)

    def wake(self) -> None:
        """End a step's wait: the agent stops."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def put(self, item: Queued) -> None:
        dropped: Queued | None = None
        with self._cond:
            if len(self._queue) >= self._settings.queue_max:
                dropped = self._drop_one()
            self._queue.append(item)
            self._cond.notify()
        if dropped is not None:
            event(
                log, "report-dropped", havip=dropped.report.havip_id, kind=dropped.report.kind, reason="queue-full",
                level=logging.WARNING,
            )  # fmt: skip
            if dropped.local_claim:
                self._on_done(dropped, None)

    def _drop_one(self) -> Queued:
        """Remove the oldest report that switched no route, else the oldest (a claim).
        The head may be in flight; it is never taken away from the sender."""
        first = min(max(self._in_flight, 1), len(self._queue) - 1)
        for i in range(first, len(self._queue)):
            if not self._queue[i].local_claim:
                item = self._queue[i]
                del self._queue[i]
                return item
        item = self._queue[first]
        del self._queue[first]
        return item

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def queued(self) -> list[Queued]:
        """The waiting reports, oldest first (a copy)."""
        with self._cond:
            return list(self._queue)

    def _next(self, timeout: float | None) -> list[Queued]:
        """The head of the queue, up to ``batch_max`` reports (empty when stopping or
        when nothing came within ``timeout``; None: until something comes or ``wake``)."""
        with self._cond:
            if not self._queue and not self._stopping:
                self._cond.wait(timeout)
            if self._stopping or not self._queue:
                return []
            batch = list(itertools.islice(self._queue, self._settings.batch_max))
            self._in_flight = len(batch)
            return batch

    def _settle(self, batch: list[Queued]) -> None:
        """The batch is answered: out of the queue (the head, unless a full queue dropped some)."""
        with self._cond:
            sent = {id(r) for r in batch}
            while self._queue and id(self._queue[0]) in sent:
                self._queue.popleft()
            if any(id(r) in sent for r in self._queue):
                self._queue = collections.deque(r for r in self._queue if id(r) not in sent)
            self._in_flight = 0

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)

    def step(self, idle_timeout: float | None = None) -> None:
        """Send the head batch once: settled, or backed off for a retry. An unexpected
        exception (a bug) leaves the batch at the head and goes to the loop runner."""
        batch = self._next(idle_timeout)
        if not batch:
            return
        try:
            answers = self._control.report([q.report for q in batch])
            if len(answers) != len(batch):
                raise ValueError(f"{len(answers)} answers to a batch of {len(batch)} reports")
        except ApiError as exc:
            if retryable(exc):
                if self._attempt == 0:
                    event(log, "report-retry", count=len(batch), error=exc.message, level=logging.WARNING)
                self.failures += 1
                delays = self._settings.backoff
                self._sleep(delays[min(self._attempt, len(delays) - 1)])
                self._attempt += 1
                return
            answers = [ReportBatchItem(error=ReportRefusal(code=exc.code, message=exc.message))] * len(batch)
        except Exception:
            self.failures += 1
            self._attempt += 1
            with self._cond:
                self._in_flight = 0
            raise
        self._attempt, self.failures = 0, 0
        self._settle(batch)
        for item, answer in zip(batch, answers, strict=True):
            self._done(item, answer)

    def _done(self, item: Queued, answer: ReportBatchItem) -> None:
        rep = item.report
        if answer.error is not None or answer.outcome is None:
            message = answer.error.message if answer.error is not None else "no outcome"
            event(log, "report-rejected", havip=rep.havip_id, kind=rep.kind, error=message, level=logging.WARNING)
        else:
            event(
                log, "report-delivered", havip=rep.havip_id, interface=rep.interface_id, kind=rep.kind,
                outcome=answer.outcome,
            )  # fmt: skip
        self._on_done(item, answer.outcome if answer.error is None else None)
