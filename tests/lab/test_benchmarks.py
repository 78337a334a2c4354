"""Claim latency and failover, each once at its tiniest size, so that neither can rot.

Timings are never asserted: this machine is shared and noisy; ``make bench`` measures.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .benchkit import assert_finite_dist, run_tiny

pytestmark = pytest.mark.lab


def test_claim_latency_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "claim")
    assert r["params"]["claims"] == 3
    recorded = r["params"]["recorded"]
    assert 1 <= recorded <= 3 and len(r["samples_ms"]) == recorded
    assert all(math.isfinite(x) and x > 0 for x in r["samples_ms"])
    assert_finite_dist(r["latency_ms"], recorded)
    assert set(r["target"]) == {"what", "met", "by_ms"} and set(r["p99_ms"]) == {"estimate", "low", "high"}
    assert (tmp_path / "claim_cdf.png").stat().st_size > 0
    assert "#1 Claim latency" in (tmp_path / "BENCHMARKS.md").read_text()


def test_failover_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "failover")
    (setting,) = r["settings"]
    assert setting["setting"] == "v3-0.1"
    runs = setting["runs"]
    for mode in ("kill", "term"):
        for system in ("havip", "bridge"):
            mine = [x for x in runs if x["mode"] == mode and x["system"] == system]
            assert len(mine) == 2
            assert {(x["from"], x["to"]) for x in mine} == {("i1", "i2"), ("i2", "i1")}, "directions alternate"
            assert all(math.isfinite(x["first_answer_ms"]) and x["first_answer_ms"] > 0 for x in mine)
        havip = [x for x in runs if x["mode"] == mode and x["system"] == "havip"]
        assert all(x["garp_seen_ms"] is not None and x["route_switched_ms"] >= x["garp_seen_ms"] for x in havip)
        m = setting["modes"][mode]
        assert_finite_dist(m["havip_ms"], 2)
        assert_finite_dist(m["bridge_ms"], 2)
        diff = m["difference_ms"]
        assert all(math.isfinite(diff[k]) for k in ("estimate", "low", "high")) and diff["low"] <= diff["high"]
        assert m["noise_floor_ms"] is not None and isinstance(m["target"]["met"], bool)
    for png in ("failover_cdf.png", "failover_timeline.png"):
        assert (tmp_path / png).stat().st_size > 0


def test_crosshost_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "crosshost")
    p, c, rep, cl = r["params"], r["claims"], r["repair"], r["client"]
    assert (p["claims"], p["hosts"], p["repairs"], p["failovers"]) == (4, 3, 2, 1)
    assert 1 <= c["switched"] <= 4
    assert_finite_dist(c["local_ms"], c["switched"])
    assert len(c["samples_ms"]) + c["missed_a_host"] == c["switched"]
    assert c["samples_ms"], "at least one claim reached every other host"
    assert all(math.isfinite(x) and x > 0 for x in c["samples_ms"])
    assert c["arrived_ms"]["n"] >= 1 and c["announced_ms"]["n"] >= 1
    assert set(c["target"]) >= {"what", "met", "by_ms", "undecided"}
    assert len(rep["samples_ms"]) + rep["unrepaired"] == 2 and rep["samples_ms"], "a lost message was repaired"
    assert all(0 < x < 5000 for x in rep["samples_ms"])
    assert {row["system"] for row in cl["runs"]} == {"havip-3-hosts", "havip-1-host", "bridge"}
    assert cl["unanswered"] == {"havip-3-hosts": 0, "havip-1-host": 0, "bridge": 0}, cl["runs"]
    assert (tmp_path / "crosshost_cdf.png").stat().st_size > 0
    report = (tmp_path / "BENCHMARKS.md").read_text()
    assert "#8 Claim across hosts" in report and "#8 repair of a lost claim message" in report


def test_fleet_tiny(tmp_path: Path) -> None:
    """The change feed at fleet scale: who a claim wakes is asserted (it is not a timing)."""
    r = run_tiny(tmp_path, "fleet")
    p = r["params"]
    assert (p["small"], p["large"], p["claims"]) == (20, 100, 4)
    small, large = r["fleets"]
    assert (small["hosts"], large["hosts"]) == (20, 100)
    for f in (small, large):
        assert f["woken"] == [p["hot_hosts"]] * p["claims"], "a claim wakes exactly its VPC's hosts"
        assert f["woken_outside"] == [0] * p["claims"]
        assert len(f["net_ms"]) == p["claims"] and all(math.isfinite(x) for x in f["gross_ms"] + f["idle_ms"])
        assert_finite_dist(f["net"], p["claims"])
    assert r["woken_target"]["met"] is True
    assert set(r["ratio"]) == {"estimate", "low", "high"} and isinstance(r["cpu_target"]["met"], bool)
    assert "#9 Change feed at fleet scale" in (tmp_path / "BENCHMARKS.md").read_text()
