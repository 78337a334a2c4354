"""Benchmark 8: a claim across hosts, the GARP on host B to the route acknowledged on every other host.

A lab of several hosts (``havip lab up --hosts N``: i1 on host 1, i2 on host 2, the client
on host 3 and a bystander on each further host, so every host has a port in the VPC) is
built with real agents; keepalived is stopped in both members so that nothing but this
benchmark announces the VIP. Crafted gratuitous ARPs go out of the two members' ports
alternately, each a real claim. For each claim the agents' logs give, on the same clock
(one machine): on the claiming host, the GARP's kernel receive to its own route's ack
(``claim-switched``: the one-host claim path, benchmark #1's quantity, measured in the same
run as the baseline); on each other host, the same GARP's receive to that host's route into
the tunnel acknowledged (``peer-claim-applied``, matched by the claim's epoch). A claim
reaches "every other host" when all of them applied it; its latency is the slowest one.

Target (issue 14): p99 < 2 ms from the GARP to the route on every other host, with 10 hosts.
Verdict by the p99's bootstrap 95% interval: met (all of it below), missed (all above, by
how much), or not shown (it holds the limit). The cross-host claim against the local one
is reported as a median difference and ratio with intervals, beside the local claim path
against itself (alternate claims) for the noise floor.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import fmt, stats
from benchmarks.labs import havip_lab, unique_name
from havip.agent.arp import build_garp
from havip.agent.dataplane.netns import Netns
from havip.lab.build import LabBuilder
from havip.lab.procs import ProcessTable
from havip.lab.spec import LabSpec

TARGET_P99_MS = 2.0
GAP_S = 0.15  # as benchmark #1: each claim switched, reported and reconciled before the next


def _packet_socket(dev: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    return s


def _ts_ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1e9)


def read_events(log: Path, names: set[str], since_ns: int) -> list[dict[str, Any]]:
    """The agent's JSON log lines named ``names`` logged since ``since_ns``."""
    out = []
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("event") in names and _ts_ns(str(rec["ts"])) >= since_ns - 10**9:
            out.append(rec)
    return out


def match(
    local: list[tuple[int, int]], remote: dict[str, list[tuple[int, int]]], others: int
) -> tuple[list[float], list[float], list[float], int]:
    """Per claim (epoch): the local claim path (ms), the slowest other host (ms, only for
    claims every other host applied), every other host's (ms), and how many claims missed one.

    ``local``: (epoch, latency µs) on the claiming hosts; ``remote``: host -> (epoch, latency µs)."""
    local_ms, every_ms, each_ms, missed = [], [], [], 0
    for epoch, us in local:
        local_ms.append(us / 1000)
        seen = [lat for rows in remote.values() for e, lat in rows if e == epoch]
        each_ms += [u / 1000 for u in seen]
        if len(seen) >= others:
            every_ms.append(max(seen) / 1000)
        else:
            missed += 1
    return local_ms, every_ms, each_ms, missed


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None], claims: int | None = None) -> dict[str, Any]:
    n = claims if claims is not None else (4 if tiny else 200)
    hosts = 3 if tiny else 10
    spec = LabSpec(
        name=unique_name("bx"), advert_int=0.1, vrrp_version=3, check_interval=0.1, probe_interval_ms=10, hosts=hosts
    )
    with havip_lab(spec, table, progress) as system:
        lab = system.builder
        assert lab is not None
        for m in system.members.values():
            m.keepalived.stop(table)
        members = lab.members()
        runners = [Netns(node.namespace) for node in members]
        sockets = [r.run(_packet_socket, "eth0") for r in runners]
        try:
            time.sleep(1.0)  # the last keepalived announcements settle
            holder = lab.holder()
            first = next(i for i, node in enumerate(members) if node.name != holder)
            began = time.time_ns()
            for k in range(n):
                i = (first + k) % 2
                sockets[i].send(build_garp(members[i].mac, spec.vip))
                time.sleep(GAP_S)
                if (k + 1) % 50 == 0:
                    progress(f"cross-host claims: {k + 1}/{n}")
            time.sleep(1.0)
        finally:
            for s in sockets:
                s.close()
            for r in runners:
                r.close()
        logs = {k: table.log_dir / f"{LabBuilder.agent_proc(k)}.log" for k in range(1, hosts + 1)}
        local: list[tuple[int, int]] = []
        remote: dict[str, list[tuple[int, int]]] = {}
        for k, log in logs.items():
            for rec in read_events(log, {"claim-switched", "peer-claim-applied"}, began):
                if rec.get("vip") != spec.vip or rec.get("epoch") is None or rec.get("latency_us") is None:
                    continue
                row = (int(rec["epoch"]), int(rec["latency_us"]))
                if rec["event"] == "claim-switched":
                    local.append(row)
                else:
                    remote.setdefault(str(k), []).append(row)
    local.sort()
    local_ms, every_ms, each_ms, missed = match(local, remote, hosts - 1)
    if not local_ms:
        raise RuntimeError(f"none of the {n} claims was switched (no claim-switched in the agents' logs)")
    return {
        "name": "crosshost",
        "params": {"claims": n, "hosts": hosts, "gap_ms": GAP_S * 1000, "switched": len(local_ms)},
        **judge(local_ms, every_ms, each_ms, missed),
    }


