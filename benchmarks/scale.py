"""Benchmark 5: the agent at scale, 2,000 interfaces and 1,000 HaVips on one host.

A real control plane (``havip serve``, SQLite, on a unix socket) holds one VPC with
2,000 instances placed on one host (device ``p<i>``) and 1,000 HaVips, HaVip k with
members 2k and 2k+1 and held by 2k (a claim reported with the host's agent key, the
agent's own path). The host namespace has the 2,000 veths the instances would plug
in: instances 0 and 1 each in a namespace of their own (the UDP stream runs between
them, through the host), the other 1,998 instance ends in one shared namespace.

Measured (platform-internal, so absolute distributions):

- **from empty**: a fresh host namespace, then ``Agent.start()`` until its first
  reconcile ends (fetch, read back, plan, apply); the kernel is then read (links,
  rules, routes, neighbours, the nft ruleset) and checked against what the setup
  implies, not against the agent's word. Repeated on a newly built host each time.
- **no-op resync**: ``Agent.reconcile`` forced on the last run's agent with nothing to
  change: its time and its planned actions, while ``ip monitor`` and ``nft monitor``
  in the host namespace count every kernel change (expected: none).
- **the stream**: ``havip.lab.probe`` (1 ms, sequence numbers, one socket) from
  instance 0 to ``havip.lab.service`` on instance 1 through the host, running through
  the whole no-op phase; requests sent inside a resync window and inside an equally
  long quiet window (interleaved, A B B A ...) are counted as answered or lost.

Targets: from empty under 20 s, no-op under 1 s (the bootstrap interval of the
median), and no request lost inside a resync window.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import fmt, stats
from benchmarks.labs import unique_name
from havip.agent import actions as a
from havip.agent import marks
from havip.agent.control import HttpControlPlane
from havip.agent.dataplane import Dataplane, kernel_for
from havip.agent.kernel import DataplaneError
from havip.agent.observed import Observed
from havip.agent.runtime import Agent
from havip.agent.settings import AgentSettings, DiscoverySettings, FollowSettings
from havip.client import HavipClient
from havip.lab import netns
from havip.lab.build import HAVIP, wait_until
from havip.lab.probe import read_answers
from havip.lab.procs import ProcessTable
from havip.lab.spec import LabPaths, instance_namespace, namespace_prefix
from havip.service.accounts import bootstrap
from havip.store import Store

TARGET_EMPTY_S = 20.0
TARGET_NOOP_S = 1.0
STREAM_INTERVAL_MS = 1.0
VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDR = "10.0.0.0/20"  # 4,094 addresses: 2,000 instances and 1,000 HaVips fit
FIRST_HOST = 10  # instance i has SUBNET + FIRST_HOST + i; HaVip k follows the instances
HOST_NAME = "scale-host"
# Only the benchmark forces passes: no timer resync, no discovery round after the first.
SETTINGS = AgentSettings(follow=FollowSettings(resync_interval=3600.0), discovery=DiscoverySettings(interval=3600.0))


@dataclass(frozen=True)
class Sizes:
    interfaces: int
    havips: int
    empty_runs: int  # hosts built and reconciled from empty
    resyncs: int  # forced no-op passes (as many quiet windows interleaved)


FULL = Sizes(2000, 1000, 3, 6)
TINY = Sizes(20, 10, 1, 4)


class TimedDataplane(Dataplane):
    """The agent's data plane, recording how long each read-back and apply took, so a
    pass splits into fetch / read / plan / apply / read again."""

    def __init__(self, ns: str) -> None:
        super().__init__(ns)
        self.calls: list[tuple[str, float, float]] = []  # (read|apply, start, end) perf_counter
        self.applied = 0  # actions executed, all passes

    def read(self) -> Observed:
        t = time.perf_counter()
        try:
            return super().read()
        finally:
            self.calls.append(("read", t, time.perf_counter()))

    def apply(self, acts: Iterable[a.Action]) -> list[tuple[a.Action, DataplaneError]]:
        t = time.perf_counter()
        acts = list(acts)
        self.applied += len(acts)
        try:
            return super().apply(acts)
        finally:
            self.calls.append(("apply", t, time.perf_counter()))


@dataclass
class Layout:
    """Who is where: addresses, devices, the API's ids (filled by ``_resources``)."""

    name: str
    sizes: Sizes
    addresses: list[str] = field(default_factory=list)
    vips: list[str] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)  # the ENIs' MACs, from the API
    account: str = ""
    agent_token: str = ""

    @property
    def host_ns(self) -> str:
        return instance_namespace(self.name, "host")

    @property
    def bulk_ns(self) -> str:
        return instance_namespace(self.name, "vms")

    def stream_ns(self, i: int) -> str:
        return instance_namespace(self.name, f"i{i}")

    @staticmethod
    def device(i: int) -> str:
        return f"p{i}"

    def holder(self, k: int) -> int:
        return 2 * k if 2 * k < self.sizes.interfaces else k % self.sizes.interfaces


