"""Writes a HaVip's history: a new entry or a merge into a refusal, and the per-HaVip retention.

Callers: ``havips.record_event`` (every writer of an event) and the use cases that wrote
events, once per HaVip before they commit (``prune``). Both run inside the caller's write unit
of work, whose write lock serialises them with every other writer on both engines: two reports
merged at once cannot lose a count. The rules are ``havip.domain.history``'s; this module only
loads what they need (a few indexed queries a HaVip, bounded) and applies their answer.
"""

from __future__ import annotations

import datetime as dt

from havip.domain import history
from havip.domain.history import Retention
from havip.domain.model import EventKind, HaVipEvent
from havip.service.ports import UnitOfWork

_OTHER_KINDS = [k for k in EventKind if k is not EventKind.CLAIM_REFUSED]


def record(uow: UnitOfWork, event: HaVipEvent, *, window: dt.timedelta = history.MERGE_WINDOW) -> HaVipEvent:
    """Add ``event`` to its HaVip's history, or merge it into the refusal it repeats; returns the
    entry that holds it (a new one, or the one merged into)."""
    if event.kind is EventKind.CLAIM_REFUSED:
        interface_id, reason, cause = history.merge_key(event)
        same = uow.events.find(
            limit=1,
            order_by="-at",
            havip_id=event.havip_id,
            kind=EventKind.CLAIM_REFUSED,
            interface_id=interface_id,
            reason=reason,
            cause=cause,
        )
        if same:
            other = uow.events.find(limit=1, order_by="-at", havip_id=event.havip_id, kind=_OTHER_KINDS)
            if history.merges_into(same[0], event, other[0].at if other else None, window):
                history.merge(same[0], event)
                return same[0]
    uow.events.add(event)
    return event


def prune(uow: UnitOfWork, havip_id: str, retention: Retention, now: dt.datetime) -> int:
    """Enforce ``retention`` on one HaVip's history; returns how many entries it dropped (at most
    ``history.PRUNE_BATCH`` for age and as many for the count). Ages count back from the newest
    entry (``history.horizon``), which is never after ``now`` (the server's clock) but for the
    5 s a report may be ahead: an entry not expired by ``now`` is not expired by it either, so
    the common case (nothing old, not too many) costs two indexed queries."""
    oldest = uow.events.find(limit=1, order_by="at", havip_id=havip_id)
    if not oldest:
        return 0
    since: dt.datetime | None = None

    def horizon() -> dt.datetime:
        newest = uow.events.find(limit=1, order_by="-at", havip_id=havip_id)
        return history.horizon(newest[0]) if newest else now

    dropped = 0
    if history.expired(oldest[0], now + history.FUTURE_SLACK, retention):
        since = horizon()
        for event in uow.events.find(limit=history.PRUNE_BATCH, order_by="at", havip_id=havip_id):
            if history.expired(event, since, retention):
                uow.events.remove(event)
                dropped += 1
        if dropped:
            uow.flush()
    excess = uow.events.count(havip_id=havip_id) - retention.max_count
    if excess > 0:
        since = since or horizon()
        batch = min(excess, history.PRUNE_BATCH)
        refusals = uow.events.find(limit=batch, order_by="at", havip_id=havip_id, kind=EventKind.CLAIM_REFUSED)
        others: list[HaVipEvent] = []
        if len(refusals) < batch:
            others = uow.events.find(limit=batch, order_by="at", havip_id=havip_id, kind=list(history.DROPPABLE))
        for event in history.count_victims(refusals, others, excess, since, retention):
            uow.events.remove(event)
            dropped += 1
        uow.flush()
    return dropped
