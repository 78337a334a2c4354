"""Ends the tracked flows of a VIP that moved or of an EIP that went away, off the claim path.

The claim path switches the route first and then the agent only enqueues a ``Job`` here,
so a claim never waits for conntrack. ``FlowResetter.step`` (a loop of the agent's loop
runner) dumps the VPC's conntrack
zone, lets ``havip.agent.flows.select`` pick the entries and the kicks, deletes and
sends them, and records what it did (metrics, one log line, ``last``).
"""

from __future__ import annotations

import enum
import logging
import queue
import time
from dataclasses import dataclass

from havip.agent.flows import select
from havip.agent.kernel import FlowPort
from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics

log = logging.getLogger("havip.agent.flows")


class Reason(enum.StrEnum):
    """Why flows are reset (a log field)."""

    SWITCH = "switch"  # a VIP moved to another port
    EIP_REMOVED = "eip-removed"  # an EIP went away: its translation must not linger


@dataclass(frozen=True)
class Job:
    reason: Reason
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
    """Jobs in, flows out: ``step`` (one loop of ``havip.agent.loops``) runs one job."""

    def __init__(self, table: FlowPort, metrics: AgentMetrics) -> None:
        self.table, self.metrics = table, metrics
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self.last: Done | None = None

    def wake(self) -> None:
        """End a step's wait: the agent stops."""
        self._jobs.put(None)

    def put(self, job: Job) -> None:
        self._jobs.put(job)

    def idle(self) -> bool:
        return self._jobs.unfinished_tasks == 0

    def step(self, timeout: float | None = None) -> None:
        """Run the next job, if one comes within ``timeout`` (None: until one comes or ``wake``). A failure (the kernel's or
        a bug) goes to the loop runner: logged, counted, and the next job runs after it."""
        try:
            job = self._jobs.get(timeout=timeout)
        except queue.Empty:
            return
        try:
            if job is not None:
                self.last = self.run(job)
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