# ------------------------------------------------------------------ control plane


@contextmanager
def control_plane(name: str, table: ProcessTable, progress: Callable[[str], None]) -> Iterator[tuple[str, Any]]:
    """``havip serve`` on a unix socket over a fresh SQLite store: (url, bootstrap)."""
    paths = LabPaths.of(name)
    paths.root.mkdir(parents=True, mode=0o755)
    db = f"sqlite:///{paths.root / 'havip.db'}"
    proc = f"{name}-serve"
    try:
        progress("control plane: havip serve (SQLite) on a unix socket")
        store = Store(db)
        store.migrate()
        boot = bootstrap(store.uow)
        store.dispose()
        table.start(proc, [*HAVIP, "serve", "--db", db, "--listen", f"unix:{paths.api_socket}"])
        url = f"unix://{paths.api_socket}"
        probe = HavipClient(url, None, timeout=2)
        wait_until("the control plane to answer", lambda: bool(probe.healthz()), 30)
        probe.close()
        yield url, boot
    finally:
        table.stop(proc)
        shutil.rmtree(paths.root, ignore_errors=True)


def _resources(url: str, boot: Any, lay: Layout, progress: Callable[[str], None]) -> None:
    """Host, VPC, subnet, instances, HaVips, members and holders, through the API."""
    n, m = lay.sizes.interfaces, lay.sizes.havips
    net = ipaddress.IPv4Network(SUBNET_CIDR)
    lay.addresses = [str(net.network_address + FIRST_HOST + i) for i in range(n)]
    lay.vips = [str(net.network_address + FIRST_HOST + n + k) for k in range(m)]
    with (
        HavipClient(url, boot.operator_token, timeout=60) as op,
        HavipClient(url, boot.tenant_token, timeout=60) as api,
    ):
        lay.account = boot.account.id
        for quota in ("havips_per_account", "havips_per_vpc"):
            op.set_quota(lay.account, quota, max(m, 5))
        lay.agent_token = str(op.create("hosts", {"name": HOST_NAME})["agent_key"]["token"])
        vpc = api.create("vpcs", {"cidr": VPC_CIDR, "name": "scale"})
        subnet = api.create("subnets", {"vpc_id": vpc["id"], "cidr": SUBNET_CIDR, "name": "scale"})
        instances, enis = [], []
        t = time.monotonic()
        for i, ip in enumerate(lay.addresses):
            body = {"subnet_id": subnet["id"], "primary_ip": ip, "name": f"vm{i}", "host": HOST_NAME}
            inst = api.create("instances", {**body, "device": lay.device(i)})
            instances.append(inst["id"])
            enis.append(inst["network_interfaces"][0]["id"])
            lay.macs.append(str(inst["network_interfaces"][0]["mac"]).lower())
            if (i + 1) % 500 == 0:
                progress(f"resources: {i + 1}/{n} instances ({time.monotonic() - t:.0f} s)")
        with HavipClient(url, lay.agent_token, timeout=60) as agent:
            for k, vip in enumerate(lay.vips):
                havip = api.create("havips", {"subnet_id": subnet["id"], "ip": vip, "name": f"v{k}"})
                members = {lay.holder(k), (lay.holder(k) + 1) % n}
                for i in sorted(members):
                    api.associate(havip["id"], "instance", instances[i])
                claim = {"havip_id": havip["id"], "interface_id": enis[lay.holder(k)], "kind": "claim"}
                agent.report(HOST_NAME, {**claim, "at": dt.datetime.now(dt.UTC).isoformat()})
                if (k + 1) % 250 == 0:
                    progress(f"resources: {k + 1}/{m} HaVips held ({time.monotonic() - t:.0f} s)")