def judge(local_ms: list[float], every_ms: list[float], each_ms: list[float], missed: int) -> dict[str, Any]:
    p99 = stats.bootstrap_percentile(every_ms, 99)
    undecided = not p99.below(TARGET_P99_MS) and not p99.above(TARGET_P99_MS)
    return {
        "local_ms": stats.summary(local_ms).as_dict(),
        "every_host_ms": stats.summary(every_ms).as_dict(),
        "each_host_ms": stats.summary(each_ms).as_dict(),
        "missed_a_host": missed,
        "p99_ms": p99.as_dict(),
        "vs_local": stats.compare(every_ms, local_ms).as_dict(),
        "noise_floor": stats.compare(*stats.split_self(local_ms)).as_dict(),
        "samples_ms": every_ms,
        "local_samples_ms": local_ms,
        "target": {
            "what": f"p99 < {TARGET_P99_MS:g} ms to every other host (95% CI)",
            "met": p99.below(TARGET_P99_MS),
            "undecided": undecided or not every_ms,
            "by_ms": p99.low - TARGET_P99_MS,
        },
    }


def _verdict(t: dict[str, Any]) -> str:
    if t.get("undecided"):
        return "**not shown** (the 95% interval holds the limit)"
    return fmt.verdict(t)


def table(r: dict[str, Any]) -> str:
    p = r["params"]
    vs, noise = r["vs_local"], r["noise_floor"]
    return "\n".join(
        [
            f"Claims sent: {p['claims']}, {p['gap_ms']:g} ms apart, between members on hosts 1 and 2 of {p['hosts']}; "
            f"switched locally: {p['switched']}; claims some other host never applied: {r['missed_a_host']}. "
            "Latency in ms from the GARP's kernel receive on the claiming host:",
            "",
            fmt.DIST_HEAD,
            fmt.dist_row("own route acked (one-host path, baseline)", r["local_ms"]),
            fmt.dist_row("route acked on every other host (slowest)", r["every_host_ms"]),
            fmt.dist_row("route acked on each other host", r["each_host_ms"]),
            "",
            f"p99 to every other host with a bootstrap 95% interval: {fmt.ci(r.get('p99_ms'))} ms.",
            f"Every other host against the local path: median difference {fmt.ci(vs['difference'])} ms, "
            f"ratio {fmt.ci(vs['ratio'])}; noise floor of the local path against itself: difference "
            f"{fmt.ci(noise['difference'])} ms, ratio {fmt.ci(noise['ratio'])}.",
            "",
            f"Target {r['target']['what']}: {_verdict(r['target'])}.",
        ]
    )


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    fig, (ax,) = fmt.figure()
    fmt.cdf(ax, r["local_samples_ms"], "own route (one host)")
    if r["samples_ms"]:
        fmt.cdf(ax, r["samples_ms"], "every other host")
    ax.axvline(TARGET_P99_MS, color="red", linestyle="--", label=f"target p99 {TARGET_P99_MS:g} ms")
    ax.set(xlabel="ms", ylabel="fraction of claims", title="Claim across hosts (CDF)")
    ax.legend()
    fmt.save(fig, out / "crosshost_cdf.png")
    return fmt.Section(
        summary=[
            f"| #8 claim across hosts | {r['target']['what']} | {_verdict(r['target'])} p99 = {fmt.ci(r.get('p99_ms'))} ms |"
        ],
        body=[table(r), "", f"![cross-host claim CDF]({rel / 'crosshost_cdf.png'})"],
        notes=[
            "#8 takes its times from the agents' own logs (kernel receive time of the GARP on the claiming host, "
            "netlink ack on each host, one machine and one clock); a claim is matched across hosts by its epoch. "
            "Not yet measured in #8: the client-seen failover across hosts against the one-host lab and the bridge, "
            "the repair path's time with claim messages dropped, the per-host change feed's fan-out, and the OVN "
            "multi-chassis peer."
        ],
    )
