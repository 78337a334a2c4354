"""The agent at scale (benchmark 5), once at its tiniest size, so that it cannot rot.

Timings are never asserted: this machine is shared and noisy; ``make bench`` measures.
What is asserted is the structure, that the numbers are finite, that the kernel read
back after the reconcile from empty was complete and that a no-op resync changed nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .benchkit import assert_finite_dist, run_tiny

pytestmark = pytest.mark.lab

PHASES = {"fetch_s", "read_s", "apply_s", "reread_s", "other_s"}


def test_scale_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "scale")
    p = r["params"]
    assert (p["interfaces"], p["havips"]) == (20, 10)
    empty, noop, stream = r["empty"], r["noop"], r["stream"]
    assert len(empty["runs"]) == p["empty_runs"] and empty["complete"] is True
    for run in empty["runs"]:
        assert run["complete"] is True and run["actions"] > 0
        assert set(run) >= PHASES and all(math.isfinite(run[k]) for k in (*PHASES, "seconds"))
    assert_finite_dist(empty["seconds"], p["empty_runs"])
    assert len(noop["passes"]) == p["resyncs"]
    assert all(x["actions"] == 0 and math.isfinite(x["seconds"]) for x in noop["passes"])
    assert_finite_dist(noop["seconds"], p["resyncs"])
    assert noop["kernel_changes"] == {"ip": 0, "nft": 0} and r["zero_changes"]["met"] is True
    for kind in ("resync", "quiet"):
        assert stream[kind]["windows"] == p["resyncs"] and stream[kind]["sent"] > 0
        assert 0 <= stream[kind]["lost"] <= stream[kind]["sent"]
        assert_finite_dist(stream[kind]["rtt_ms"], stream[kind]["sent"] - stream[kind]["lost"])
    for t in (empty["target"], noop["target"], r["no_loss"]):
        assert isinstance(t["met"], bool)
    assert (tmp_path / "scale_cdf.png").stat().st_size > 0
    assert "#5 Agent at scale" in (tmp_path / "BENCHMARKS.md").read_text()