# --------------------------------------------------------------------- the host


@contextmanager
def host(lay: Layout) -> Iterator[None]:
    """The host namespace with every instance's veth, the instance ends placed in the
    shared namespace (two in their own, addressed, for the stream); removed on exit."""
    made: list[str] = []
    try:
        for ns in (lay.host_ns, lay.bulk_ns, lay.stream_ns(0), lay.stream_ns(1)):
            netns.create(ns)
            made.append(ns)
        lines = []
        for i in range(lay.sizes.interfaces):
            peer = ("eth0", lay.stream_ns(i)) if i < 2 else (f"e{i}", lay.bulk_ns)
            lines.append(f"link add {lay.device(i)} type veth peer name {peer[0]} netns {peer[1]}")
        _batch(lay.host_ns, lines)
        _batch(lay.bulk_ns, [f"link set e{i} up" for i in range(2, lay.sizes.interfaces)])
        gateway = str(ipaddress.IPv4Network(SUBNET_CIDR).network_address + 1)
        prefix = ipaddress.IPv4Network(SUBNET_CIDR).prefixlen
        for i in range(2):
            netns.ip("link", "set", "eth0", "address", lay.macs[i], netns=lay.stream_ns(i))
            netns.configure_instance(lay.stream_ns(i), "eth0", lay.addresses[i], prefix, gateway)
        yield
    finally:
        for ns in reversed(made):
            netns.delete(ns)


def _batch(ns: str, lines: list[str]) -> None:
    if lines:
        netns.run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n", timeout=300)


def _ip_json(ns: str, *args: str) -> list[dict[str, Any]]:
    out = netns.run(["ip", "-n", ns, "-j", *args], timeout=120).stdout
    return list(json.loads(out)) if out.strip() else []


def verify(lay: Layout) -> dict[str, Any]:
    """Read the host's kernel and compare it with what the setup implies: every port
    adopted, two iif rules per port, a /32 route and a permanent neighbour per address
    and per held VIP (on its holder's port), the VPC's default into its sink, and the
    antispoof table hooked on every port."""
    n, m = lay.sizes.interfaces, lay.sizes.havips
    ns = lay.host_ns
    links = {x["ifname"]: x for x in _ip_json(ns, "-d", "link", "show")}
    ports = [
        d
        for i in range(n)
        if (x := links.get(d := lay.device(i)))
        and str(x.get("ifalias", "")).startswith(marks.ALIAS_PORT)
        and x.get("address") == marks.GATEWAY_MAC
        and "UP" in x.get("flags", [])
    ]
    rules = _ip_json(ns, "rule", "show")
    lookup = {r.get("iif") for r in rules if r.get("priority") == marks.RULE_PREF_LOOKUP}
    unreachable = {r.get("iif") for r in rules if r.get("priority") == marks.RULE_PREF_UNREACHABLE}
    routes = {
        (r["dst"], r.get("dev"))
        for r in _ip_json(ns, "route", "show", "table", "all")
        if str(r.get("table", "")).isdigit() and marks.is_our_route_table(int(r["table"]))
    }
    want_routes = {(ip, lay.device(i)) for i, ip in enumerate(lay.addresses)}
    want_routes |= {(vip, lay.device(lay.holder(k))) for k, vip in enumerate(lay.vips)}
    neighs = {(x["dst"], x["dev"], x.get("lladdr")) for x in _ip_json(ns, "neigh", "show", "nud", "permanent")}
    want_neighs = {(ip, lay.device(i), lay.macs[i]) for i, ip in enumerate(lay.addresses)}
    want_neighs |= {(vip, lay.device(lay.holder(k)), lay.macs[lay.holder(k)]) for k, vip in enumerate(lay.vips)}
    antispoof = netns.run(["ip", "netns", "exec", ns, "nft", "list", "table", "netdev", "havip_antispoof"], check=False)
    hooked = set()
    for line in antispoof.stdout.splitlines():
        if "hook ingress devices" in line:
            hooked |= {d.strip().strip('"') for d in line.split("{", 1)[1].split("}", 1)[0].split(",")}
    garp = netns.run(["ip", "netns", "exec", ns, "nft", "list", "table", "arp", "havip_garp"], check=False)
    devices = {lay.device(i) for i in range(n)}
    found = {
        "ports": len(ports),
        "lookup_rules": len(lookup & devices),
        "unreachable_rules": len(unreachable & devices),
        "routes": len(want_routes & routes),
        "default_routes": sum(1 for dst, _ in routes if dst == "default"),
        "neighbours": len(want_neighs & neighs),
        "antispoof_ports": len(hooked & devices),
        "garp_table": int(garp.returncode == 0),
    }
    wanted = {
        "ports": n,
        "lookup_rules": n,
        "unreachable_rules": n,
        "routes": n + m,
        "default_routes": 1,
        "neighbours": n + m,
        "antispoof_ports": n,
        "garp_table": 1,
    }
    return {"found": found, "complete": found == wanted}


