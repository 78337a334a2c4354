"""The lab's per-host timeline: when each host switched the VIP, from its agent's log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from havip.lab.hostswitch import host_switches

pytestmark = pytest.mark.unit

VIP = "172.17.16.3"
T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def line(event: str, ms: int, vip: str = VIP, latency_us: int | None = 900) -> str:
    ts = (T0 + dt.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
    return f'{{"ts": "{ts}", "event": "{event}", "vip": "{vip}", "latency_us": {latency_us or "null"}}}\n'


def test_each_host_s_first_switch_after_the_failure_and_how(tmp_path: Path) -> None:
    injected = int(T0.timestamp() * 1e9)
    logs = {k: tmp_path / f"{k}.log" for k in ("h1", "h2", "h3", "h4")}
    logs["h1"].write_text(line("claim-switched", -500) + "not json\n" + line("reconciled", 5))
    logs["h2"].write_text(line("claim-switched", -50) + line("claim-switched", 310, latency_us=600))
    logs["h3"].write_text(
        line("peer-claim-applied", 312, vip="10.0.0.9") + line("peer-claim-applied", 313, latency_us=2100)
    )
    # h4's log is gone with its host
    got = [s.as_dict() for s in host_switches(logs, VIP, injected)]
    assert got == [
        {"host": "h1", "how": "control-plane", "ms": None, "latency_us": None},
        {"host": "h2", "how": "claim", "ms": 310.0, "latency_us": 600},
        {"host": "h3", "how": "peer-claim", "ms": 313.0, "latency_us": 2100},
        {"host": "h4", "how": "control-plane", "ms": None, "latency_us": None},
    ]
