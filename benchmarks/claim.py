"""Benchmark 1: claim latency, the agent's GARP kernel receive -> the VIP's route acked.

The product page's lab is built (real control plane and agent), then keepalived is
stopped in both members so nothing but this benchmark announces the VIP. Crafted
gratuitous ARPs (what keepalived sends on becoming master) go out of the two members'
ports alternately, each one a real claim that moves the route; the agent's
``holder_changed`` events carry the latency it measured (kernel rx timestamp of the
GARP to the netlink ack of the route). Platform-internal, so reported as an absolute
distribution. Target: p99 under 1 ms.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import fmt, stats
from benchmarks.labs import alternate_claims, havip_lab, member_sockets, unique_name
from havip.lab.procs import ProcessTable
from havip.lab.spec import LabSpec

TARGET_P99_MS = 1.0
# Between claims: each one is switched, reported and reconciled before the next, as
# real failovers are far apart (at 30 ms the agent was still busy with the previous
# claim's report and reconcile: a bimodal distribution, and some GARPs never switched).
GAP_S = 0.15


def _recorded(lab: Any, since_ns: int, n: int) -> list[dict[str, Any]]:
    """The ``n`` holder changes recorded since ``since_ns``, oldest first (waits up to 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        events = lab.api().havip_events(lab.havip_id, kind="holder_changed", limit=n + 20)
        mine = [e for e in events if _at_ns(e["at"]) >= since_ns - 10**8]
        if len(mine) >= n or time.monotonic() > deadline:
            return list(reversed(mine))[:n]
        time.sleep(0.1)


def _at_ns(text: Any) -> int:
    t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1_000_000) * 1000


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None], claims: int | None = None) -> dict[str, Any]:
    n = claims if claims is not None else (3 if tiny else 200)
    spec = LabSpec(name=unique_name("bc"), advert_int=0.1, vrrp_version=3, check_interval=0.1, probe_interval_ms=10)
    latencies_us: list[int] = []
    with havip_lab(spec, table, progress) as system:
        lab = system.builder
        assert lab is not None
        for m in system.members.values():
            m.keepalived.stop(table)
        members = lab.members()
        with member_sockets([node.namespace for node in members]) as sockets:
            # nothing polls while claims are in flight: the agent alone works on each one
            began = alternate_claims(lab, sockets, n, GAP_S, progress, "claim latency")
            events = _recorded(lab, began, n)
            latencies_us = [int(e["latency_us"]) for e in events]
            if not latencies_us:
                raise RuntimeError(f"none of the {n} claims was recorded")
    ms = [u / 1000 for u in latencies_us]
    return {
        "name": "claim",
        "params": {
            "claims": n,
            "members": 2,
            "keepalived": "stopped; crafted GARP requests, alternating ports",
            "gap_ms": GAP_S * 1000,
            "recorded": len(ms),
        },
        **judge(ms),
    }


def judge(ms: list[float]) -> dict[str, Any]:
    """The distribution, p99 with its bootstrap 95% interval, and the target judged by it."""
    p99 = stats.bootstrap_percentile(ms, 99)
    return {
        "latency_ms": stats.summary(ms).as_dict(),
        "p99_ms": p99.as_dict(),
        "samples_ms": ms,
        "target": {
            "what": f"p99 < {TARGET_P99_MS:g} ms (95% CI)",
            "met": p99.below(TARGET_P99_MS),
            "by_ms": p99.high - TARGET_P99_MS,
        },
    }


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Claims sent: {r['params']['claims']}, {r['params'].get('gap_ms', 0):g} ms apart; switched and recorded: "
            f"{r['params'].get('recorded', '-')} ({r['params']['keepalived']}). Latency in ms, kernel rx of the GARP "
            "to the route's netlink ack:",
            "",
            fmt.DIST_HEAD,
            fmt.dist_row("GARP rx -> route ack (ms)", r["latency_ms"]),
            "",
            f"p99 with a bootstrap 95% interval: {fmt.ci(r.get('p99_ms'))} ms.",
            "",
            f"Target {r['target']['what']}: {fmt.verdict(r['target'])}.",
        ]
    )


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    fig, (ax,) = fmt.figure()
    fmt.cdf(ax, r["samples_ms"], "GARP rx -> route ack")
    ax.axvline(TARGET_P99_MS, color="red", linestyle="--", label=f"target p99 {TARGET_P99_MS:g} ms")
    ax.set(xlabel="ms", ylabel="fraction of claims", title="Claim latency (CDF)")
    ax.legend()
    fmt.save(fig, out / "claim_cdf.png")
    return fmt.Section(
        summary=[
            f"| #1 claim latency | {r['target']['what']} | {fmt.verdict(r['target'])} p99 = {fmt.ci(r.get('p99_ms'))} ms |"
        ],
        body=[table(r), "", f"![claim latency CDF]({rel / 'claim_cdf.png'})"],
        notes=[
            "Claims are 150 ms apart, as real failovers are far apart: at 30 ms the agent was still busy with the "
            "previous claim's report and reconcile, the distribution turned bimodal (p90 4.6 ms) and some GARPs never "
            "switched the route (171 of 200 in that run). Claims in quick succession are a separate, unmeasured case."
        ],
    )