# ------------------------------------------------------------------ measurements


def _phases(dp: TimedDataplane, since: float, start: float, end: float) -> dict[str, float]:
    """One pass split by the data plane's calls: fetch (start to the first read),
    read, apply, read again (after applying), and the rest (planning, the agent's own)."""
    calls = [c for c in dp.calls if c[1] >= since]
    reads = [c for c in calls if c[0] == "read"]
    applies = sum(e - s for kind, s, e in calls if kind == "apply")
    first = reads[0][1] if reads else end
    out = {
        "fetch_s": first - start,
        "read_s": (reads[0][2] - reads[0][1]) if reads else 0.0,
        "apply_s": applies,
        "reread_s": sum(e - s for _, s, e in reads[1:]),
    }
    out["other_s"] = (end - start) - sum(out.values())
    return out


def from_empty(
    url: str,
    lay: Layout,
    progress: Callable[[str], None],
    run: int,
    then: Callable[[Agent, TimedDataplane], dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Build a fresh host, start an agent, time until its first reconcile ended; then
    (the last run) hand the reconciled host and its running agent to ``then``."""
    with host(lay):
        dp = TimedDataplane(lay.host_ns)
        client = HavipClient(url, lay.agent_token, timeout=60)
        agent = Agent(
            HttpControlPlane(client, HOST_NAME), HOST_NAME, kernel_for(dp, SETTINGS.nft.nflog_group), SETTINGS
        )
        try:
            progress(f"from empty {run}: host built, agent starting")
            start = time.perf_counter()
            agent.start()
            wait_until("the first reconcile", lambda: agent.reconciled_revision is not None, 600, interval=0.002)
            end = time.perf_counter()
            checked = verify(lay)
            progress(f"from empty {run}: {end - start:.2f} s, kernel complete: {checked['complete']}")
            result = {"seconds": end - start, **_phases(dp, start, start, end), "actions": dp.applied, **checked}
            return result, then(agent, dp) if then is not None else None
        finally:
            client.close()  # ends the pending long poll: the agent stops without waiting it out
            agent.stop()
            dp.close()


@contextmanager
def monitors(ns: str) -> Iterator[Callable[[], dict[str, list[str]]]]:
    """``ip monitor`` and ``nft monitor`` in ``ns``; yields a function giving their lines so far."""
    argv = {
        "ip": ["ip", "-n", ns, "-o", "monitor", "link", "address", "route", "rule", "neigh"],
        "nft": ["ip", "netns", "exec", ns, "nft", "monitor"],
    }
    procs = {
        k: subprocess.Popen(v, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for k, v in argv.items()
    }
    lines: dict[str, list[str]] = {}
    try:
        time.sleep(0.3)  # both subscribed before anything is measured
        yield lambda: lines
    finally:
        for k, p in procs.items():
            p.terminate()
            out, _ = p.communicate(timeout=10)
            lines[k] = [line for line in out.splitlines() if line.strip()]


@dataclass
class Window:
    kind: str  # "resync" | "quiet"
    start_ns: int
    end_ns: int


def noop_phase(
    agent: Agent, dp: TimedDataplane, lay: Layout, table: ProcessTable, progress: Callable[[str], None], root: Path
) -> dict[str, Any]:
    """On a reconciled host: the stream running, forced no-op passes interleaved with
    equally long quiet windows; kernel changes counted throughout."""
    passes: list[dict[str, Any]] = []
    windows: list[Window] = []
    log = root / "probe.log"
    procs = [f"{lay.name}-service", f"{lay.name}-probe"]
    try:
        py = [sys.executable, "-m"]
        table.start(procs[0], netns.exec_args(lay.stream_ns(1), *py, "havip.lab.service", "--name", "i1"))
        args = ["--target", lay.addresses[1], "--interval-ms", str(STREAM_INTERVAL_MS), "--out", str(log)]
        table.start(procs[1], netns.exec_args(lay.stream_ns(0), *py, "havip.lab.probe", *args))
        wait_until("the stream to be answered", lambda: bool(read_answers(log)), 30)
        time.sleep(1.0)  # the start's discovery round is over
        state = agent.state
        assert state is not None
        with monitors(lay.host_ns) as changes:
            quiet_s = 0.5
            for i in range(lay.sizes.resyncs):
                order = ("resync", "quiet") if i % 2 == 0 else ("quiet", "resync")
                for kind in order:
                    t0 = time.time_ns()
                    if kind == "quiet":
                        time.sleep(quiet_s)
                    else:
                        since = time.perf_counter()
                        acts = agent.reconcile(state)
                        took = time.perf_counter() - since
                        quiet_s = took
                        passes.append(
                            {"seconds": took, "actions": len(acts), **_phases(dp, since, since, since + took)}
                        )
                    windows.append(Window(kind, t0, time.time_ns()))
                    time.sleep(0.2)  # answers of the window's last requests are in
                progress(f"no-op resync {i + 1}/{lay.sizes.resyncs}: {passes[-1]['seconds']:.3f} s")
        kernel_changes = {k: len(v) for k, v in changes().items()}
        samples = {k: v[:20] for k, v in changes().items()}
    finally:
        for p in procs:
            table.stop(p)
    return {"passes": passes, "kernel_changes": kernel_changes, "change_samples": samples, **stream(log, windows)}


def stream(log: Path, windows: list[Window]) -> dict[str, Any]:
    """Requests sent inside each window, answered or lost, and answers' round trips."""
    answers = sorted(read_answers(log), key=lambda x: x.seq)
    sent: list[tuple[int, int, int | None]] = []  # (seq, sent_ns estimated for the lost, rtt_ns)
    for prev, cur in itertools.pairwise(answers):
        if not sent:
            sent.append((prev.seq, prev.sent_ns, prev.recv_ns - prev.sent_ns))
        gap = cur.seq - prev.seq
        for j in range(1, gap):  # lost: sent between its answered neighbours
            sent.append((prev.seq + j, prev.sent_ns + (cur.sent_ns - prev.sent_ns) * j // gap, None))
        sent.append((cur.seq, cur.sent_ns, cur.recv_ns - cur.sent_ns))
    out: dict[str, Any] = {"windows": []}
    rtts: dict[str, list[float]] = {"resync": [], "quiet": []}
    p99s: dict[str, list[float]] = {"resync": [], "quiet": []}  # one per window: the unit compared
    for w in windows:
        inside = [s for s in sent if w.start_ns <= s[1] <= w.end_ns]
        lost = sum(1 for s in inside if s[2] is None)
        mine = [s[2] / 1e6 for s in inside if s[2] is not None]
        rtts[w.kind] += mine
        p99 = stats.summary(mine).p99
        if mine:
            p99s[w.kind].append(p99)
        out["windows"].append(
            {"kind": w.kind, "ms": (w.end_ns - w.start_ns) / 1e6, "sent": len(inside), "lost": lost, "rtt_p99_ms": p99}
        )
    for kind in ("resync", "quiet"):
        of_kind = [w for w in out["windows"] if w["kind"] == kind]
        out[kind] = {
            "windows": len(of_kind),
            "sent": sum(w["sent"] for w in of_kind),
            "lost": sum(w["lost"] for w in of_kind),
            "rtt_ms": stats.summary(rtts[kind]).as_dict(),
        }
    quiet = [w["lost"] for w in out["windows"] if w["kind"] == "quiet"]
    halves = stats.split_self(quiet)
    out["noise_floor_lost"] = [sum(halves[0]), sum(halves[1])]
    out["rtt_p99_difference_ms"] = stats.compare(p99s["resync"], p99s["quiet"]).as_dict()
    out["rtt_p99_noise_floor_ms"] = stats.compare(*stats.split_self(p99s["quiet"])).as_dict()
    return out


def _judge(seconds: list[float], limit: float) -> dict[str, Any]:
    p50 = stats.bootstrap_percentile(seconds, 50)
    return {
        "seconds": stats.summary(seconds).as_dict(),
        "p50_s": p50.as_dict(),
        "target": {"what": f"median < {limit:g} s (95% CI)", "met": p50.below(limit), "by": p50.high - limit},
    }


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict[str, Any]:
    sizes = TINY if tiny else FULL
    lay = Layout(unique_name("bs"), sizes)
    if any(ns.startswith(namespace_prefix(lay.name)) for ns in netns.list_namespaces()):
        raise RuntimeError(f"namespaces of {lay.name} exist already")
    with control_plane(lay.name, table, progress) as (url, boot):
        t = time.monotonic()
        _resources(url, boot, lay, progress)
        setup_s = time.monotonic() - t
        progress(f"resources: {sizes.interfaces} instances, {sizes.havips} HaVips in {setup_s:.0f} s")
        root = LabPaths.of(lay.name).root
        empty = [from_empty(url, lay, progress, r + 1)[0] for r in range(sizes.empty_runs - 1)]
        last, phase = from_empty(
            url, lay, progress, sizes.empty_runs, lambda agent, dp: noop_phase(agent, dp, lay, table, progress, root)
        )
        assert phase is not None
        empty.append(last)
        noop = phase
    changes = sum(noop["kernel_changes"].values())
    actions = sum(p["actions"] for p in noop["passes"])
    lost = noop["resync"]["lost"]
    return {
        "name": "scale",
        "params": {
            "interfaces": sizes.interfaces,
            "havips": sizes.havips,
            "empty_runs": sizes.empty_runs,
            "resyncs": sizes.resyncs,
            "stream_interval_ms": STREAM_INTERVAL_MS,
            "setup_s": setup_s,
        },
        "empty": {
            "runs": empty,
            "complete": all(r["complete"] for r in empty),
            **_judge([r["seconds"] for r in empty], TARGET_EMPTY_S),
        },
        "noop": {
            "passes": noop["passes"],
            "actions": actions,
            "kernel_changes": noop["kernel_changes"],
            "change_samples": noop["change_samples"],
            **_judge([p["seconds"] for p in noop["passes"]], TARGET_NOOP_S),
        },
        "stream": {
            k: noop[k]
            for k in (
                "windows",
                "resync",
                "quiet",
                "noise_floor_lost",
                "rtt_p99_difference_ms",
                "rtt_p99_noise_floor_ms",
            )
        },
        "zero_changes": {
            "what": "no-op: zero planned actions and zero kernel changes",
            "met": actions == 0 and changes == 0,
        },
        "no_loss": {"what": "no request of the stream lost in a resync window", "met": lost == 0, "by": lost},
    }


def table(r: dict[str, Any]) -> str:
    p, e, n, s = r["params"], r["empty"], r["noop"], r["stream"]
    runs = e["runs"]
    phases = " ".join(f"{k[:-2]} {stats.median([x[k] for x in runs]):.2f}" for k in PHASES)
    nphases = " ".join(f"{k[:-2]} {stats.median([x[k] for x in n['passes']]) * 1000:.1f}" for k in PHASES)
    return "\n".join(
        [
            f"{p['interfaces']} interfaces, {p['havips']} HaVips held on one host; {p['empty_runs']} hosts reconciled "
            f"from empty ({runs[0]['actions']} actions each), {p['resyncs']} forced no-op resyncs; "
            f"resources created through the API in {p['setup_s']:.0f} s.",
            "",
            fmt.DIST_HEAD,
            fmt.dist_row("from empty (s)", e["seconds"]),
            fmt.dist_row("no-op resync (ms)", {k: v * 1000 if k != "n" else v for k, v in n["seconds"].items()}, 1),
            fmt.dist_row("stream RTT, quiet (ms)", s["quiet"]["rtt_ms"], 3),
            fmt.dist_row("stream RTT, resync (ms)", s["resync"]["rtt_ms"], 3),
            "",
            f"Median phases from empty (s): {phases}. No-op (ms): {nphases}.",
            f"Kernel after each from-empty run complete (read back): {e['complete']}.",
            f"No-op passes: {n['actions']} planned actions in all; kernel changes seen by ip/nft monitor: "
            f"{n['kernel_changes']}.",
            f"Stream ({p['stream_interval_ms']:g} ms): resync windows {s['resync']['lost']} lost of "
            f"{s['resync']['sent']}, quiet windows {s['quiet']['lost']} lost of {s['quiet']['sent']} "
            f"(quiet halves A-A: {s['noise_floor_lost']}). Per-window RTT p99, resync - quiet: "
            f"{fmt.ci(s['rtt_p99_difference_ms']['difference'], 3)} ms "
            f"(A-A, quiet windows split: {fmt.ci(s['rtt_p99_noise_floor_ms']['difference'], 3)} ms).",
            "",
            f"Target from empty {e['target']['what']}: {fmt.verdict(e['target'], 's')} median {fmt.ci(e['p50_s'])} s.",
            f"Target no-op {n['target']['what']}: {fmt.verdict(n['target'], 's')} median {fmt.ci(n['p50_s'], 3)} s; "
            f"{r['zero_changes']['what']}: {fmt.verdict(r['zero_changes'])}.",
            f"Target {r['no_loss']['what']}: {fmt.verdict(r['no_loss'], 'requests')}.",
        ]
    )


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    fig, (left, right) = fmt.figure(cols=2)
    fmt.cdf(left, [x["seconds"] for x in r["empty"]["runs"]], "from empty")
    left.axvline(TARGET_EMPTY_S, color="red", linestyle="--", label=f"target {TARGET_EMPTY_S:g} s")
    left.set(xlabel="s", ylabel="fraction of runs", title="Reconcile from empty (CDF)")
    left.legend()
    fmt.cdf(right, [x["seconds"] * 1000 for x in r["noop"]["passes"]], "no-op resync")
    right.axvline(TARGET_NOOP_S * 1000, color="red", linestyle="--", label=f"target {TARGET_NOOP_S:g} s")
    right.set(xlabel="ms", ylabel="fraction of passes", title="No-op resync (CDF)")
    right.legend()
    fmt.save(fig, out / "scale_cdf.png")
    e, n = r["empty"], r["noop"]
    return fmt.Section(
        summary=[
            f"| #5 agent at scale, from empty | {e['target']['what']} | {fmt.verdict(e['target'], 's')} "
            f"median = {fmt.ci(e['p50_s'])} s |",
            f"| #5 agent at scale, no-op resync | {n['target']['what']}; zero kernel changes | "
            f"{fmt.verdict(n['target'], 's')} median = {fmt.ci(n['p50_s'], 3)} s; "
            f"changes: {fmt.verdict(r['zero_changes'])} |",
            f"| #5 agent at scale, stream during resync | {r['no_loss']['what']} | "
            f"{fmt.verdict(r['no_loss'], 'requests')} ({r['stream']['resync']['lost']} of "
            f"{r['stream']['resync']['sent']}) |",
        ],
        body=[table(r), "", f"![reconcile times]({rel / 'scale_cdf.png'})"],
        notes=[
            "The agent runs in the benchmark's process (the real `Agent`, its data plane timed per "
            "read and apply); the control plane is `havip serve` in its own process. From empty starts at "
            "`Agent.start()` (so it includes fetching the desired state) and ends when the first reconcile returned; "
            "the kernel is then read with `ip -j` and `nft` and compared with the setup, not the agent's plan. "
            "A no-op resync is `Agent.reconcile` forced on the running agent; `ip monitor` and `nft monitor` in the "
            "host namespace run through all of them. The stream is `havip.lab.probe` -> `havip.lab.service` between "
            "instances 0 and 1 through the host; a request counts for the window it was sent in (a lost one at its "
            "interpolated send time), quiet windows as long as the previous resync, alternating order."
        ],
    )


PHASES = ("fetch_s", "read_s", "apply_s", "reread_s", "other_s")
