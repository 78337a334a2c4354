"""Ends the tracked flows of a VIP that moved or of an EIP that went away, off the claim path.

The claim path switches the route first and then only enqueues a ``Job`` here, so a
claim never waits for conntrack. ``FlowResetter``'s thread dumps the VPC's conntrack
zone, lets ``havip.agent.flows.select`` pick the entries and the kicks, deletes and
sends them, and records what it did (metrics, one log line, ``last``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from havip.agent.dataplane.errors import DataplaneError
from havip.agent.flows import Flow, Kick, select
from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics

log = logging.getLogger("havip.agent.flows")


class FlowTable(Protocol):
    """What the resetter needs from the data plane (``dataplane.conntrack.Conntrack``)."""

    def flows(self, zone: int | None = None) -> list[Flow]: ...
    def delete(self, flow: Flow) -> bool: ...
    def kick(self, k: Kick) -> None: ...


@dataclass(frozen=True)
class Job:
    reason: str  # "switch" (a VIP moved) or "eip-removed"
    havip_id: str | None
    zone: int
    addresses: frozenset[str]
    kick: bool
    requested_ns: int  # the route switch's ack (or when the job was made)


@dataclass(frozen=True)
class Done:
    job: Job
    deleted: int
    kicked: int
    finished_ns: int

    @property
    def latency_us(self) -> int:
        return max(0, (self.finished_ns - self.job.requested_ns) // 1000)


class FlowResetter:
    def __init__(self, table: FlowTable, metrics: AgentMetrics) -> None:
        self.table, self.metrics = table, metrics
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self.last: Done | None = None
        self._thread = threading.Thread(target=self._run, name="havip-flows", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(5)

    def put(self, job: Job) -> None:
        self._jobs.put(job)

    def idle(self) -> bool:
        return self._jobs.unfinished_tasks == 0

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self.last = self.run(job)
            except (DataplaneError, OSError) as e:
                event(log, "flows-reset-failed", havip=job.havip_id if job else None, error=str(e), level=logging.ERROR)
            finally:
                self._jobs.task_done()

    def run(self, job: Job) -> Done:
        chosen = select(self.table.flows(job.zone), job.zone, job.addresses, job.kick)
        deleted = sum(1 for f in chosen.delete if self.table.delete(f))
        for k in chosen.kick:
            self.table.kick(k)
        done = Done(job, deleted, len(chosen.kick), time.time_ns())
        self.metrics.flows.labels(action="deleted").inc(deleted)
        self.metrics.flows.labels(action="kicked").inc(len(chosen.kick))
        if deleted or chosen.kick:
            event(
                log, "flows-reset", havip=job.havip_id, reason=job.reason, count=deleted, resets=len(chosen.kick),
                latency_us=done.latency_us,
            )  # fmt: skip
        return done
