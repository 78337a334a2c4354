"""A history that a flood cannot bury: the merge and retention rules (``domain.history``), and the
service writing them (``service.history``) over the in-memory store."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from havip.domain import history
from havip.domain.claims import ReportKind
from havip.domain.history import MERGE_WINDOW, PRUNE_BATCH, Retention
from havip.domain.model import EventKind, HaVipEvent
from havip.service import agents, havips
from havip.service.agents import ClaimReport
from havip.service.context import Ctx, Settings

from .builders import Cloud
from .test_service_agents import Pair

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def ev(
    kind: EventKind = EventKind.CLAIM_REFUSED,
    at: dt.datetime = T0,
    *,
    interface: str = "eni-c",
    reason: str = "not-a-member",
    cause: str = "garp",
    havip: str = "havip-1",
    last_seen: dt.datetime | None = None,
    ident: str = "hve-1",
) -> HaVipEvent:
    return HaVipEvent(
        ident, havip, "acc-1", kind, at, interface_id=interface, reason=reason, cause=cause, last_seen=last_seen
    )


# ---------------------------------------------------------------- the merge rule

CANDIDATE = ev(at=T0, last_seen=T0 + 30 * S)
MERGE_CASES = [
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S), None, True, id="same-key-within-the-window"),
    pytest.param(CANDIDATE, ev(at=T0 + 90 * S), None, True, id="window-counts-from-last-seen"),
    pytest.param(CANDIDATE, ev(at=T0 + 91 * S), None, False, id="pause-longer-than-the-window"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S, interface="eni-d"), None, False, id="another-interface"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S, reason="other"), None, False, id="another-reason"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S, cause="arp"), None, False, id="another-cause"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S, havip="havip-2"), None, False, id="another-havip"),
    pytest.param(CANDIDATE, ev(at=T0 - S), None, False, id="older-than-the-entry"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S), T0 + 10 * S, False, id="a-failover-came-between"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S), T0, False, id="a-failover-at-the-same-time"),
    pytest.param(CANDIDATE, ev(at=T0 + 31 * S), T0 - S, True, id="a-failover-before-the-entry"),
    pytest.param(None, ev(at=T0), None, False, id="nothing-to-merge-into"),
    pytest.param(CANDIDATE, ev(EventKind.HOLDER_CHANGED, T0 + 31 * S), None, False, id="holder-change-never-merges"),
    pytest.param(
        ev(EventKind.SPLIT_BRAIN, T0), ev(EventKind.SPLIT_BRAIN, T0 + S), None, False, id="split-brain-never-merges"
    ),
]


@pytest.mark.parametrize(("candidate", "new", "other_at", "merges"), MERGE_CASES)
def test_merge_rule(candidate: HaVipEvent | None, new: HaVipEvent, other_at: dt.datetime | None, merges: bool) -> None:
    assert history.merges_into(candidate, new, other_at, MERGE_WINDOW) is merges


def test_merge_adds_counts_and_keeps_the_first_time() -> None:
    into, new = ev(at=T0), ev(at=T0 + 5 * S)
    new.count = 3
    history.merge(into, new)
    assert (into.count, into.at, into.first_seen, into.last_seen) == (4, T0, T0, T0 + 5 * S)


def test_a_new_entry_is_seen_once_at_its_time() -> None:
    e = ev(at=T0)
    assert (e.count, e.first_seen, e.last_seen) == (1, T0, T0)


# ---------------------------------------------------------------- the retention rule

NOW = T0 + dt.timedelta(days=100)
KEEP = Retention(max_age=dt.timedelta(days=30), max_count=3)


def test_count_victims_take_refusals_first_and_never_a_young_holder_change() -> None:
    young = NOW - dt.timedelta(days=1)
    refusals = [ev(at=young, ident=f"r{i}") for i in range(2)]
    others = [ev(EventKind.ASSOCIATED, young, ident="a0"), ev(EventKind.HOLDER_CHANGED, young, ident="h0")]
    victims = history.count_victims(refusals, others, 4, NOW, KEEP)
    assert [v.id for v in victims] == ["r0", "r1", "a0"]


def test_count_victims_are_bounded_per_write() -> None:
    refusals = [ev(at=NOW, ident=f"r{i}") for i in range(PRUNE_BATCH + 5)]
    assert len(history.count_victims(refusals, [], PRUNE_BATCH + 5, NOW, KEEP)) == PRUNE_BATCH


@pytest.mark.parametrize(
    ("last_seen", "expired"),
    [
        pytest.param(NOW - dt.timedelta(days=31), True, id="older-than-the-age"),
        pytest.param(NOW - dt.timedelta(days=29), False, id="younger-than-the-age"),
    ],
)
def test_expiry_is_judged_by_the_last_occurrence(last_seen: dt.datetime, expired: bool) -> None:
    e = ev(at=NOW - dt.timedelta(days=60), last_seen=last_seen)
    assert history.expired(e, NOW, KEEP) is expired


@pytest.mark.parametrize(
    "kwargs", [pytest.param({"max_count": 0}, id="count-zero"), pytest.param({"max_age": dt.timedelta(0)}, id="age-0")]
)
def test_retention_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="retention"):
        Retention(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the service, over the in-memory store


def with_retention(ctx: Ctx, retention: Retention) -> Ctx:
    return dataclasses.replace(ctx, settings=Settings(event_retention=retention))


@pytest.fixture
def pair(cloud: Cloud) -> Pair:
    return Pair(cloud)


def refuse(pair: Pair, n: int, *, agent: Ctx | None = None, cause: str = "garp") -> None:
    """``n`` refusals of the non-member ``c`` (on h1), one a second, as the data plane reports them."""
    for _ in range(n):
        rep = ClaimReport(pair.havip_id, pair.c.id, ReportKind.REFUSED, pair.cloud.clock(), cause)
        agents.report(agent or pair.agent1, "h1", rep)


def summary(pair: Pair) -> list[tuple[str, int]]:
    return [(e.kind.value, e.count) for e in pair.events() if e.kind is not EventKind.ASSOCIATED]


def test_a_flood_of_refusals_is_one_entry(pair: Pair) -> None:
    first = pair.cloud.clock.current + S
    refuse(pair, 40)
    (entry,) = pair.events(EventKind.CLAIM_REFUSED)
    assert (entry.count, entry.at, entry.first_seen) == (40, first, first)
    assert entry.last_seen == first + 39 * 2 * S  # the clock is read twice per report


def test_a_failover_during_a_flood_stays_in_order(pair: Pair) -> None:
    refuse(pair, 10)
    pair.report(pair.a)
    refuse(pair, 12)
    pair.report(pair.b)
    assert summary(pair) == [
        ("claim_refused", 10),
        ("holder_changed", 1),
        ("claim_refused", 12),
        ("holder_changed", 1),
    ]


def test_refusals_of_two_interfaces_or_causes_are_counted_apart(pair: Pair) -> None:
    for _ in range(5):
        refuse(pair, 1)
        refuse(pair, 1, cause="arp")
        pair.report(pair.b, kind=ReportKind.REFUSED)
    counts = {(e.interface_id, e.cause): e.count for e in pair.events(EventKind.CLAIM_REFUSED)}
    assert counts == {(pair.c.id, "garp"): 5, (pair.c.id, "arp"): 5, (pair.b.id, "garp-request"): 5}


def test_a_pause_longer_than_the_window_starts_a_new_entry(pair: Pair) -> None:
    refuse(pair, 3)
    pair.cloud.clock.current += MERGE_WINDOW + S
    refuse(pair, 2)
    assert [e.count for e in pair.events(EventKind.CLAIM_REFUSED)] == [3, 2]


def test_a_batch_merges_within_its_transaction(pair: Pair) -> None:
    reps = [ClaimReport(pair.havip_id, pair.c.id, ReportKind.REFUSED, pair.cloud.clock(), "garp") for _ in range(25)]
    agents.report_many(pair.agent1, "h1", reps)
    assert [e.count for e in pair.events(EventKind.CLAIM_REFUSED)] == [25]


def test_holder_changes_are_never_merged(pair: Pair) -> None:
    for _ in range(3):
        pair.report(pair.a)
        pair.report(pair.b)
    assert [e.count for e in pair.events(EventKind.HOLDER_CHANGED)] == [1] * 6


def test_the_count_limit_drops_refusals_before_holder_changes(pair: Pair) -> None:
    agent = with_retention(pair.agent1, Retention(max_count=4))
    for _ in range(6):
        pair.report(pair.a, agent=agent)
        pair.report(pair.b, agent=with_retention(pair.agent2, Retention(max_count=4)))
        pair.cloud.clock.current += MERGE_WINDOW + S  # each refusal its own entry
        refuse(pair, 1, agent=agent)
    kinds = [e.kind for e in pair.events()]
    assert kinds.count(EventKind.HOLDER_CHANGED) == 12  # more than the limit: none dropped for the count
    assert EventKind.ASSOCIATED not in kinds  # the (un)associations went after the refusals
    assert kinds.count(EventKind.CLAIM_REFUSED) == 0  # the newest refusal went too: the limit is exceeded


def test_the_count_limit_keeps_the_newest(pair: Pair) -> None:
    agent = with_retention(pair.agent1, Retention(max_count=3))
    for _ in range(5):
        pair.cloud.clock.current += MERGE_WINDOW + S
        refuse(pair, 1, agent=agent)
    events = pair.events()
    assert [e.kind for e in events] == [EventKind.ASSOCIATED, EventKind.ASSOCIATED, EventKind.CLAIM_REFUSED]
    assert events[-1].at == pair.cloud.clock.current - S  # the newest refusal stayed, the older ones went first


def test_the_age_limit_drops_even_holder_changes(pair: Pair) -> None:
    pair.report(pair.a)
    pair.report(pair.b)
    pair.cloud.clock.current += dt.timedelta(days=31)
    refuse(pair, 1, agent=with_retention(pair.agent1, Retention(max_age=dt.timedelta(days=30))))
    assert summary(pair) == [("claim_refused", 1)]
    assert havips.get_havip(pair.cloud.tenant, pair.havip_id).havip.holder_interface_id == pair.b.id


def test_ages_count_back_from_the_newest_entry_not_from_the_clock(pair: Pair) -> None:
    pair.report(pair.a)
    dated = pair.cloud.clock()  # a report dated now, delivered 60 days later (a queue that waited)
    pair.cloud.clock.current += dt.timedelta(days=60)
    rep = ClaimReport(pair.havip_id, pair.c.id, ReportKind.REFUSED, dated, "garp")
    agents.report(with_retention(pair.agent1, Retention(max_age=dt.timedelta(days=30))), "h1", rep)
    assert summary(pair) == [("holder_changed", 1), ("claim_refused", 1)]
