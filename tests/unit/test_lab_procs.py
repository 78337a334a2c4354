"""The lab's process table: one reaper per process, scoped views for labs side by side."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from havip.lab.procs import ProcessTable

pytestmark = pytest.mark.unit


def test_a_scoped_table_has_its_own_names_and_logs_and_shares_the_reaper(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    table = ProcessTable(tmp_path / "a")
    try:
        other = table.scoped(tmp_path / "b")
        mine = table.start("sleeper", ["sleep", "30"])
        theirs = other.start("sleeper", ["sh", "-c", "echo scoped; exec sleep 30"])
        assert table.procs["sleeper"].pid == mine.pid and other.procs["sleeper"].pid == theirs.pid
        deadline = time.monotonic() + 5
        while "scoped" not in (tmp_path / "b" / "sleeper.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        other.stop_all()  # stops only its own
        assert not other.procs and table.alive(mine.pid) and not other.alive(theirs.pid)
        assert "scoped" in (tmp_path / "b" / "sleeper.log").read_text(), "its log is in its own folder"
        other.close()  # closes nothing: the parent's reaper still reaps
        table.stop("sleeper")
        assert table.wait_exit(mine.pid, 5) and mine.pid in table.exited
    finally:
        table.stop_all()
        table.close()
