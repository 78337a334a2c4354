"""Benchmark 4: the control plane at scale, on SQLite and PostgreSQL.

Requests a user makes, through the HTTP API of a real ``havip serve`` (its own process,
127.0.0.1, one persistent connection per client): ``list`` (the first page of
``GET /v1/havips``, with its total), ``describe`` (``GET /v1/havips/{id}`` of a random
stored HaVip), ``create`` (``POST /v1/havips``) and ``associate``
(``POST /v1/havips/{id}/members``, the HaVip just created with an instance). Two
stores are served at once: the large one (100,000 HaVips) and the baseline (1,000),
measured in alternating blocks (large, small, large, ...); the baseline split against
itself (alternate samples) is the noise floor of the large/small ratio. Target:
describe p99 under 20 ms at 100k, judged by the p99's bootstrap interval, for both the
list page and the describe by id.

Seeding: accounts, quotas (raised the way an operator does, ``set_quota``), VPCs,
subnets and instances go through the service layer; the HaVips themselves and their
address allocations are written in bulk through the store's session (the same rows
``create_havip`` writes, addresses checked by ``rules.check_address`` and names by
``rules.check_name``), as 100,000 creates one by one would take most of the run.

Desired state: one host with 10,000 interfaces placed on it (in bulk the same way) and
HaVips bound to some of them (two interface members each); the time of
``havip.service.agents.desired_state`` in this process and of the agent's
``GET /v1/hosts/{host}/desired-state`` through the server. Target: under 1 s (every
run: the slowest one is judged).
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration import pg

from benchmarks import fmt, stats
from havip.client import ApiError, HavipClient
from havip.domain import ids, rules
from havip.domain.model import (
    HaVip,
    HaVipMember,
    HaVipStatus,
    IpAllocation,
    MemberType,
    NetworkInterface,
    Role,
    Subnet,
)
from havip.domain.quotas import MAX_VALUE, Quota
from havip.lab.procs import ProcessTable
from havip.service import accounts, agents, compute, network
from havip.service.accounts import bootstrap
from havip.service.context import Ctx, Principal
from havip.store import Store

TARGET_DESCRIBE_P99_MS = 20.0
TARGET_DESIRED_S = 1.0
OPS = ("list", "describe", "create", "associate")
DESCRIBE_OPS = ("list", "describe")
ENGINES = ("sqlite", "postgresql")
PER_SUBNET = 1000  # seeded HaVips per /21 subnet, in both stores
SUBNETS_PER_VPC = 25  # /21 subnets 10.k.0.0 .. 10.k.199.0; the workload subnet is 10.k.240.0/20
WORK_INSTANCES = 10
CHUNK = 5000  # rows per bulk insert transaction
HAVIP_PER_DESIRED_IFACES = 10  # one HaVip (two interface members) per ten interfaces


@dataclass(frozen=True)
class Sizes:
    large: int
    small: int
    blocks: int  # alternating blocks per store
    per_block: int  # requests of each kind in a block
    interfaces: int  # on the desired-state host
    desired_runs: int


FULL = Sizes(large=100_000, small=1_000, blocks=20, per_block=10, interfaces=10_000, desired_runs=7)
TINY = Sizes(large=300, small=100, blocks=2, per_block=2, interfaces=200, desired_runs=2)


def _ctx(store: Store) -> Ctx:
    return Ctx(uow=store.uow, principal=Principal(Role.OPERATOR, "bench"))


@dataclass
class Seeded:
    """A seeded store: its tenant token, what the measured requests use."""

    url: str
    tenant_token: str
    havip_ids: list[str]
    work_subnet: str
    instances: list[str]
    agent_token: str = ""
    host: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _addresses(cidr: str) -> Iterator[str]:
    reserved = rules.reserved_addresses(cidr)
    return (str(a) for a in ipaddress.IPv4Network(cidr).hosts() if a not in reserved)


def _bulk(store: Store, objects: list[Any]) -> None:
    """Write domain objects through the store's session in chunks (its before-flush checks run)."""
    for i in range(0, len(objects), CHUNK):
        with store.uow(write=True) as uow:
            uow.session.add_all(objects[i : i + CHUNK])
            uow.commit()


