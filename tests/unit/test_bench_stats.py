"""The benchmarks' statistics: percentiles, summaries, bootstrap intervals (pure)."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

import pytest

from benchmarks import fmt
from benchmarks.crosshost import compare_systems, judge, match, read_events, repaired_at, route_changes
from benchmarks.stats import (
    Interval,
    bootstrap_percentile,
    compare,
    compare_strata,
    judge_below,
    percentile,
    split_self,
    summary,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        pytest.param([1.0], 50, 1.0, id="one"),
        pytest.param([1.0, 2.0, 3.0], 50, 2.0, id="odd-median"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 50, 2.5, id="even-median"),
        pytest.param([0.0, 10.0], 90, 9.0, id="interpolated"),
        pytest.param([1.0, 2.0], 100, 2.0, id="max"),
        pytest.param([1.0, 2.0], 0, 1.0, id="min"),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_summary_and_empty() -> None:
    s = summary([5.0, 1.0, 3.0])
    assert (s.n, s.min, s.p50, s.max, s.mean) == (3, 1.0, 3.0, 5.0, 3.0)
    assert summary([]).n == 0 and math.isnan(summary([]).p50)


def test_compare_finds_a_real_difference_and_not_a_fake_one() -> None:
    rng = random.Random(7)
    base = [10 + rng.gauss(0, 1) for _ in range(200)]
    slower = [12 + rng.gauss(0, 1) for _ in range(200)]
    same = [10 + rng.gauss(0, 1) for _ in range(200)]
    c = compare(slower, base)
    assert c.difference.above(1.0) and c.ratio.above(1.1)
    assert c.difference.low <= c.difference.estimate <= c.difference.high
    noise = compare(same, base)
    assert noise.difference.low < 0 < noise.difference.high  # the interval covers zero


def test_split_self_alternates() -> None:
    assert split_self([1.0, 2.0, 3.0, 4.0, 5.0]) == ([1.0, 3.0, 5.0], [2.0, 4.0])


def test_bootstrap_percentile_brackets_the_estimate() -> None:
    values = [float(i) for i in range(1, 201)]
    iv = bootstrap_percentile(values, 99, resamples=500)
    assert iv.low <= iv.estimate <= iv.high
    assert iv.estimate == pytest.approx(percentile(values, 99))
    assert iv.below(201) and not iv.below(150)


def test_bootstrap_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(bootstrap_percentile([], 99).estimate)


def test_compare_strata_takes_the_difference_within_each_stratum() -> None:
    # two directions 80 apart; the candidate is 1 slower in each: pooled, the gap between the
    # directions would dominate; within strata the difference is exactly 1 with a tight interval
    a = {"i1->i2": [100.0 + x for x in (1, 2, 3, 4, 5)], "i2->i1": [180.0 + x for x in (1, 2, 3, 4, 5)]}
    b = {"i1->i2": [99.0 + x for x in (1, 2, 3, 4, 5)], "i2->i1": [179.0 + x for x in (1, 2, 3, 4, 5)]}
    d = compare_strata(a, b)
    assert d.estimate == 1.0 and -2.0 <= d.low <= 1.0 <= d.high <= 4.0
    only_one = compare_strata(a, {"i1->i2": b["i1->i2"]})  # a stratum missing on one side is left out
    assert only_one.estimate == 1.0
    assert math.isnan(compare_strata({"x": []}, {"x": [1.0]}).estimate)


def test_crosshost_matches_each_claim_to_every_other_host_by_epoch(tmp_path: Path) -> None:
    local = [(5, 800), (6, 900), (7, 700)]
    remote = {"2": [(5, 1500), (6, 2100)], "3": [(5, 1700), (6, 1900), (7, 1600)]}
    local_ms, every_ms, each_ms, missed = match(local, remote, others=2)
    assert local_ms == [0.8, 0.9, 0.7]
    assert every_ms == [1.7, 2.1], "the slowest other host; epoch 7 never reached host 2"
    assert sorted(each_ms) == [1.5, 1.6, 1.7, 1.9, 2.1] and missed == 1
    r = judge(local_ms, every_ms, each_ms, missed)
    assert r["target"]["met"] is False and r["missed_a_host"] == 1
    log = tmp_path / "agent.log"
    log.write_text(
        '{"ts": "2026-12-03T09:00:00.000+00:00", "event": "claim-switched", "epoch": 1, "latency_us": 5}\n'
        "not json\n"
        '{"ts": "2020-01-01T00:00:00.000+00:00", "event": "claim-switched", "epoch": 0, "latency_us": 5}\n'
    )
    since = int(dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC).timestamp() * 1e9)
    assert [e["epoch"] for e in read_events(log, {"claim-switched"}, since)] == [1]


def test_one_verdict_rule_met_missed_or_not_shown() -> None:
    assert fmt.verdict(judge_below(Interval(1.0, 0.8, 1.9), 2.0, "x")) == "**met**"
    missed = judge_below(Interval(3.0, 2.5, 3.5), 2.0, "x")
    assert fmt.verdict(missed) == "**missed** (by 0.50 ms)"
    assert fmt.verdict(judge_below(Interval(1.9, 1.5, 2.5), 2.0, "x")).startswith("**not shown**")
    nan = float("nan")
    assert fmt.verdict(judge_below(Interval(nan, nan, nan), 2.0, "x")).startswith("**not shown**"), "no samples"


def test_route_changes_reads_ip_monitor_and_finds_when_every_other_host_followed() -> None:
    text = (
        "[2026-12-03T13:02:30.722641] 172.17.16.3 encap ip id 1000 src 0.0.0.0 dst 10.255.0.2 ttl 0 tos 0 "
        "dev havip-tun table 100 scope link \n"
        "[2026-12-03T13:02:30.800000] 10.0.0.9 dev x table 100\n"
        "[2026-12-03T13:02:31.000000] 172.17.16.3 dev veth-i1 table 100 scope link\n"
        "[2026-12-03T13:02:31.500000] Deleted 172.17.16.3 dev veth-i1 table 100 scope link\n"
    )
    rows = route_changes(text, "172.17.16.3")
    assert [where for _ns, where in rows] == ["10.255.0.2", "local", "deleted"]
    assert rows[1][0] - rows[0][0] == 277_359_000
    changes = {1: [(10, "local")], 2: [(5, "10.255.0.1"), (30, "10.255.0.1")], 3: [(40, "10.255.0.1")]}
    assert repaired_at(changes, claimant=1, underlay="10.255.0.1", since_ns=20) == 40
    assert repaired_at(changes, claimant=1, underlay="10.255.0.1", since_ns=35) is None, "host 2 moved before"


def test_compare_systems_by_direction() -> None:
    rows = [
        {"system": s, "from": f, "to": t, "first_answer_ms": v}
        for s, f, t, v in [
            ("m", "i1", "i2", 12.0), ("m", "i2", "i1", 22.0), ("havip-1-host", "i1", "i2", 10.0),
            ("havip-1-host", "i2", "i1", 20.0), ("bridge", "i1", "i2", 9.0), ("bridge", "i2", "i1", 19.0),
            ("bridge", "i1", "i2", 9.0), ("bridge", "i2", "i1", 19.0), ("m", "i1", "i2", None),
        ]
    ]  # fmt: skip
    r = compare_systems(rows, "m")
    assert r["vs_one_host_ms"]["estimate"] == 2.0 and r["vs_bridge_ms"]["estimate"] == 3.0
    assert r["unanswered"] == {"m": 1, "havip-1-host": 0, "bridge": 0}
    assert r["first_answer_ms"]["m"]["n"] == 2
