"""Benchmark 9: the change feed at fleet scale (issue 14, item 7), on PostgreSQL.

Two fleets are served at once, each by its own ``havip serve`` on its own PostgreSQL
database (one cluster): a small one (100 hosts) and a large one (1,000). In each, every host
has an underlay address and an interface; one VPC ("hot") spans 10 of the hosts (an
instance on each), the other hosts sit in VPCs of 10 hosts each as well. A HaVip of the hot VPC
has two members, on hot hosts 0 and 1.

Every host has a simulated agent: an asyncio long-poll client (httpx, one connection each,
no kernel) that polls ``GET /v1/hosts/{host}/desired-state?since_revision=R&wait=60`` with
its own agent key and polls again after each answer, counting the answers that carry a new
revision (wake-ups). Then claims are sent, alternating between the two fleets, each
alternating between the members (the agents' report API, with the claiming host's key and a
growing epoch). For each claim: the hosts woken (target: the 10 hot hosts and no other),
and the server process's CPU time (``/proc/PID/stat`` utime + stime of ``havip serve``)
from the report until the 10 have answered and re-polled, minus the CPU of an idle window
of the same length right after (the waiting polls' periodic recheck, which grows with the
fleet and is no claim's cost). The polls were armed together, so their rechecks (every 30 s)
and expiries (60 s) come in bursts; a claim is sent only in a quiet gap between them
(``QUIET_AHEAD_S``), as those bursts are what waiting costs (the idle column), not a claim. Target: the CPU per claim is the same at 100 and 1,000 hosts:
**met** when the bootstrap 95% interval of the ratio of medians (large / small) lies within
[0.8, 1.25]; **missed** when it lies wholly outside; otherwise not shown.

Seeding: hosts, VPCs, subnets and the hot instances go through the service layer; the
other hosts' interfaces are written in bulk through the store's session (as benchmark 4
does). PostgreSQL's own CPU (its backends) is not counted: only the control plane's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.integration import pg

from benchmarks import fmt, stats
from benchmarks.control import _addresses, _bulk, _ctx, serving
from havip.api.routers.hosts import RECHECK
from havip.domain import ids, rules
from havip.domain.model import IpAllocation, MemberType, NetworkInterface
from havip.lab.procs import ProcessTable
from havip.service import compute, havips, network
from havip.service.accounts import bootstrap
from havip.store import Store

HOT_HOSTS = 10
"""Hosts the claimed HaVip's VPC spans: exactly these must wake."""
WAIT_S = 60.0
"""The simulated agents' long-poll wait (the most the API allows)."""
SETTLE_S = 0.3
"""Seconds after the last expected answer in which a spurious wake-up would still be counted."""
ANSWER_TIMEOUT_S = 10.0
QUIET_AHEAD_S = 3.0
"""A claim is sent only when no waiting poll's recheck or expiry falls within this many seconds
(the claim's window and its idle window): those come in bursts, as the polls were armed
together, and are what waiting costs, not what a claim costs."""
QUIET_MAX_WAIT_S = 8.0
RATIO_BAND = (0.8, 1.25)
"""The CPU-per-claim ratio (large / small) counts as "the same" inside this band."""


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    claims: int  # per fleet


FULL = Sizes(small=100, large=1000, claims=20)
TINY = Sizes(small=20, large=100, claims=4)


@dataclass
class Fleet:
    """One seeded store: its hosts' names and agent keys, the hot members, the HaVip."""

    url: str
    hosts: dict[str, str]  # name -> agent token
    hot: list[str]  # the hot VPC's hosts
    members: list[tuple[str, str]]  # (host, interface id) of the HaVip's two members
    havip_id: str


def _underlay(n: int) -> str:
    return str(ipaddress.IPv4Address("10.128.0.1") + n)


