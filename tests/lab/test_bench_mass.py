"""Mass failover once at its tiniest size (10 HaVips, 2 failovers per mode), so it cannot rot.

Checks what it wrote: every failover fully switched and observed (GARP, route, answer for
every VIP), consistent times, finite distributions, the plot. Timings are never asserted.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .benchkit import assert_finite_dist, run_tiny

pytestmark = pytest.mark.lab


def test_mass_failover_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "mass")
    n = r["params"]["havips"]
    assert n == 10 and r["params"]["failovers_per_mode"] == 2
    for mode in ("kill", "term"):
        rows = [x for x in r["runs"] if x["mode"] == mode]
        assert len(rows) == 2
        assert {(x["from"], x["to"]) for x in rows} == {("i1", "i2"), ("i2", "i1")}, "directions alternate"
        for x in rows:
            assert x["complete"] and x["garps_seen"] == x["routes_switched"] == x["answered"] == n, x
            assert 0 < x["first_garp_ms"] <= x["last_garp_ms"], x
            assert x["last_route_ms"] > 0 and x["last_answer_ms"] > 0, x
            assert len(x["garp_to_route_ms"]) == n and all(math.isfinite(v) for v in x["garp_to_route_ms"])
        m = r["modes"][mode]
        assert_finite_dist(m["switched_after_last_garp_ms"], 2)
        assert_finite_dist(m["garp_to_route_ms"], 2 * n)
        assert m["incomplete_failovers"] == 0 and isinstance(m["target"]["met"], bool)
    assert (tmp_path / "mass_cdf.png").stat().st_size > 0
    assert "#3 Mass failover" in (tmp_path / "BENCHMARKS.md").read_text()
