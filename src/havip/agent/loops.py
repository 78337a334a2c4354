"""One runner for every long-running loop of the agent.

A loop is a ``step``: one unit of work that blocks for at most a short while (a select,
a queue get, a long poll) and returns. ``Loops`` runs each step on its own thread until
the agent stops, and handles failure the same way for all of them:

- an exception out of a step is logged with its traceback (``loop-error``), counted in
  ``havip_agent_loop_errors_total{loop}``, and the step runs again after the next delay
  of its ``LoopPolicy.backoff`` (the last repeats; a step that succeeds resets it): never
  a dead thread in a live process, never a hot spin;
- a step that raises ``LoopExit``, or that fails ``give_up_after`` times in a row, or a
  thread that ends in any other way while the agent runs, stops the whole agent:
  ``fatal`` says which loop and why, and ``havip agent`` exits non-zero so that its
  service manager restarts it.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics
from havip.agent.settings import LoopPolicy

log = logging.getLogger("havip.agent")


class LoopName(enum.StrEnum):
    CLAIMS = "claims"  # GARPs, NFLOG refusals and discovery rounds: the claim path
    REPORTER = "reporter"
    FOLLOW = "follow"  # long poll of the desired state and reconcile
    FLOWS = "flows"  # flow resets


class LoopExit(Exception):
    """Raised by a step that cannot go on: the agent stops and exits non-zero."""


@dataclass(frozen=True)
class Fatal:
    loop: LoopName
    reason: str


class Loops:
    def __init__(self, metrics: AgentMetrics, stop: threading.Event) -> None:
        self.metrics, self.stop_event = metrics, stop
        self._threads: list[threading.Thread] = []
        self._wakers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.fatal: Fatal | None = None

    def spawn(
        self, name: LoopName, step: Callable[[], None], policy: LoopPolicy, wake: Callable[[], None] | None = None
    ) -> threading.Thread:
        """Run ``step`` on a thread of its own from ``start()`` on; ``wake`` interrupts a
        step that blocks, when the agent stops."""
        thread = threading.Thread(target=self._run, args=(name, step, policy), name=f"havip-{name}", daemon=True)
        self._threads.append(thread)
        if wake is not None:
            self._wakers.append(wake)
        return thread

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask every loop to end and wait for them (at most ``timeout`` each)."""
        self.stop_event.set()
        for wake in self._wakers:
            wake()
        for t in self._threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout)

    def alive(self) -> list[str]:
        return [t.name for t in self._threads if t.is_alive()]

    def _give_up(self, name: LoopName, reason: str) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = Fatal(name, reason)
        event(log, "loop-exit", kind=name, error=reason, level=logging.CRITICAL)
        self.stop_event.set()
        for wake in self._wakers:
            wake()

    def _run(self, name: LoopName, step: Callable[[], None], policy: LoopPolicy) -> None:
        failures = 0
        try:
            while not self.stop_event.is_set():
                try:
                    step()
                    failures = 0
                except LoopExit as e:
                    self._give_up(name, str(e) or type(e).__name__)
                    return
                except Exception as e:
                    failures += 1
                    event(log, "loop-error", kind=name, count=failures, level=logging.ERROR, exc_info=True)
                    self.metrics.loop_errors.labels(loop=name.value).inc()
                    if policy.give_up_after is not None and failures >= policy.give_up_after:
                        self._give_up(name, f"{failures} failures in a row, the last: {e!r}")
                        return
                    self.stop_event.wait(policy.delay(failures))
        except BaseException as e:  # SystemExit, KeyboardInterrupt, ... in a thread: the agent cannot go on
            self._give_up(name, repr(e))
            raise
