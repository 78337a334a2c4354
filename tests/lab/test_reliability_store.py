"""The reliability report's control-plane and store rows, once at their tiny size, so that
none can rot: SQLite's disk full, the server SIGKILLed, PostgreSQL restarted and an API flood,
each during a real failover (``benchmarks/reliability/store.py``).

Timings are never asserted (the machine is shared); what is asserted is what a user would lose:
a disk-full write refused without a clear answer, an acknowledged write, a holder change that
never reached the control plane.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from benchmarks.reliability.__main__ import main

pytestmark = pytest.mark.lab

ROWS = ("sqlite-disk-full", "control-plane-sigkill-during-failover", "postgresql-restart", "api-flood")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("reliability-store")
    assert main(["--tiny", "--only", "store", "--out", str(out), "--report", str(out / "R.md")]) == 0
    result = json.loads((out / "reliability-store.json").read_text())
    assert result["group"] == "store" and result["tiny"] is True
    report = (out / "R.md").read_text()
    for row in result["rows"]:
        assert f"`{row['name']}`" in report
    return {r["name"]: r for r in result["rows"]}


def test_every_store_row_is_there_with_its_figures(rows: dict[str, dict[str, Any]]) -> None:
    assert set(rows) == set(ROWS)
    for name, row in rows.items():
        assert row["matrix"] == "fault"
        assert row["times"] == len(row["trials"]) >= 1, name
        assert row["figures"], name
        assert row["verdict"] in ("held", "lost", "not shown") and row["why"], name


def test_a_full_disk_refuses_writes_clearly_loses_nothing_and_recovers(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["sqlite-disk-full"]
    f = row["figures"]
    assert f["writes_refused"] > 0, "the disk never ran full for a write"
    assert f["refused_without_storage_full"] == 0, row["trials"]
    assert f["acknowledged_writes_lost"] == 0 and f["refused_writes_left_behind"] == 0
    assert f["integrity"] == "ok"
    assert f["recovered"] == f"{row['times']}/{row['times']}"
    for t in row["trials"]:
        assert t["refused_codes"] == ["503 ServiceUnavailable.StorageFull"]
        assert t["acknowledged"] > 0 and t["server_pid_unchanged"]
    assert row["verdict"] == "held", row["why"]


def test_no_report_is_lost_when_the_server_is_sigkilled_during_a_failover(rows: dict[str, dict[str, Any]]) -> None:
    row = rows["control-plane-sigkill-during-failover"]
    for t in row["trials"]:
        assert t["down_at_ms"] < t["garp_seen_ms"], "the claim came before the server was down"
        assert t["flowed_while_down"], "the data plane needed the control plane"
        assert t["report_delivered"], "the holder change never reached the restarted control plane"
        assert t["agent_up"] and t["stale_answers_after_switch"] == 0
        assert t["truth_ms"] is not None and math.isfinite(t["truth_ms"])
    assert row["figures"]["reports_lost"] == 0


def test_postgresql_restart_and_api_flood_keep_every_holder_change(rows: dict[str, dict[str, Any]]) -> None:
    for t in rows["postgresql-restart"]["trials"]:
        assert t["flowed_while_down"] and t["report_delivered"] and t["agent_up"]
    flood = rows["api-flood"]
    assert flood["figures"]["requests"] > 0
    for t in flood["trials"]:
        for side in ("without", "with"):
            assert t[side]["report_delivered"] and t[side]["first_answer_ms"] is not None
    assert "latency_with_flood_median_us" in flood["figures"]
    assert "latency_without_flood_median_us" in flood["figures"]
