"""Forwarding (#6) once at its tiniest size, so that it cannot rot.

Timings and rates are never asserted: this machine is shared and noisy; ``make bench`` measures.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from .benchkit import assert_finite_dist, run_tiny

pytestmark = pytest.mark.lab


def test_forwarding_tiny(tmp_path: Path) -> None:
    r = run_tiny(tmp_path, "forwarding")
    trials = r["params"]["trials"]
    assert trials == 2 and r["params"]["tests"] == ["tcp", "udp64"]
    for test in ("tcp", "udp64"):
        order = [x["system"] for x in r["runs"] if x["test"] == test]
        assert order == ["havip", "bridge", "bridge", "havip"], "trials interleave, alternating who goes first"
        assert all(math.isfinite(x["value"]) and x["value"] > 0 for x in r["runs"] if x["test"] == test)
        t = r["tests"][test]
        assert_finite_dist(t["havip"], trials)
        assert_finite_dist(t["bridge"], trials)
        for key in ("ratio", "noise_floor_ratio"):
            i = t[key]
            assert all(math.isfinite(i[k]) for k in ("estimate", "low", "high")) and i["low"] <= i["high"]
        assert isinstance(t["target"]["met"], bool)
    udp = [x for x in r["runs"] if x["test"] == "udp64"]
    assert all(0 <= x["lost_packets"] <= x["sent_packets"] and x["arrived_packets"] > 0 for x in udp)
    assert all(math.isfinite(x["read_kpps"]) and x["rcvbuf_errors"] >= 0 for x in udp)
    read = r["tests"]["udp64_read"]
    assert read["target"] is None and read["ratio"]["low"] <= read["ratio"]["high"]
    assert_finite_dist(read["havip_loss_percent"], trials)
    for kind in ("havip", "bridge"):
        path = r["conditions"][kind]["path"]
        assert path[0]["dev"] == "eth0" and path[-1]["dev"] == "eth0"
        assert all(d["mtu"] > 0 and set(d["offloads"]) >= {"tso", "gso", "gro"} for d in path)
    assert "netdev havip_antispoof" in r["conditions"]["havip"]["host_nft_tables"]
    assert (tmp_path / "forwarding_trials.png").stat().st_size > 0
    assert "#6 Forwarding" in (tmp_path / "BENCHMARKS.md").read_text()
