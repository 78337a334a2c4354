"""A HaVip's history that a flood cannot bury: when refusals merge, and what retention drops.

Pure rules over ``model.HaVipEvent``; ``havip.service.history`` loads what they need inside the
write transaction that records an event and applies what they return. Callers pass the times in.

Merging. A non-member that floods GARPs for a VIP makes the agent report a refusal per frame
the data plane lets through (up to 5/s per port), and one entry per refusal pushes the failover
that mattered off the first page. So a new ``claim_refused`` is merged into an existing entry —
its ``count`` grows, its ``last_seen`` moves, its ``at`` (the first occurrence) stays — when:

- the entry is the newest refusal of the same HaVip from the same interface, for the same
  reason and cause (``merge_key``), and
- the new refusal comes at most ``MERGE_WINDOW`` after the entry's ``last_seen`` (a flood with
  no pause longer than that is one entry, however long it lasts), and not before its ``at``, and
- no event of another kind (a holder change, split brain, (un)association, ...) was recorded
  for the HaVip at or after the entry's ``at``: refusals after a failover start a new entry, so
  the history still reads in order ("refused x40, holder changed, refused x12").

Nothing but refusals ever merges: every holder change and split brain is an entry of its own.

Retention, per HaVip (``Retention``), enforced when an event is written: an entry last seen
more than ``max_age`` before the HaVip's newest entry (``horizon``) is dropped; beyond ``max_count`` entries the oldest are dropped, refusals first, then the other
kinds that are not history-critical — but never a holder change, a holder cleared or a split
brain younger than ``max_age``, even when that leaves more than ``max_count`` entries. The work
is bounded (``PRUNE_BATCH`` entries a HaVip per write), so one request never deletes a backlog
at once; the next writes finish it. Ages count back from the newest entry, not from the server's
clock: the newest entry is never later than the server's now (reports from the future are
refused), so whatever is younger than ``max_age`` by the clock is kept too; and a history that
nothing writes to is left as it is (there is no periodic sweep), whatever the clocks say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from havip.domain.model import EventKind, HaVipEvent

MERGE_WINDOW = dt.timedelta(seconds=60)
"""The longest pause between two refusals of one (HaVip, interface, reason, cause) that still
merges them: a flood reads as one entry, the same refusal an hour later as a new one."""

PROTECTED = frozenset({EventKind.HOLDER_CHANGED, EventKind.HOLDER_CLEARED, EventKind.SPLIT_BRAIN})
"""Kinds the count limit never drops (only age does): the history of who held the VIP."""

FUTURE_SLACK = dt.timedelta(seconds=10)
"""How far after the server's clock the newest entry may be (reports up to ``claims.FUTURE_TOLERANCE``
ahead are accepted), with a margin: an entry not expired by the clock plus this is not expired by
the newest entry either, so the newest need not be read."""

PRUNE_BATCH = 100
"""At most this many entries of one HaVip are dropped by one write."""

MergeKey = tuple[str | None, str, str]


@dataclass(frozen=True, kw_only=True)
class Retention:
    """How much of each HaVip's history the store keeps (``havip serve`` options)."""

    max_age: dt.timedelta = dt.timedelta(days=30)
    """Entries last seen this long before the HaVip's newest entry are dropped, whatever their kind."""
    max_count: int = 1000
    """At most this many entries per HaVip, unless more holder changes and split brains younger
    than ``max_age`` remain (they are never dropped for the count)."""

    def __post_init__(self) -> None:
        if self.max_age <= dt.timedelta(0):
            raise ValueError("the retention age must be positive")
        if self.max_count < 1:
            raise ValueError("the retention count must be at least 1")


def last_seen(event: HaVipEvent) -> dt.datetime:
    return event.last_seen or event.at


def horizon(newest: HaVipEvent) -> dt.datetime:
    """The time the retention ages count back from: the newest entry's latest occurrence."""
    return last_seen(newest)


def merge_key(event: HaVipEvent) -> MergeKey:
    """What two refusals must share to merge: the interface, the reason and the cause."""
    return (event.interface_id, event.reason, event.cause)


def merges_into(
    candidate: HaVipEvent | None, new: HaVipEvent, other_kind_at: dt.datetime | None, window: dt.timedelta
) -> bool:
    """Whether ``new`` is merged into ``candidate`` (the newest refusal with its key), given the
    time of the newest event of another kind of the HaVip (None: there is none)."""
    if candidate is None or new.kind is not EventKind.CLAIM_REFUSED or candidate.kind is not EventKind.CLAIM_REFUSED:
        return False
    if merge_key(candidate) != merge_key(new) or candidate.havip_id != new.havip_id:
        return False
    if new.at < candidate.at or new.at - last_seen(candidate) > window:
        return False
    return other_kind_at is None or other_kind_at < candidate.at


def merge(into: HaVipEvent, new: HaVipEvent) -> None:
    """Fold ``new`` (one or more occurrences) into ``into``: counts add, ``last_seen`` moves on."""
    into.count += new.count
    into.last_seen = max(last_seen(into), last_seen(new))


def expired(event: HaVipEvent, now: dt.datetime, retention: Retention) -> bool:
    return last_seen(event) < now - retention.max_age


def count_victims(
    refusals: Sequence[HaVipEvent], others: Sequence[HaVipEvent], excess: int, now: dt.datetime, retention: Retention
) -> list[HaVipEvent]:
    """The entries to drop so that ``excess`` fewer remain: the oldest refusals first, then the
    oldest droppable entries of other kinds (each list oldest first); never a ``PROTECTED`` kind
    younger than the retention age. Fewer than ``excess`` when nothing else may go."""
    victims: list[HaVipEvent] = []
    for event in (*refusals, *others):
        if len(victims) >= min(excess, PRUNE_BATCH):
            break
        if event.kind in PROTECTED and not expired(event, now, retention):
            continue
        victims.append(event)
    return victims


DROPPABLE = tuple(k for k in EventKind if k not in PROTECTED and k is not EventKind.CLAIM_REFUSED)
"""The kinds the count limit drops after the refusals."""
