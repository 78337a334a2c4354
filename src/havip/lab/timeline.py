"""What a failover looked like: a pure analysis of the probe's answers and the events.

Times are CLOCK_REALTIME nanoseconds from one machine: the supervisor's injection, the
agent's kernel receive timestamp of the new holder's GARP and its route ack (the
``holder_changed`` event's ``at`` and ``latency_us``), and the probe's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from havip.lab.probe import Answer


@dataclass(frozen=True)
class Timeline:
    mode: str
    old_holder: str
    new_holder: str
    injected_ns: int
    garp_seen_ns: int | None
    route_switched_ns: int | None
    first_answer_ns: int | None  # first probe answered by the new holder
    last_old_answer_ns: int | None  # last answer from the old holder (requests sent after injection)
    lost_probes: int  # requests sent after injection, before the first new answer, never answered
    stale_answers_after_switch: int  # answers from a non-holder to requests sent after the switch

    def ms(self, ns: int | None) -> float | None:
        return None if ns is None else (ns - self.injected_ns) / 1e6

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "old_holder": self.old_holder,
            "new_holder": self.new_holder,
            "injected_ns": self.injected_ns,
            "garp_seen_ms": self.ms(self.garp_seen_ns),
            "route_switched_ms": self.ms(self.route_switched_ns),
            "first_answer_ms": self.ms(self.first_answer_ns),
            "last_old_answer_ms": self.ms(self.last_old_answer_ns),
            "switch_latency_ms": None
            if self.route_switched_ns is None or self.garp_seen_ns is None
            else (self.route_switched_ns - self.garp_seen_ns) / 1e6,
            "lost_probes": self.lost_probes,
            "stale_answers_after_switch": self.stale_answers_after_switch,
        }


def analyse(
    mode: str,
    old: str,
    new: str,
    injected_ns: int,
    garp_ns: int | None,
    latency_us: int | None,
    answers: Sequence[Answer],
    interval_ns: int,
    stale_after_ns: int | None = None,
) -> Timeline:
    """``stale_after_ns``: when the host the probe's requests enter switched (several hosts:
    the client's host follows the claimant's by its claim message); answers from a
    non-holder to requests sent after it are stale. None: the claimant's switch."""
    after = sorted((a for a in answers if a.sent_ns >= injected_ns), key=lambda a: a.sent_ns)
    switched = None if garp_ns is None else garp_ns + (latency_us or 0) * 1000
    switched_for_stale: int | None = switched
    if stale_after_ns is not None and switched is not None:
        switched_for_stale = max(switched, stale_after_ns)
    first_new = next((a for a in after if a.instance == new), None)
    olds = [a for a in after if a.instance == old]
    stale = 0
    if switched_for_stale is not None:
        stale = sum(1 for a in after if a.instance != new and a.sent_ns > switched_for_stale)
    lost = 0
    if first_new is not None and interval_ns > 0:
        window = [a for a in after if a.sent_ns < first_new.sent_ns]
        expected = max(0, (first_new.sent_ns - injected_ns) // interval_ns)
        lost = max(0, int(expected) - len(window))
    return Timeline(
        mode=mode,
        old_holder=old,
        new_holder=new,
        injected_ns=injected_ns,
        garp_seen_ns=garp_ns,
        route_switched_ns=switched,
        first_answer_ns=first_new.recv_ns if first_new else None,
        last_old_answer_ns=olds[-1].recv_ns if olds else None,
        lost_probes=lost,
        stale_answers_after_switch=stale,
    )
