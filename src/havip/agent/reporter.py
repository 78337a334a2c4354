"""Delivers the agent's reports (claims, refusals, split brains) to the control plane.

The claim path enqueues and returns at once: the data plane never waits for the
control plane. ``Reporter`` runs one thread that sends the queue in order, in batches
of up to ``ReportSettings.batch_max`` (a mass failover queues a report per VIP: one
request and one transaction each would keep the control plane minutes behind), and,
while the control plane is unreachable or failing (transport error, 5xx, 429), retries
the same batch after the delays of ``ReportSettings.backoff`` (the last repeats). A
report the control plane refuses (the HaVip was deleted meanwhile, ...: an error in its
place of the answer, or a 4xx for the whole batch) is final: logged and dropped. Every
finished delivery calls ``on_done(report, outcome or None)``. A full queue drops its
oldest report that switched no route (refused, split brain, ...) first; only a queue of
nothing but local claims drops its oldest claim, and settles it with ``on_done(report,
None)`` so its local claim retires instead of pinning the route. The HTTP call is behind
the ``ReportSink`` protocol so tests can drive it with a fake.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from havip.agent.logs import event
from havip.agent.settings import ReportSettings
from havip.client import ApiError
from havip.client.errors import NO_RESPONSE

log = logging.getLogger("havip.agent.reporter")


class ReportSink(Protocol):
    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        """One answer per body, in order: ``{"outcome": ...}`` or ``{"error": {"code", "message"}}``."""
        ...


@dataclass(frozen=True)
class Report:
    havip_id: str
    interface_id: str
    kind: str  # claim | probe-answer | refused | split-brain
    at_ns: int
    cause: str = ""
    latency_us: int | None = None
    others: tuple[str, ...] = ()
    local_claim: bool = field(default=False, compare=False)  # the agent switched a route for it

    def body(self) -> dict[str, Any]:
        at = dt.datetime.fromtimestamp(self.at_ns / 1e9, tz=dt.UTC)
        out: dict[str, Any] = {
            "havip_id": self.havip_id,
            "interface_id": self.interface_id,
            "kind": self.kind,
            "at": at.isoformat().replace("+00:00", "Z"),
            "cause": self.cause,
        }
        if self.latency_us is not None:
            out["latency_us"] = self.latency_us
        if self.others:
            out["others"] = list(self.others)
        return out


def retryable(exc: ApiError) -> bool:
    """Transport failures (no status), server errors and throttling are worth retrying."""
    return exc.status == NO_RESPONSE or exc.status >= 500 or exc.status in (408, 429)


Done = Callable[[Report, str | None], None]
LoopError = Callable[[BaseException], None]


class Reporter:
    def __init__(
        self, sink: ReportSink, host: str, settings: ReportSettings, on_done: Done, on_error: LoopError | None = None
    ) -> None:
        if settings.queue_max <= settings.batch_max:
            raise ValueError(f"queue_max ({settings.queue_max}) must exceed batch_max ({settings.batch_max})")
        self._sink, self._host, self._settings, self._on_done = sink, host, settings, on_done
        self._on_error = on_error
        self._queue: collections.deque[Report] = collections.deque()
        self._in_flight = 0  # the head's reports being sent
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="havip-reporter", daemon=True)
        self.failures = 0  # consecutive failed attempts (0: the control plane answers)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def put(self, rep: Report) -> None:
        dropped: Report | None = None
        with self._cond:
            if len(self._queue) >= self._settings.queue_max:
                dropped = self._drop_one()
            self._queue.append(rep)
            self._cond.notify()
        if dropped is not None:
            event(
                log, "report-dropped", havip=dropped.havip_id, kind=dropped.kind, reason="queue-full",
                level=logging.WARNING,
            )  # fmt: skip
            if dropped.local_claim:
                self._on_done(dropped, None)

    def _drop_one(self) -> Report:
        """Remove the oldest report that switched no route, else the oldest (a claim).
        The head may be in flight; it is never taken away from the sender."""
        first = min(max(self._in_flight, 1), len(self._queue) - 1)
        for i in range(first, len(self._queue)):
            if not self._queue[i].local_claim:
                rep = self._queue[i]
                del self._queue[i]
                return rep
        rep = self._queue[first]
        del self._queue[first]
        return rep

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def queued(self) -> list[Report]:
        """The waiting reports, oldest first (a copy)."""
        with self._cond:
            return list(self._queue)

    def _next(self) -> list[Report]:
        """The head of the queue, up to ``batch_max`` reports (empty when stopping)."""
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return []
            batch = list(itertools.islice(self._queue, self._settings.batch_max))
            self._in_flight = len(batch)
            return batch

    def _settle(self, batch: list[Report]) -> None:
        """The batch is answered: out of the queue (the head, unless a full queue dropped some)."""
        with self._cond:
            sent = {id(r) for r in batch}
            while self._queue and id(self._queue[0]) in sent:
                self._queue.popleft()
            if any(id(r) in sent for r in self._queue):
                self._queue = collections.deque(r for r in self._queue if id(r) not in sent)
            self._in_flight = 0

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopped; False when stopping."""
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)
            return not self._stopping

    def _retry(self, attempt: int) -> bool:
        """Back off before attempt ``attempt + 1`` of the head report; False when stopping."""
        self.failures += 1
        delays = self._settings.backoff
        return self._sleep(delays[min(attempt, len(delays) - 1)])

    def _run(self) -> None:
        attempt = 0
        while batch := self._next():
            try:
                answers = list(self._sink.report_batch(self._host, [r.body() for r in batch]))
                if len(answers) != len(batch):
                    raise ValueError(f"{len(answers)} answers to a batch of {len(batch)} reports")
            except ApiError as exc:
                if retryable(exc):
                    if attempt == 0:
                        event(log, "report-retry", count=len(batch), error=exc.message, level=logging.WARNING)
                    if not self._retry(attempt):
                        return
                    attempt += 1
                    continue
                answers = [{"error": {"code": exc.code, "message": exc.message}}] * len(batch)
            except Exception as exc:  # the thread must outlive any bug: log, count, retry later
                event(log, "reporter-error", count=len(batch), level=logging.ERROR, exc_info=True)
                if self._on_error is not None:
                    self._on_error(exc)
                if not self._retry(attempt):
                    return
                attempt += 1
                continue
            attempt, self.failures = 0, 0
            self._settle(batch)
            for rep, answer in zip(batch, answers, strict=True):
                self._done(rep, answer)

    def _done(self, rep: Report, answer: Mapping[str, Any]) -> None:
        error = answer.get("error")
        outcome: str | None = None
        if error is not None:
            message = error.get("message") if isinstance(error, Mapping) else error
            event(log, "report-rejected", havip=rep.havip_id, kind=rep.kind, error=message, level=logging.WARNING)
        else:
            outcome = str(answer.get("outcome"))
            event(
                log, "report-delivered", havip=rep.havip_id, interface=rep.interface_id, kind=rep.kind, outcome=outcome
            )
        self._on_done(rep, outcome)