def seed(url: str, n: int, progress: Callable[[str], None]) -> Fleet:
    """``n`` hosts with underlays; ``HOT_HOSTS`` of them with an instance in the hot VPC, the
    others with an interface each in VPCs of ``HOT_HOSTS`` hosts; a HaVip with members on hot
    hosts 0 and 1."""
    store = Store(url)
    try:
        store.migrate()
        boot = bootstrap(store.uow)
        ctx = _ctx(store)
        acc = boot.account.id
        tokens: dict[str, str] = {}
        host_ids: dict[str, str] = {}
        for k in range(n):
            host, key = compute.create_host(ctx, name=f"f{k:04d}", underlay=_underlay(k))
            tokens[host.name], host_ids[host.name] = key.token, host.id
        names = sorted(tokens)
        hot_vpc = network.create_vpc(ctx, cidr="10.10.0.0/16", name="hot", account_id=acc)
        hot_net = network.create_subnet(ctx, vpc_id=hot_vpc.id, cidr="10.10.1.0/24", name="hot")
        hot = names[:HOT_HOSTS]
        enis = {}
        for name in hot:
            _, eni = compute.create_instance(ctx, subnet_id=hot_net.id, placement=compute.Placement(host=name))
            enis[name] = eni
        rows: list[Any] = []
        cold = names[HOT_HOSTS:]
        for g in range(0, len(cold), HOT_HOSTS):  # the other hosts in VPCs of the same size
            vpc = network.create_vpc(ctx, cidr=f"10.{20 + g // HOT_HOSTS}.0.0/16", name=f"cold{g}", account_id=acc)
            subnet = network.create_subnet(ctx, vpc_id=vpc.id, cidr=vpc.cidr.replace(".0.0/16", ".0.0/24"))
            addrs = _addresses(subnet.cidr)
            for k, name in enumerate(cold[g : g + HOT_HOSTS], start=g):
                ip = next(addrs)
                eni_row = NetworkInterface(
                    id=ids.new_id("network_interface"),
                    account_id=acc,
                    region=subnet.region,
                    vpc_id=vpc.id,
                    subnet_id=subnet.id,
                    primary_ip=ip,
                    mac=rules.check_mac(f"02:fe:00:{k >> 8 & 255:02x}:{k & 255:02x}:01"),
                    host_id=host_ids[name],
                    device=rules.check_device(f"fl{k}"),
                )
                rows += [
                    eni_row,
                    IpAllocation(ids.new_id("allocation"), subnet.id, ip, "network_interface", eni_row.id),
                ]
        _bulk(store, rows)
        havip = havips.create_havip(ctx, subnet_id=hot_net.id).havip
        members = []
        for name in hot[:2]:
            inst = enis[name].instance_id
            assert inst is not None
            havips.associate(ctx, havip.id, MemberType.INSTANCE, inst)
            members.append((name, enis[name].id))
        progress(f"fleet: seeded {n} hosts, {HOT_HOSTS} in the claimed VPC")
        return Fleet(url, tokens, hot, members, havip.id)
    finally:
        store.dispose()


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Agents:
    """The simulated agents of one fleet: long polls that count their wake-ups."""

    base: str
    fleet: Fleet
    revision: dict[str, int] = field(default_factory=dict)
    woken: dict[str, list[float]] = field(default_factory=dict)  # host -> monotonic times of new revisions
    answers: int = 0
    armed: dict[str, float] = field(default_factory=dict)  # host -> when its long poll was sent

    retries: int = 0

    async def _get(self, http: httpx.AsyncClient, url: str, headers: dict[str, str], **kw: Any) -> Any:
        """GET, again after a transport error (as an agent retries): a connection the server
        closed for idling (uvicorn's 5 s keep-alive) can be picked from the shared pool."""
        for attempt in range(3):
            try:
                answer = await http.get(url, headers=headers, **kw)
                if answer.status_code == 304:  # a long poll that ended with nothing new
                    return None
                answer.raise_for_status()
                return answer.json()
            except httpx.TransportError:
                if attempt == 2:
                    raise
                self.retries += 1
        raise AssertionError("unreachable")

    async def run_one(self, http: httpx.AsyncClient, host: str) -> None:
        headers = {"Authorization": f"Bearer {self.fleet.hosts[host]}"}
        path = f"{self.base}/v1/hosts/{host}/desired-state"
        self.revision[host] = (await self._get(http, path, headers, timeout=300))["revision"]
        while True:
            params = {"since_revision": self.revision[host], "wait": WAIT_S}
            self.armed[host] = time.monotonic()
            answer = await self._get(http, path, headers, params=params, timeout=WAIT_S + 30)
            self.answers += 1
            revision = self.revision[host] if answer is None else answer["revision"]
            if revision != self.revision[host]:
                self.woken.setdefault(host, []).append(time.monotonic())
            self.revision[host] = revision

    def busy(self, start: float, end: float) -> bool:
        """Whether a waiting poll's server-side recheck or its expiry falls in [start, end]."""
        return any(start <= a + k <= end for a in self.armed.values() for k in (RECHECK, 2 * RECHECK, WAIT_S))

    def woken_since(self, t0: float) -> set[str]:
        return {h for h, times in self.woken.items() if times and times[-1] >= t0}