def _raise_quotas(ctx: Ctx, account_id: str) -> None:
    for q in (Quota.HAVIPS_PER_ACCOUNT, Quota.HAVIPS_PER_VPC, Quota.HAVIPS_PER_MEMBER):
        accounts.set_quota(ctx, account_id, q.value, MAX_VALUE)


def _havips_in(subnet: Subnet, count: int, used: set[str]) -> list[Any]:
    """``count`` HaVips of ``subnet`` and their address allocations, as ``create_havip`` writes them."""
    out: list[Any] = []
    addrs = _addresses(subnet.cidr)
    for k in range(count):
        ip = rules.check_address(subnet, next(a for a in addrs if a not in used), used, "HaVip address")
        used.add(ip)
        h = HaVip(
            id=ids.new_id("havip"),
            account_id=subnet.account_id,
            region=subnet.region,
            vpc_id=subnet.vpc_id,
            subnet_id=subnet.id,
            ip=ip,
            name=rules.check_name(f"seed-{k}"),
        )
        out += [h, IpAllocation(ids.new_id("allocation"), subnet.id, ip, "havip", h.id)]
    return out


def seed_store(url: str, n: int, progress: Callable[[str], None]) -> Seeded:
    """A migrated store with ``n`` HaVips (1,000 per subnet, 25 subnets per VPC) and a workload subnet."""
    store = Store(url)
    try:
        store.migrate()
        boot = bootstrap(store.uow)
        assert boot.tenant_token is not None
        ctx = _ctx(store)
        acc = boot.account.id
        _raise_quotas(ctx, acc)
        subnets_needed = max(1, -(-n // PER_SUBNET))
        vpcs = max(1, -(-subnets_needed // SUBNETS_PER_VPC))
        ids_out: list[str] = []
        work = ""
        instances: list[str] = []
        left = n
        for v in range(vpcs):
            vpc = network.create_vpc(ctx, cidr=f"10.{v}.0.0/16", name=f"v{v}", account_id=acc)
            if v == 0:
                work = network.create_subnet(ctx, vpc_id=vpc.id, cidr="10.0.240.0/20", name="work").id
                instances = [
                    compute.create_instance(ctx, subnet_id=work, name=f"w{i}")[0].id for i in range(WORK_INSTANCES)
                ]
            for s in range(min(SUBNETS_PER_VPC, -(-left // PER_SUBNET))):
                subnet = network.create_subnet(ctx, vpc_id=vpc.id, cidr=f"10.{v}.{s * 8}.0/21", name=f"s{s}")
                rows = _havips_in(subnet, min(PER_SUBNET, left), set())
                _bulk(store, rows)
                ids_out += [r.id for r in rows if isinstance(r, HaVip)]
                left -= PER_SUBNET
            progress(f"control: seeded {len(ids_out)}/{n} HaVips ({store.dialect})")
        return Seeded(url, boot.tenant_token, ids_out, work, instances)
    finally:
        store.dispose()


def seed_desired(url: str, interfaces: int, progress: Callable[[str], None]) -> Seeded:
    """One host with ``interfaces`` interfaces placed on it and a HaVip per ten, two members each."""
    store = Store(url)
    try:
        store.migrate()
        boot = bootstrap(store.uow)
        ctx = _ctx(store)
        acc = boot.account.id
        _raise_quotas(ctx, acc)
        host, key = compute.create_host(ctx, name="big")
        vpc = network.create_vpc(ctx, cidr="10.200.0.0/16", name="dense", account_id=acc)
        per_subnet = 1000
        rows: list[Any] = []
        made = 0
        s = 0
        while made < interfaces:
            subnet = network.create_subnet(ctx, vpc_id=vpc.id, cidr=f"10.200.{s * 8}.0/21", name=f"d{s}")
            used: set[str] = set()
            addrs = _addresses(subnet.cidr)
            enis: list[NetworkInterface] = []
            for _ in range(min(per_subnet, interfaces - made)):
                ip = rules.check_address(subnet, next(addrs), used, "primary IP address")
                used.add(ip)
                eni = NetworkInterface(
                    id=ids.new_id("network_interface"),
                    account_id=acc,
                    region=subnet.region,
                    vpc_id=vpc.id,
                    subnet_id=subnet.id,
                    primary_ip=ip,
                    mac=rules.check_mac(f"02:be:{made >> 16 & 255:02x}:{made >> 8 & 255:02x}:{made & 255:02x}:01"),
                    host_id=host.id,
                    device=rules.check_device(f"bd{made}"),
                )
                enis.append(eni)
                rows += [eni, IpAllocation(ids.new_id("allocation"), subnet.id, ip, "network_interface", eni.id)]
                made += 1
            havips = _havips_in(subnet, len(enis) // HAVIP_PER_DESIRED_IFACES, used)
            rows += havips
            for h in (r for r in havips if isinstance(r, HaVip)):
                pair = random.sample(enis, 2)
                for e in pair:
                    rows.append(
                        HaVipMember(ids.new_id("member"), h.id, MemberType.NETWORK_INTERFACE, e.id, acc, h.created_at)
                    )
                h.member_type = MemberType.NETWORK_INTERFACE
                h.status = HaVipStatus.IN_USE
                h.holder_interface_id, h.holder_host_id = pair[0].id, host.id
            s += 1
        _bulk(store, rows)
        progress(f"control: seeded a host with {made} interfaces ({store.dialect})")
        assert boot.tenant_token is not None
        return Seeded(url, boot.tenant_token, [], "", [], agent_token=key.token, host=host.name)
    finally:
        store.dispose()


@contextlib.contextmanager
def serving(table: ProcessTable, stores: dict[str, str], work: Path) -> Iterator[dict[str, str]]:
    """``havip serve`` on each store (name -> URL), each in its own process on a free port of
    127.0.0.1, started together; yields name -> base URL and stops them all on exit."""
    havip = Path(sys.executable).with_name("havip")
    bases: dict[str, str] = {}
    try:
        procs = {}
        for name, url in stores.items():
            port = _free_port()
            argv = [str(havip), "serve", "--db", url, "--listen", f"127.0.0.1:{port}", "--log-level", "warning"]
            procs[name] = table.start(name, argv, env={"HAVIP_HOME": str(work / name)})
            bases[name] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        for name, proc in procs.items():
            with HavipClient(bases[name], None, timeout=2) as probe:
                while True:
                    try:
                        probe.healthz()
                        break
                    except ApiError:
                        if not table.alive(proc.pid) or time.monotonic() > deadline:
                            raise RuntimeError(f"havip serve {name} did not start: see {proc.log_path}") from None
                        time.sleep(0.1)
        yield bases
    finally:
        for name in stores:
            table.stop(name)


@dataclass
class Workload:
    """The measured requests against one served store, one persistent connection."""

    seeded: Seeded
    client: HavipClient
    rng: random.Random
    samples: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})

    def _timed(self, op: str, method: str, path: str, body: Any = None) -> Any:
        t0 = time.perf_counter()
        answer = self.client.request(method, path, json=body)
        self.samples[op].append((time.perf_counter() - t0) * 1000)
        return answer

    def block(self, n: int) -> None:
        for _ in range(n):
            page = self._timed("list", "GET", "/v1/havips?limit=50")
            assert page["total"] >= len(page["items"]) > 0
        for _ in range(n):
            self._timed("describe", "GET", f"/v1/havips/{self.rng.choice(self.seeded.havip_ids)}")
        made = [
            self._timed("create", "POST", "/v1/havips", {"subnet_id": self.seeded.work_subnet})["id"] for _ in range(n)
        ]
        for h in made:
            body = {"member_type": "instance", "member_id": self.rng.choice(self.seeded.instances)}
            self._timed("associate", "POST", f"/v1/havips/{h}/members", body)


def _ops_result(large: dict[str, list[float]], small: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op in OPS:
        a, b = large[op], small[op]
        p99 = stats.bootstrap_percentile(a, 99)
        entry: dict[str, Any] = {
            "large_ms": stats.summary(a).as_dict(),
            "small_ms": stats.summary(b).as_dict(),
            "large_p99_ms": p99.as_dict(),
            "small_p99_ms": stats.bootstrap_percentile(b, 99).as_dict(),
            "large_rps": len(a) / (sum(a) / 1000),
            "small_rps": len(b) / (sum(b) / 1000),
            "ratio": stats.compare(a, b).ratio.as_dict(),
            "noise_floor_ratio": stats.compare(*stats.split_self(b)).ratio.as_dict(),
            "large_samples_ms": a,
            "small_samples_ms": b,
        }
        if op in DESCRIBE_OPS:
            entry["target"] = {
                "what": f"p99 < {TARGET_DESCRIBE_P99_MS:g} ms at the large size (95% CI)",
                "met": p99.below(TARGET_DESCRIBE_P99_MS),
                "undecided": not p99.below(TARGET_DESCRIBE_P99_MS) and not p99.above(TARGET_DESCRIBE_P99_MS),
                "by_ms": p99.high - TARGET_DESCRIBE_P99_MS,
            }
        out[op] = entry
    return out


def _desired_result(local_s: list[float], http_s: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, values in (("service", local_s), ("http", http_s)):
        worst = max(values)
        out[label] = {
            "seconds": stats.summary(values).as_dict(),
            "samples_s": values,
            "target": {
                "what": f"every run < {TARGET_DESIRED_S:g} s",
                "met": worst < TARGET_DESIRED_S,
                "by": worst - TARGET_DESIRED_S,
            },
        }
    return out


def measure_engine(
    engine: str,
    make_url: Callable[[str], str],
    sizes: Sizes,
    table: ProcessTable,
    work: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The interleaved requests on a large and a small store, then the desired state; one engine."""
    t0 = time.monotonic()
    large = seed_store(make_url("large"), sizes.large, progress)
    small = seed_store(make_url("small"), sizes.small, progress)
    seed_s = time.monotonic() - t0
    desired = seed_desired(make_url("desired"), sizes.interfaces, progress)
    seed_s = time.monotonic() - t0
    rng = random.Random(4)
    names = {k: f"ctl-{engine}-{k}" for k in ("large", "small", "desired")}
    urls = {names["large"]: large.url, names["small"]: small.url, names["desired"]: desired.url}
    store = Store(desired.url)
    local_s: list[float] = []
    http_s: list[float] = []
    try:
        with (
            serving(table, urls, work) as bases,
            HavipClient(bases[names["large"]], large.tenant_token) as large_client,
            HavipClient(bases[names["small"]], small.tenant_token) as small_client,
            HavipClient(bases[names["desired"]], desired.agent_token, timeout=120) as agent,
        ):
            runs = {"large": Workload(large, large_client, rng), "small": Workload(small, small_client, rng)}
            for w in runs.values():  # warm up each server (imports, caches, connections); not recorded
                w.block(1)
                w.samples = {op: [] for op in OPS}
            for b in range(sizes.blocks):
                runs["large"].block(sizes.per_block)
                runs["small"].block(sizes.per_block)
                if (b + 1) % 10 == 0:
                    progress(f"control: {engine} block {b + 1}/{sizes.blocks}")
            ctx = _ctx(store)
            for i in range(sizes.desired_runs + 1):  # the first of each is a warm-up
                t = time.perf_counter()
                state = agents.desired_state(ctx, desired.host)
                local = time.perf_counter() - t
                assert len(state.interfaces) == sizes.interfaces
                t = time.perf_counter()
                answer = agent.desired_state(desired.host)
                remote = time.perf_counter() - t
                assert answer is not None and len(answer["interfaces"]) == sizes.interfaces
                if i:
                    local_s.append(local)
                    http_s.append(remote)
            progress(f"control: {engine} desired state, median {stats.median(local_s):.3f} s in process")
    finally:
        store.dispose()
    ops = _ops_result(runs["large"].samples, runs["small"].samples)
    return {
        "engine": engine,
        "seed_s": seed_s,
        "ops": ops,
        "desired": {"interfaces": sizes.interfaces, "havips": len(state.havips), **_desired_result(local_s, http_s)},
    }


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict[str, Any]:
    sizes = TINY if tiny else FULL
    work = Path(tempfile.mkdtemp(prefix="havip-bench-control-"))
    engines: list[dict[str, Any]] = []
    try:
        engines.append(
            measure_engine("sqlite", lambda name: f"sqlite:///{work / name}.db", sizes, table, work, progress)
        )
        cluster = pg.start()
        try:
            engines.append(
                measure_engine(
                    "postgresql", lambda _name: cluster.url(cluster.create_database()), sizes, table, work, progress
                )
            )
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": "control",
        "params": {
            "large": sizes.large,
            "small": sizes.small,
            "blocks": sizes.blocks,
            "per_block": sizes.per_block,
            "interfaces": sizes.interfaces,
            "desired_runs": sizes.desired_runs,
            "havips_per_subnet": PER_SUBNET,
        },
        "engines": engines,
    }


OPS_HEAD = (
    "| engine | request | n | large p50 | large p99 [95% CI] | small p50 | small p99 | large req/s | small req/s "
    "| ratio large/small [95% CI] | noise floor small/small |\n|---|---|---|---|---|---|---|---|---|---|---|"
)
DESIRED_HEAD = "| engine | path | runs | min (s) | p50 (s) | max (s) | target |\n|---|---|---|---|---|---|---|"


def _targets(r: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(engine, what, target, result text) for every judged number."""
    for e in r["engines"]:
        for op in DESCRIBE_OPS:
            o = e["ops"][op]
            yield e["engine"], op, o["target"], f"p99 = {fmt.ci(o['large_p99_ms'])} ms"
        for path in ("service", "http"):
            d = e["desired"][path]
            yield e["engine"], f"desired state ({path})", d["target"], f"max = {fmt.f(d['seconds']['max'], 3)} s"


def table(r: dict[str, Any]) -> str:
    p = r["params"]
    lines = [
        f"HaVips stored: {p['large']:,} (large) against {p['small']:,} (small), {p['blocks']} alternating blocks of "
        f"{p['per_block']} requests of each kind per store; latency in ms, one persistent HTTP connection; req/s is "
        "sequential (1 / mean latency).",
        "",
        OPS_HEAD,
    ]
    for e in r["engines"]:
        for op in OPS:
            o = e["ops"][op]
            lines.append(
                f"| {e['engine']} | {op} | {int(o['large_ms']['n'])} | {fmt.f(o['large_ms']['p50'])} "
                f"| {fmt.ci(o['large_p99_ms'])} | {fmt.f(o['small_ms']['p50'])} | {fmt.f(o['small_ms']['p99'])} "
                f"| {fmt.f(o['large_rps'], 0)} | {fmt.f(o['small_rps'], 0)} | {fmt.ci(o['ratio'])} "
                f"| {fmt.ci(o['noise_floor_ratio'])} |"
            )
    lines += ["", f"Desired state of one host with {p['interfaces']:,} interfaces:", "", DESIRED_HEAD]
    for e in r["engines"]:
        d = e["desired"]
        for path in ("service", "http"):
            s = d[path]["seconds"]
            lines.append(
                f"| {e['engine']} | {path} | {int(s['n'])} | {fmt.f(s['min'], 3)} | {fmt.f(s['p50'], 3)} "
                f"| {fmt.f(s['max'], 3)} | {fmt.verdict(d[path]['target'], 's')} |"
            )
    lines.append("")
    for engine, what, t, text in _targets(r):
        unit = "s" if what.startswith("desired") else "ms"
        lines.append(f"- {engine} {what}: {t['what']}: {fmt.verdict(t, unit)}, {text}.")
    return "\n".join(lines)


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    fig, axes = fmt.figure(cols=len(r["engines"]))
    for ax, e in zip(axes, r["engines"], strict=True):
        for op in DESCRIBE_OPS:
            fmt.cdf(ax, e["ops"][op]["large_samples_ms"], f"{op}, {r['params']['large']:,}")
            fmt.cdf(ax, e["ops"][op]["small_samples_ms"], f"{op}, {r['params']['small']:,}")
        ax.axvline(TARGET_DESCRIBE_P99_MS, color="red", linestyle="--", label="target p99")
        ax.set(xlabel="ms", ylabel="fraction of requests", title=f"Describe latency, {e['engine']} (CDF)")
        ax.set_xscale("log")
        ax.legend(fontsize="small")
    fmt.save(fig, out / "control_cdf.png")
    summary = [
        f"| #4 control plane, {engine} {what} | {t['what']} | {fmt.verdict(t, 's' if what.startswith('desired') else 'ms')} "
        f"{text} |"
        for engine, what, t, text in _targets(r)
    ]
    return fmt.Section(
        summary=summary,
        body=[table(r), "", f"![control plane describe latency]({rel / 'control_cdf.png'})"],
        notes=[
            "Control plane: the HaVips are seeded in bulk through the store's session (the rows create_havip writes, "
            "addresses and names checked by the domain's rules) after quotas are raised with set_quota; every measured "
            "request goes through a real `havip serve` on 127.0.0.1. The large and small stores are served at once "
            "and measured in alternating blocks; the small store split against itself is the noise floor. req/s is "
            "one client's sequential rate, not a concurrent throughput.",
            "Desired state: one host with its interfaces in 1,000-address subnets and one HaVip per ten interfaces "
            "(two interface members, a holder); judged by the slowest run, in process (the service call) and "
            "through the agent's HTTP endpoint (adds serialisation).",
            "Desired state before the batched reads (commit 6c40024: one query for members and one for EIPs per "
            "HaVip, and may_claim asked for every HaVip about every interface of the host): 87.8 s in process on "
            "SQLite for 10,000 interfaces and 1,000 HaVips (one run, on the shared machine). With those batched "
            "(b90b3a1): median 1.13 s (SQLite) and 1.08 s (PostgreSQL), still missed; the interfaces' EIPs were "
            "then read by account instead of by an IN list of 10,000 interface ids, whose compilation alone took "
            "a third of a second. What is left is the ORM turning 13,000 rows into objects (about 60% of a profile) "
            "and decoding each interface's JSON list of secondary addresses; on this shared machine (load about 10 "
            "on 2 cores) that is 0.6 to 3 s from run to run.",
            "The HaVip list page before its batched view (b90b3a1: three queries per listed HaVip, 151 for a page "
            "of 50): p50 79 ms at 100k and 37 ms at 1k on SQLite, 166 and 125 ms on PostgreSQL; GET /v1/instances "
            "read each instance's interfaces in a transaction of its own and now reads the page's in one query. "
            "What still grows with the store is the page's query and its total: the HaVips are indexed by account "
            "but not by (account, created_at), so a tenant's first page sorts and counts all of its 100,000 rows.",
        ],
    )
