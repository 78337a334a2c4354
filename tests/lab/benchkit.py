"""Running one benchmark at its tiniest size and checking what it wrote (no timings).

``run_tiny`` runs ``python -m benchmarks.run --tiny --only <name>`` in its own process
(the benchmarks make themselves a child subreaper) into a temporary directory and
returns the JSON it wrote, after checking the run succeeded and the report exists.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DIST = {"n", "min", "p50", "p90", "p99", "max", "mean"}
MACHINE = {"kernel", "cpu", "cores", "python", "keepalived", "date"}


def run_tiny(tmp_path: Path, only: str, timeout: float = 600) -> dict[str, Any]:
    report = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--tiny",
            "--only",
            only,
            "--out",
            str(tmp_path),
            "--report",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report.exists() and "## Not yet measured" in report.read_text()
    result: dict[str, Any] = json.loads((tmp_path / f"{only}.json").read_text())
    assert set(result["machine"]) >= MACHINE and result["tiny"] is True
    return result


def assert_finite_dist(d: dict[str, float], n: int) -> None:
    assert set(d) == DIST and d["n"] == n
    assert all(math.isfinite(v) for v in d.values()), d
    assert d["min"] <= d["p50"] <= d["p99"] <= d["max"]


def run_reliability_tiny(tmp_path: Path, group: str, timeout: float = 900) -> list[dict[str, Any]]:
    """``python -m benchmarks.reliability --tiny --only <group>`` in its own process, into
    ``tmp_path``; its rows, after checking the run succeeded and RELIABILITY.md lists them."""
    report = tmp_path / "RELIABILITY.md"
    argv = ["--tiny", "--only", group, "--out", str(tmp_path), "--report", str(report)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.reliability", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"reliability {group} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    result = json.loads((tmp_path / f"reliability-{group}.json").read_text())
    assert result["tiny"] is True and set(result["machine"]) == MACHINE
    text = report.read_text()
    for row in result["rows"]:
        assert f"`{row['name']}`" in text, f"RELIABILITY.md does not list {row['name']}"
    rows: list[dict[str, Any]] = result["rows"]
    return rows
