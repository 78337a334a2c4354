"""The fault matrix's lab rows, once each at their smallest size (``make reliability`` runs
them in full): every row is produced with its figures, and what must never happen under any
fault does not (a stale answer after a switch, a failover that never completes, an open
file the soak leaves behind). Whether a fault costs traffic is the row's verdict, reported
in RELIABILITY.md, not asserted here: it is what the matrix measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability import REQUIRED

from .benchkit import run_reliability_tiny

pytestmark = pytest.mark.lab

FAILOVER_ROWS = (
    "agent-sigkill-during-failover",
    "agent-frozen",
    "member-frozen",
    "garp-flood",
    "arp-request-flood",
    "host-lost",
    "host-partitioned",
    "underlay-loss-10",
    "underlay-loss-50",
)


def test_the_fault_rows_run_in_the_lab_and_nothing_goes_stale(tmp_path: Path) -> None:
    rows = {r["name"]: r for r in run_reliability_tiny(tmp_path, "faults")}
    assert set(rows) == {*FAILOVER_ROWS, "agent-sigkill-during-mass-failover", "soak"}
    assert set(rows) <= {name for name, _ in REQUIRED}
    for name in FAILOVER_ROWS:
        r = rows[name]
        assert r["matrix"] == "fault" and r["times"] == 1 and r["verdict"] in ("held", "lost"), r
        trial = r["trials"][0]
        assert trial["flows_again_ms"] is not None, f"{name}: traffic never flowed again: {trial}"
        assert trial["truth_ms"] is not None, f"{name}: the control plane never showed the new holder: {trial}"
        assert trial["holder_change_recorded"], f"{name}: the holder change was never recorded"
        assert r["figures"]["stale_answers"] == 0, f"{name}: {r['why']}"
    flood = rows["garp-flood"]["figures"]
    assert flood["flood_fps"] > 1000 and flood["switch_latency_ms"] is not None
    mass = rows["agent-sigkill-during-mass-failover"]
    assert mass["trials"][0]["agent_killed"] and mass["figures"]["routes_switched_least"] == 10
    soak = rows["soak"]["figures"]
    assert soak["failovers"] == 10 and soak["failed"] == 0 and soak["stale_answers"] == 0
    assert soak["agent_open_files_growth"] <= 0, rows["soak"]["why"]