async def _waiting(http: httpx.AsyncClient, base: str) -> int:
    try:
        text = (await http.get(f"{base}/metrics")).text
    except httpx.TransportError:
        return 0  # asked again
    for line in text.splitlines():
        if line.startswith("havip_api_long_polls_waiting "):
            return int(float(line.split()[1]))
    return 0


@dataclass
class Measured:
    woken: list[int] = field(default_factory=list)  # hosts woken per claim
    others: list[int] = field(default_factory=list)  # of which outside the hot VPC
    gross_ms: list[float] = field(default_factory=list)
    idle_ms: list[float] = field(default_factory=list)
    window_s: list[float] = field(default_factory=list)
    retries: int = 0  # the simulated agents' GETs repeated after a transport error
    quiet_wait_s: list[float] = field(default_factory=list)  # waited before each claim for a quiet window

    @property
    def net_ms(self) -> list[float]:
        return [g - i for g, i in zip(self.gross_ms, self.idle_ms, strict=True)]


async def _claim(http: httpx.AsyncClient, agents: Agents, pid: int, k: int, out: Measured) -> None:
    fleet = agents.fleet
    host, interface = fleet.members[k % 2]
    body = {
        "havip_id": fleet.havip_id,
        "interface_id": interface,
        "kind": "claim",
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "epoch": k + 1,
    }
    headers = {"Authorization": f"Bearer {fleet.hosts[host]}"}
    t0, cpu0 = time.monotonic(), cpu_seconds(pid)
    for attempt in range(3):  # a keep-alive connection the server closed: send again (as the reporter does)
        try:
            answer = await http.post(f"{agents.base}/v1/hosts/{host}/reports", json=body, headers=headers)
            break
        except httpx.TransportError:
            if attempt == 2:
                raise
            agents.retries += 1
    answer.raise_for_status()
    assert answer.json()["outcome"] == "holder-changed", answer.text
    deadline = t0 + ANSWER_TIMEOUT_S
    while not set(fleet.hot) <= agents.woken_since(t0) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    await asyncio.sleep(SETTLE_S)
    window, gross = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    cpu1 = cpu_seconds(pid)
    await asyncio.sleep(window)  # the same length with no claim: what waiting costs
    idle = cpu_seconds(pid) - cpu1
    woken = agents.woken_since(t0)
    out.woken.append(len(woken))
    out.others.append(len(woken - set(fleet.hot)))
    out.gross_ms.append(gross * 1000)
    out.idle_ms.append(idle * 1000)
    out.window_s.append(window)


