"""The control-plane benchmark once at its tiniest size, so that it cannot rot.

Timings are never asserted: this machine is shared and noisy; ``make bench`` measures.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .benchkit import assert_finite_dist, run_tiny

pytestmark = pytest.mark.lab

OPS = ("list", "describe", "create", "associate")
INTERVAL = {"estimate", "low", "high"}


def test_control_plane_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "control")
    p = r["params"]
    n = p["blocks"] * p["per_block"]
    assert [e["engine"] for e in r["engines"]] == ["sqlite", "postgresql"]
    for e in r["engines"]:
        assert set(e["ops"]) == set(OPS)
        for op in OPS:
            o = e["ops"][op]
            assert_finite_dist(o["large_ms"], n)
            assert_finite_dist(o["small_ms"], n)
            assert len(o["large_samples_ms"]) == len(o["small_samples_ms"]) == n
            for key in ("large_p99_ms", "ratio", "noise_floor_ratio"):
                assert set(o[key]) == INTERVAL and all(math.isfinite(v) for v in o[key].values()), (op, key)
            assert math.isfinite(o["large_rps"]) and o["large_rps"] > 0
            assert ("target" in o) == (op in ("list", "describe"))
        d = e["desired"]
        assert d["interfaces"] == p["interfaces"] and d["havips"] == p["interfaces"] // 10
        for path in ("service", "http"):
            assert_finite_dist(d[path]["seconds"], p["desired_runs"])
            assert isinstance(d[path]["target"]["met"], bool)
    assert (tmp_path / "control_cdf.png").stat().st_size > 0
    assert "#4 Control plane" in (tmp_path / "BENCHMARKS.md").read_text()
