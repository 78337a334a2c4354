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
    assert (r["params"]["claims"], r["params"]["hosts"]) == (4, 3)
    assert 1 <= r["params"]["switched"] <= 4
    assert_finite_dist(r["local_ms"], r["params"]["switched"])
    assert len(r["samples_ms"]) + r["missed_a_host"] == r["params"]["switched"]
    assert r["samples_ms"], "at least one claim reached every other host"
    assert all(math.isfinite(x) and x > 0 for x in r["samples_ms"])
    assert set(r["target"]) >= {"what", "met", "by_ms", "undecided"}
    assert (tmp_path / "crosshost_cdf.png").stat().st_size > 0
    assert "#8 Claim across hosts" in (tmp_path / "BENCHMARKS.md").read_text()