async def _quiet(everyone: list[Agents]) -> float:
    """Wait until no poll's recheck or expiry is due within ``QUIET_AHEAD_S`` (at most
    ``QUIET_MAX_WAIT_S``); returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < QUIET_MAX_WAIT_S:
        now = time.monotonic()
        if not any(a.busy(now - 0.5, now + QUIET_AHEAD_S) for a in everyone):
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - t0


async def measure(
    fleets: dict[str, tuple[Agents, int]], claims: int, progress: Callable[[str], None]
) -> dict[str, Measured]:
    """Start every simulated agent, wait until all wait, then the claims, alternating fleets."""
    total = sum(len(a.fleet.hosts) for a, _ in fleets.values())
    limits = httpx.Limits(max_connections=total + 50, max_keepalive_connections=total + 50)
    out = {name: Measured() for name in fleets}
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        tasks = [
            asyncio.create_task(agents.run_one(http, host))
            for agents, _pid in fleets.values()
            for host in agents.fleet.hosts
        ]
        try:
            deadline = time.monotonic() + 300
            for agents, _pid in fleets.values():
                want = len(agents.fleet.hosts)
                while await _waiting(http, agents.base) < want:
                    if time.monotonic() > deadline or any(t.done() for t in tasks):
                        raise RuntimeError(f"the agents of {agents.base} did not all wait: {_stopped(tasks)}")
                    await asyncio.sleep(0.2)
            progress(f"fleet: {total} simulated agents waiting")
            await asyncio.sleep(1.0)
            everyone = [a for a, _pid in fleets.values()]
            for k in range(claims):
                for name, (agents, pid) in fleets.items():
                    out[name].quiet_wait_s.append(await _quiet(everyone))
                    await _claim(http, agents, pid, k, out[name])
                if any(t.done() for t in tasks):
                    raise RuntimeError(f"a simulated agent stopped: {_stopped(tasks)}")
            progress(f"fleet: {claims} claims per fleet sent")
            for name, (agents, _pid) in fleets.items():
                out[name].retries = agents.retries
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return out


def _stopped(tasks: list[asyncio.Task[None]]) -> str:
    done = [t for t in tasks if t.done() and not t.cancelled()]
    return repr(done[0].exception()) if done else "none stopped (timeout)"


def _fleet_result(hosts: int, m: Measured) -> dict[str, Any]:
    return {
        "hosts": hosts,
        "woken": m.woken,
        "woken_outside": m.others,
        "gross_ms": m.gross_ms,
        "idle_ms": m.idle_ms,
        "net_ms": m.net_ms,
        "window_s": m.window_s,
        "retries": m.retries,
        "quiet_wait_s": m.quiet_wait_s,
        "net": stats.summary(m.net_ms).as_dict(),
        "idle_rate_ms_per_s": sum(m.idle_ms) / sum(m.window_s) if m.window_s else None,
    }


def judge(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    """The targets of one run: who woke, and CPU per claim large / small (pure).

    The ratio's target is two of ``stats.judge_below``, the one verdict rule: under the band's
    top, and (negated) over its bottom; met when both are, missed when either is missed,
    otherwise not shown."""
    low, high = RATIO_BAND
    ratio = stats.compare(large["net_ms"], small["net_ms"]).ratio
    floor = stats.compare(*stats.split_self(small["net_ms"])).ratio
    what = f"CPU per claim at {large['hosts']:,} / at {small['hosts']:,} hosts within [{low}, {high}] (95% CI)"
    under = stats.judge_below(ratio, high, what)
    over = stats.judge_below(stats.Interval(-ratio.estimate, -ratio.high, -ratio.low), -low, what)
    met = under["met"] and over["met"]
    missed = any(not t["met"] and not t["undecided"] for t in (under, over))
    by = max(under["by_ms"] or 0.0, over["by_ms"] or 0.0) if missed else None
    woken_ok = all(w == HOT_HOSTS for f in (small, large) for w in f["woken"]) and not any(
        o for f in (small, large) for o in f["woken_outside"]
    )
    return {
        "ratio": ratio.as_dict(),
        "noise_floor_ratio": floor.as_dict(),
        "cpu_target": {
            "what": what,
            "met": met,
            "undecided": not met and not missed,
            **({"by": by} if by is not None else {}),
        },
        "woken_target": {"what": f"a claim wakes exactly the {HOT_HOSTS} hosts of its VPC", "met": woken_ok},
    }


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict[str, Any]:
    sizes = TINY if tiny else FULL
    work = Path(tempfile.mkdtemp(prefix="havip-bench-fleet-"))
    cluster = pg.start()
    try:
        fleets = {
            name: seed(cluster.url(cluster.create_database()), n, progress)
            for name, n in (("small", sizes.small), ("large", sizes.large))
        }
        with serving(table, {f"fleet-{k}": f.url for k, f in fleets.items()}, work) as bases:
            running = {
                name: (Agents(bases[f"fleet-{name}"], f), table.procs[f"fleet-{name}"].pid)
                for name, f in fleets.items()
            }
            measured = asyncio.run(measure(running, sizes.claims, progress))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    small = _fleet_result(sizes.small, measured["small"])
    large = _fleet_result(sizes.large, measured["large"])
    return {
        "name": "fleet",
        "params": {
            "small": sizes.small,
            "large": sizes.large,
            "claims": sizes.claims,
            "hot_hosts": HOT_HOSTS,
            "wait_s": WAIT_S,
            "settle_s": SETTLE_S,
        },
        "fleets": [small, large],
        **judge(small, large),
    }


HEAD = (
    "| hosts | claims | hosts woken per claim (min-max) | woken outside the VPC | CPU per claim, ms p50 [min, max] "
    "| idle CPU, ms per s |\n|---|---|---|---|---|---|"
)


def _rows(r: dict[str, Any]) -> Iterator[str]:
    for f in r["fleets"]:
        n = f["net"]
        yield (
            f"| {f['hosts']:,} | {len(f['woken'])} | {min(f['woken'])}-{max(f['woken'])} | {sum(f['woken_outside'])} "
            f"| {fmt.f(n['p50'], 1)} [{fmt.f(n['min'], 1)}, {fmt.f(n['max'], 1)}] "
            f"| {fmt.f(f['idle_rate_ms_per_s'], 1)} |"
        )


def table(r: dict[str, Any]) -> str:
    lines = [HEAD, *_rows(r), ""]
    lines.append(f"- {r['woken_target']['what']}: {fmt.verdict(r['woken_target'], '')}.")
    lines.append(
        f"- {r['cpu_target']['what']}: {fmt.verdict(r['cpu_target'], '')}, ratio {fmt.ci(r['ratio'])} "
        f"(noise floor small/small {fmt.ci(r['noise_floor_ratio'])})."
    )
    return "\n".join(lines)


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    summary = [
        f"| #9 fleet | {t['what']} | {fmt.verdict(t, '')}{extra} |"
        for t, extra in (
            (r["woken_target"], ""),
            (r["cpu_target"], f", ratio {fmt.ci(r['ratio'])}"),
        )
    ]
    return fmt.Section(
        summary=summary,
        body=[table(r)],
        notes=[
            "Fleet: two `havip serve` processes on two PostgreSQL databases of one cluster, served at once, with a "
            "simulated agent (an asyncio long poll, wait 60 s) per host; claims alternate between the fleets. CPU per "
            "claim is the server process's utime + stime (10 ms ticks) from the report until the woken hosts have "
            "re-polled plus 0.3 s, minus an idle window of the same length right after; PostgreSQL's own CPU is not "
            "counted. The idle column is what waiting costs: each waiting poll reads its host's revision every 30 s "
            "(RECHECK) and each poll that ends after 60 s with nothing new reads it once more and answers 304, "
            "so it grows with the fleet. The simulated polls were armed together, so these come in bursts; a claim is sent "
            "only when no recheck or expiry is due within 3 s, so that its window measures the claim.",
            "Before the per-host feed every write moved one global revision and woke every waiting poll, each of "
            "which then read its whole desired state: a claim cost one full read per host (not emulated here).",
        ],
    )
