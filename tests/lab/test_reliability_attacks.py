"""The attack matrix at its tiny size (issue 15, item 3): every attack of the report ran in a
real lab, was refused, and sat beside a control that succeeded; RELIABILITY.md lists them.

Runs ``python -m benchmarks.reliability --tiny --only attacks`` in its own process (it makes
itself a child subreaper) into a temporary directory, as ``benchkit.run_tiny`` does for the
benchmarks; its labs are named ``havip-r*`` and removed on exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.reliability import REQUIRED

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
NAMES = [n for n, _ in REQUIRED]
ATTACKS = NAMES[NAMES.index("arp-other-instance") : NAMES.index("tenant-isolation") + 1]


def test_every_attack_is_refused_beside_a_control_that_succeeds(tmp_path: Path) -> None:
    report = tmp_path / "R.md"
    argv = ["--tiny", "--only", "attacks", "--out", str(tmp_path), "--report", str(report)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.reliability", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "reliability-attacks.json").read_text())
    assert result["tiny"] is True
    rows = {r["name"]: r for r in result["rows"]}
    assert sorted(rows) == sorted(ATTACKS) and len(ATTACKS) == 12
    for name in ATTACKS:
        row = rows[name]
        assert row["matrix"] == "attack" and row["control"], row
        assert row["verdict"] == "held", f"{name}: {row['verdict']}: {row['why']}"
        assert row["times"] >= 2 and len(row["trials"]) == row["times"], row
        for trial in row["trials"]:
            assert trial["attempts"] and all(a["held"] for a in trial["attempts"]), (name, trial)
            assert trial["controls"] and all(c["succeeded"] for c in trial["controls"]), (name, trial)
        assert row["figures"]["refused"] == row["figures"]["attempts"] >= row["times"], row
        assert row["figures"]["controls_ok"] == row["figures"]["controls"] >= row["times"], row
    text = report.read_text()
    for name, what in REQUIRED:
        if name in ATTACKS:
            assert f"(`{name}`)" in text and what in text, name
    assert "member-sends-as-vip" in text and "allowed-address pairs" in text
