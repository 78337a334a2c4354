"""The fault matrix's control-plane and store rows (issue 15 item 2).

- ``sqlite-disk-full``: ``havip serve`` on SQLite whose database lives on a tmpfs of a few MB
  mounted in a mount namespace of the server's own (``unshare --mount --propagation private``:
  nothing is ever mounted in the machine's mount namespace; the tmpfs goes with the server). The
  benchmark reaches the file system through ``/proc/<pid>/root``, fills it, drives writes through
  the API (VPCs, HaVips, associations), frees the space and writes again, without a restart.
- ``control-plane-sigkill-during-failover``: a real lab; the server SIGKILLed at the moment
  keepalived's master crashes, restarted once the client is answered by the new master.
- ``postgresql-restart``: the same lab on a PostgreSQL cluster of its own (a temp dir, started
  by this run as the ``postgres`` user, never the machine's service), stopped during a failover
  and started again.
- ``api-flood``: a bounded loop of API requests on the lab's unix socket during a failover,
  beside the same failover without it.

Called by ``benchmarks.reliability.__main__``; everything lives in ``havip-r*`` namespaces, temp
dirs and the processes of ``table``, removed on exit, also after a failure. One module past the
usual size because a group is one module (``GROUPS``): the disk-full server first, then the lab
drivers the three lab rows share (``FailoverWith``, ``failover_trial``, ``outage_verdict``).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration import pg

from benchmarks.labs import havip_lab, unique_name
from benchmarks.reliability.rows import Row, Verdict, worst
from havip.client import ApiError, HavipClient
from havip.lab.build import BuildError, LabBuilder, Node, wait_until
from havip.lab.failover import Failures
from havip.lab.hostswitch import timestamp_ns
from havip.lab.probe import read_answers
from havip.lab.procs import ProcessTable
from havip.lab.spec import LabSpec
from havip.service.accounts import bootstrap
from havip.store import Store

WHAT = "control plane and store: SQLite's disk full, the server SIGKILLed and PostgreSQL restarted during a failover, an API flood"

HAVIP = [sys.executable, "-m", "havip"]
TMPFS_SIZE = "4m"  # the database's file system: the migrated database is ~0.4 MB
FULL_CODE = "ServiceUnavailable.StorageFull"

Progress = Callable[[str], None]


def median(values: list[float | int | None]) -> float | int | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


# ---------------------------------------------------------------------------------- disk full


@dataclass
class DiskServer:
    """``havip serve`` whose database is on a tmpfs in the server's own mount namespace."""

    root: Path  # a temp dir of the machine's file system: the API socket, the staged database
    pid: int
    api: HavipClient
    operator: HavipClient
    account_id: str

    @property
    def db_dir(self) -> Path:
        """The tmpfs as this process reaches it: through the server's root, in its namespace."""
        return Path(f"/proc/{self.pid}/root") / (self.root / "db").relative_to("/")

    def fill(self) -> int:
        """Fill the tmpfs to its last byte; returns the bytes written."""
        fd = os.open(self.db_dir / "fill", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        written, size = 0, 65536
        try:
            while size:
                try:
                    written += os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    size //= 16  # then the last pages in smaller writes
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        (self.db_dir / "fill").unlink()

    def integrity(self) -> str:
        db = sqlite3.connect(self.db_dir / "havip.db", timeout=10)
        try:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            db.close()


@contextmanager
def disk_server(table: ProcessTable, progress: Progress) -> Iterator[DiskServer]:
    root = Path(tempfile.mkdtemp(prefix="havip-rel-disk-"))
    (root / "db").mkdir()
    (root / "stage").mkdir()
    name = f"serve-{root.name}"
    try:
        store = Store(f"sqlite:///{root / 'stage' / 'havip.db'}")
        store.migrate()
        boot = bootstrap(store.uow)
        store.dispose()
        db, sock = root / "db", root / "api.sock"
        serve = [*HAVIP, "serve", "--db", f"sqlite:///{db / 'havip.db'}", "--listen", f"unix:{sock}"]
        script = (
            f"mount -t tmpfs -o size={TMPFS_SIZE},mode=0755 havip-rel-disk {shlex.quote(str(db))} && "
            f"cp {shlex.quote(str(root / 'stage' / 'havip.db'))} {shlex.quote(str(db))}/ && "
            f"exec {shlex.join(serve)}"
        )
        progress(f"sqlite-disk-full: havip serve on a {TMPFS_SIZE} tmpfs in its own mount namespace")
        proc = table.start(
            name, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env={"HAVIP_HOME": str(root)}
        )
        url = f"unix://{sock}"
        with HavipClient(url, None, timeout=2) as probe:
            wait_until("the disk-full server to answer", lambda: bool(probe.healthz()), 30)
        assert boot.tenant_token and boot.operator_token
        server = DiskServer(
            root, proc.pid, HavipClient(url, boot.tenant_token), HavipClient(url, boot.operator_token), boot.account.id
        )
        if not (server.db_dir / "havip.db").exists():
            raise RuntimeError(f"the server's database is not on its tmpfs ({server.db_dir})")
        if f" {db} " in Path("/proc/self/mountinfo").read_text():  # private propagation: never here
            raise RuntimeError(f"the tmpfs at {db} shows in this process's mount namespace")
        try:
            yield server
        finally:
            server.api.close()
            server.operator.close()
    finally:
        table.stop(name)
        shutil.rmtree(root, ignore_errors=True)  # the tmpfs went with the server's namespace


@dataclass
class Writes:
    """The writes a trial drove and what became of them."""

    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (kind, id; "havip/member" for associate)
    refused: list[tuple[str, str, int, str]] = field(default_factory=list)  # (kind, name, status, code)
    unbound: list[str] = field(default_factory=list)  # acknowledged HaVips not associated yet


def _setup(server: DiskServer) -> tuple[str, list[str]]:
    """A VPC, a subnet and two instances to bind HaVips to; quotas raised for the trial's HaVips."""
    for quota in ("havips_per_account", "havips_per_vpc", "havips_per_member"):
        server.operator.set_quota(server.account_id, quota, 1000)
    api = server.api
    vpc = api.create("vpcs", {"cidr": "10.20.0.0/16", "name": "disk"})
    subnet = api.create("subnets", {"vpc_id": vpc["id"], "cidr": "10.20.0.0/20", "name": "disk"})
    instances = [str(api.create("instances", {"subnet_id": subnet["id"], "name": f"disk-{k}"})["id"]) for k in range(2)]
    return str(subnet["id"]), instances


def _write(server: DiskServer, subnet_id: str, instances: list[str], n: int, tag: str, out: Writes) -> bool:
    """Write ``n``: a VPC, a HaVip, or an association of an acknowledged HaVip, in turn (a VPC
    when there is no HaVip to bind); True when it was acknowledged."""
    api, kind = server.api, ("vpc", "havip", "associate")[n % 3]
    if kind == "associate" and not out.unbound:
        kind = "vpc"
    name = f"{tag}-{n}"
    try:
        if kind == "vpc":
            out.acknowledged.append(("vpc", str(api.create("vpcs", {"cidr": "10.30.0.0/16", "name": name})["id"])))
        elif kind == "havip":
            havip = str(api.create("havips", {"subnet_id": subnet_id, "name": name})["id"])
            out.acknowledged.append(("havip", havip))
            out.unbound.append(havip)
        else:
            havip, member = out.unbound[-1], instances[n % 2]
            api.associate(havip, "instance", member)
            out.unbound.pop()
            out.acknowledged.append(("associate", f"{havip}/{member}"))
        return True
    except ApiError as exc:
        out.refused.append((kind, name, exc.status, exc.code))
        return False


def _lost(server: DiskServer, writes: Writes) -> int:
    """Acknowledged writes the API no longer shows."""
    api, lost = server.api, 0
    for kind, ident in writes.acknowledged:
        try:
            if kind == "associate":
                havip, member = ident.split("/")
                members = api.get("havips", havip).get("members") or []
                lost += not any(m.get("member_id") == member for m in members)
            else:
                api.get("vpcs" if kind == "vpc" else "havips", ident)
        except ApiError as exc:
            if exc.status != 404:
                raise
            lost += 1
    return lost


def _phantoms(server: DiskServer, writes: Writes) -> int:
    """Refused creations that left something behind (a VPC or HaVip of a refused name)."""
    names = {r["name"] for r in server.api.list_all("vpcs")} | {r["name"] for r in server.api.list_all("havips")}
    return sum(1 for kind, name, _s, _c in writes.refused if kind != "associate" and name in names)


def disk_full_trial(server: DiskServer, subnet_id: str, instances: list[str], k: int, attempts: int) -> dict[str, Any]:
    writes = Writes()
    for n in range(6):  # committed just before the disk fills: must survive it
        _write(server, subnet_id, instances, n, f"pre{k}", writes)
    filled = server.fill()
    for n in range(attempts):  # every write while full: the WAL's free frames absorb a few
        _write(server, subnet_id, instances, n, f"full{k}", writes)
    integrity_full = server.integrity()
    reads_while_full = len(server.api.list_all("vpcs"))  # reads need no room
    server.free()
    freed = time.monotonic()
    after = [_write(server, subnet_id, instances, n, f"back{k}", writes) for n in range(6)]
    recovered_ms = (time.monotonic() - freed) * 1000 if all(after) else None
    clear = [r for r in writes.refused if r[2] == 503 and r[3] == FULL_CODE]
    return {
        "filled_bytes": filled,
        "writes_while_full": attempts,
        "writes_refused": len(writes.refused),
        "refused_clearly": len(clear),
        "refused_codes": sorted({f"{s} {c}" for _k, _n, s, c in writes.refused}),
        "acknowledged": len(writes.acknowledged),
        "acknowledged_lost": _lost(server, writes),
        "refused_left_behind": _phantoms(server, writes),
        "integrity_while_full": integrity_full,
        "vpcs_read_while_full": reads_while_full,
        "integrity": server.integrity(),
        "recovered": all(after),
        "recovered_ms": recovered_ms,
    }


def disk_full_row(tiny: bool, table: ProcessTable, progress: Progress) -> dict[str, Any]:
    times, attempts = (2, 30) if tiny else (5, 90)
    trials: list[dict[str, Any]] = []
    with disk_server(table, progress) as server:
        subnet_id, instances = _setup(server)
        pid = server.pid
        for k in range(times):
            progress(f"sqlite-disk-full: fill {k + 1}/{times}, {attempts} writes, free, write again")
            trial = disk_full_trial(server, subnet_id, instances, k, attempts)
            trial["server_pid_unchanged"] = table.alive(pid)  # recovered without a restart
            trials.append(trial)
    refused = sum(t["writes_refused"] for t in trials)
    unclear = sum(t["writes_refused"] - t["refused_clearly"] for t in trials)
    lost = sum(t["acknowledged_lost"] + t["refused_left_behind"] for t in trials)
    ok = all(t["integrity"] == "ok" and t["integrity_while_full"] == "ok" for t in trials)
    recovered = all(t["recovered"] and t["server_pid_unchanged"] for t in trials)
    figures = {
        "writes_refused": refused,
        "refused_without_storage_full": unclear,
        "acknowledged_writes_lost": sum(t["acknowledged_lost"] for t in trials),
        "refused_writes_left_behind": sum(t["refused_left_behind"] for t in trials),
        "integrity": "ok" if ok else "FAILED",
        "recovered": f"{sum(t['recovered'] for t in trials)}/{len(trials)}",
        "recovered_worst_ms": worst([t["recovered_ms"] for t in trials]),
    }
    verdict: Verdict
    if refused == 0:
        verdict, why = "not shown", "no write was refused: the disk never ran full for a write"
    elif unclear or lost or not ok or not recovered:
        verdict = "lost"
        why = "; ".join(
            w
            for w in (
                f"{unclear} refusals without 503 {FULL_CODE}" if unclear else "",
                f"{lost} writes lost or half-kept" if lost else "",
                "integrity_check failed" if not ok else "",
                "no recovery without a restart" if not recovered else "",
            )
            if w
        )
    else:
        verdict = "held"
        why = (
            f"{refused} writes refused with 503 {FULL_CODE}, none half-kept; no acknowledged write lost, "
            "integrity_check ok, writes succeed again once space returns, without a restart"
        )
    return Row(
        matrix="fault",
        name="sqlite-disk-full",
        title="SQLite's disk full, then space again",
        injected=f"the database's {TMPFS_SIZE} tmpfs filled to the last byte, {attempts} API writes "
        "(VPCs, HaVips, associations), the space freed, 6 writes (6 acknowledged just before each fill)",
        times=times,
        verdict=verdict,
        why=why,
        figures=figures,
        trials=trials,
    ).as_dict()


# ------------------------------------------------------------------------- lab rows


def lab_spec(db_url: str = "") -> LabSpec:
    """The product page's pair at VRRPv3 0.1 s, the client probing every 10 ms."""
    return LabSpec(
        name=unique_name("r"), advert_int=0.1, vrrp_version=3, check_interval=0.1, probe_interval_ms=10, db_url=db_url
    )


def detection_probes(spec: LabSpec) -> int:
    """The probes keepalived's own detection may cost (``Failures``' detection bound: three
    adverts, one more, two health checks), whatever else happens."""
    detect_s = 3 * spec.advert_int + spec.advert_int + 2 * spec.check_interval
    return int(detect_s * 1000 / spec.probe_interval_ms) + 1


@dataclass
class Outage:
    """The control plane (or its database) down from the moment of the failover until the
    client is answered by another member, then back: the figures of one injection."""

    down: Callable[[], None]
    up: Callable[[], None]
    figures: dict[str, Any] = field(default_factory=dict)
    thread: threading.Thread | None = None


class FailoverWith(Failures):
    """``Failures`` whose injection also starts a fault (``outage``) and a watcher that times
    when the control plane shows the new holder."""

    def __init__(self, lab: LabBuilder, outage: Outage | None = None) -> None:
        super().__init__(lab)
        self.outage = outage
        self.truth_ms: float | None = None
        self._watcher: threading.Thread | None = None

    def inject(self, mode: str, node: Node) -> None:
        outage = self.outage
        injected = time.time_ns()
        super().inject(mode, node)  # keepalived's crash first: instant; its detection takes ~0.3 s
        if outage is not None:
            outage.down()
            outage.figures["down_at_ms"] = (time.time_ns() - injected) / 1e6
            outage.thread = threading.Thread(target=self._restore, args=(outage, node, injected), daemon=True)
            outage.thread.start()
        self._watcher = threading.Thread(target=self._watch, args=(node, injected), daemon=True)
        self._watcher.start()

    def _restore(self, outage: Outage, old: Node, injected: int) -> None:
        lab = self.lab
        others = {m.name for m in lab.members() if m is not old}
        try:
            wait_until(
                "an answer from another member with the control plane down",
                lambda: any(a.instance in others for a in read_answers(lab.paths.probe_log, injected)),
                10,
                interval=0.01,
            )
            outage.figures["flowed_while_down"] = True
        except BuildError:
            outage.figures["flowed_while_down"] = False
        back = time.time_ns()
        try:
            outage.up()
        except Exception as exc:  # the trial shows it (truth never comes); the row's verdict says so
            outage.figures["restart_error"] = f"{type(exc).__name__}: {exc}"
        outage.figures["down_ms"] = (back - injected) / 1e6
        try:
            wait_until("the control plane to show the new holder", lambda: lab.holder() in others, 30, interval=0.01)
            outage.figures["truth_ms"] = (time.time_ns() - back) / 1e6
        except BuildError:
            outage.figures["truth_ms"] = None

    def _watch(self, old: Node, injected: int) -> None:
        lab = self.lab
        others = {m.name for m in lab.members() if m is not old}
        try:
            wait_until("the control plane to show the new holder", lambda: lab.holder() in others, 40, interval=0.01)
            self.truth_ms = (time.time_ns() - injected) / 1e6
        except BuildError:
            self.truth_ms = None

    def join(self) -> None:
        for t in (self.outage.thread if self.outage else None, self._watcher):
            if t is not None:
                t.join(45)


def failover_trial(lab: LabBuilder, outage: Outage | None = None) -> dict[str, Any]:
    """One keepalived crash of the master (``kill``), with ``outage`` if any; the timeline and
    whether the control plane got the holder change (the HaVip's events)."""
    driver = FailoverWith(lab, outage)
    try:
        result = driver.failover("kill")
    finally:
        driver.join()  # the control plane is back (or its restart failed) before anything else
    new = lab.nodes[result["new_holder"]]
    injected = int(result["injected_ns"])

    def reported() -> bool:
        for e in lab.api().havip_events(lab.havip_id, kind="holder_changed", limit=20):
            at = timestamp_ns(e.get("at"))
            if e.get("instance_id") == new.instance_id and at is not None and at >= injected - 10**9:
                return True
        return False

    try:
        wait_until("the holder change among the HaVip's events", reported, 15)
        report = True
    except BuildError:
        report = False
    try:
        wait_until(
            "the holder's agent to be up", lambda: (lab.havip().get("holder") or {}).get("host_agent") == "up", 15
        )
        agent_up = True
    except BuildError:
        agent_up = False
    event = result.get("event") or {}
    return {
        "first_answer_ms": result["first_answer_ms"],
        "lost_probes": result["lost_probes"],
        "stale_answers_after_switch": result["stale_answers_after_switch"],
        "latency_us": event.get("latency_us"),
        "truth_ms": driver.truth_ms,
        "report_delivered": report,
        "agent_up": agent_up,
        "rejoined_as_backup": result["rejoined_as_backup"],
        "garp_seen_ms": result["garp_seen_ms"],
        **(outage.figures if outage is not None else {}),
    }


def restart_serve(lab: LabBuilder) -> tuple[Callable[[], None], Callable[[], None]]:
    """(SIGKILL the lab's ``havip serve``, start it again with the same command line)."""
    table = lab.table
    argv = list(table.procs["serve"].argv)

    def kill() -> None:
        proc = table.procs.pop("serve")
        table.signal(proc.pid, signal.SIGKILL)
        table.wait_exit(proc.pid, 5)

    def start() -> None:
        table.start("serve", argv, env={"HAVIP_HOME": str(lab.paths.root)})

    return kill, start


def outage_verdict(trials: list[dict[str, Any]], budget: int, what: str) -> tuple[Verdict, str]:
    lost_reports = sum(not t["report_delivered"] for t in trials)
    over = [t["lost_probes"] for t in trials if t["lost_probes"] > budget]
    stale = sum(t["stale_answers_after_switch"] for t in trials)
    stuck = sum(not t.get("flowed_while_down", True) or t["first_answer_ms"] is None for t in trials)
    no_truth = sum(t.get("truth_ms") is None for t in trials)
    no_agent = sum(not t["agent_up"] for t in trials)
    late = sum(  # the claim reached a control plane that was still up: the trial shows nothing
        1 for t in trials if "down_at_ms" in t and (t["garp_seen_ms"] is None or t["garp_seen_ms"] < t["down_at_ms"])
    )
    if late:
        return "not shown", f"{late} of {len(trials)} claims came before {what} was down"
    if lost_reports or over or stale or stuck or no_truth or no_agent:
        parts = [
            f"{lost_reports} holder changes never reached the control plane" if lost_reports else "",
            f"{len(over)} failovers lost more than keepalived's detection ({budget} probes): {over}" if over else "",
            f"{stale} stale answers" if stale else "",
            f"{stuck} failovers without traffic while {what} was down" if stuck else "",
            f"{no_truth} times the control plane never showed the new holder" if no_truth else "",
            f"{no_agent} times the holder's agent was not seen up again" if no_agent else "",
        ]
        return "lost", "; ".join(p for p in parts if p)
    return "held", (
        f"traffic flowed again with {what} down (no more probes lost than keepalived's detection, "
        f"<= {budget}); no stale answer; the agent reconnected and every holder change reached the control "
        "plane once it was back"
    )


def outage_figures(trials: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in ("lost_probes", "first_answer_ms", "truth_ms"):
        values = [t.get(key) for t in trials]
        figures[f"{key.removesuffix('_ms')}_worst{'_ms' if key.endswith('_ms') else ''}"] = worst(values)
        figures[f"{key.removesuffix('_ms')}_median{'_ms' if key.endswith('_ms') else ''}"] = median(values)
    figures["reports_lost"] = sum(not t["report_delivered"] for t in trials)
    figures["stale_answers"] = sum(t["stale_answers_after_switch"] for t in trials)
    return figures


def sigkill_row(lab: LabBuilder, times: int, progress: Progress) -> dict[str, Any]:
    kill, start = restart_serve(lab)
    trials: list[dict[str, Any]] = []
    for k in range(times):
        progress(f"control-plane-sigkill-during-failover: {k + 1}/{times}")
        trials.append(failover_trial(lab, Outage(kill, start)))
    verdict, why = outage_verdict(trials, detection_probes(lab.spec), "the control plane")
    return Row(
        matrix="fault",
        name="control-plane-sigkill-during-failover",
        title="control plane SIGKILL during a failover",
        injected="havip serve SIGKILLed as the master's keepalived crashes (VRRPv3 0.1 s), restarted once the "
        "client is answered by the new master; truth: from the restart until the API shows the new holder",
        times=times,
        verdict=verdict,
        why=why,
        figures=outage_figures(trials),
        trials=trials,
    ).as_dict()


def flood(lab: LabBuilder, stop: threading.Event, counts: list[int], most: int) -> None:
    """Requests on the lab's API socket, back to back, until ``stop`` or ``most``: the HaVip,
    its events, the VPC list, and a VPC created and deleted (writes take the write lock the
    agents' reports need)."""
    token = json.loads(lab.paths.credentials.read_text())["tenant_token"]
    api = HavipClient(lab.api_url, token, timeout=10)
    n = 0
    try:
        while not stop.is_set() and n < most:
            try:
                api.get("havips", lab.havip_id)
                api.havip_events(lab.havip_id, limit=20)
                api.list_all("vpcs", limit=50)
                vpc = api.create("vpcs", {"cidr": "10.99.0.0/16", "name": f"flood-{n}"})
                api.delete("vpcs", str(vpc["id"]))
                n += 5
            except ApiError:
                counts[1] += 1
                n += 1
    finally:
        counts[0] += n
        api.close()


def api_flood_row(lab: LabBuilder, times: int, progress: Progress) -> dict[str, Any]:
    threads_n, most = 4, 20_000
    trials: list[dict[str, Any]] = []
    for k in range(times):
        progress(f"api-flood: {k + 1}/{times}, a failover without the flood, then one with it")
        quiet = failover_trial(lab)
        stop, counts = threading.Event(), [0, 0]
        workers = [
            threading.Thread(target=flood, args=(lab, stop, counts, most), daemon=True) for _ in range(threads_n)
        ]
        began = time.monotonic()
        for w in workers:
            w.start()
        time.sleep(1)  # the flood at full speed before the failover
        try:
            loud = failover_trial(lab)
        finally:
            stop.set()
            for w in workers:
                w.join(30)
        seconds = time.monotonic() - began
        trials.append(
            {
                "without": quiet,
                "with": loud,
                "requests": counts[0],
                "request_errors": counts[1],
                "requests_per_s": counts[0] / seconds,
            }
        )
    budget = detection_probes(lab.spec)
    verdict, why = outage_verdict([t["with"] for t in trials], budget, "the API flooded")
    if verdict == "held":
        why = (
            f"under {threads_n} clients' back-to-back requests (~{median([t['requests_per_s'] for t in trials]):.0f}/s) "
            f"no more probes lost than keepalived's detection (<= {budget}), no stale answer, every holder change recorded"
        )
    figures: dict[str, Any] = {}
    for key in ("latency_us", "lost_probes", "first_answer_ms", "truth_ms"):
        for side in ("without", "with"):
            name = key.removesuffix("_ms").removesuffix("_us")
            unit = "_ms" if key.endswith("_ms") else ("_us" if key.endswith("_us") else "")
            figures[f"{name}_{side}_flood_median{unit}"] = median([t[side].get(key) for t in trials])
    figures["requests"] = sum(t["requests"] for t in trials)
    figures["request_errors"] = sum(t["request_errors"] for t in trials)
    return Row(
        matrix="fault",
        name="api-flood",
        title="an API flood during a failover",
        injected=f"{threads_n} clients on the lab's API socket, back to back (the HaVip, its events, the VPC list, a VPC "
        f"created and deleted; at most {most} requests each), during a master's keepalived crash; beside the same "
        "failover without them",
        times=times,
        verdict=verdict,
        why=why,
        figures=figures,
        trials=trials,
    ).as_dict()


def pg_restart(cluster: pg.PgCluster) -> tuple[Callable[[], None], Callable[[], None]]:
    """(stop the lab's PostgreSQL, a normal fast shutdown; start it again as it was started)."""
    options = " ".join(f"-c {k}={v}" for k, v in {**pg.SERVER_OPTIONS, "unix_socket_directories": cluster.root}.items())
    data, log = str(cluster.data), str(cluster.log)

    def stop() -> None:
        cluster.run("pg_ctl", "stop", "-D", data, "-m", "fast", "-w", "-t", "30")

    def start() -> None:
        cluster.run("pg_ctl", "start", "-D", data, "-l", log, "-w", "-t", "60", "-o", options)

    return stop, start


def postgresql_row(tiny: bool, table: ProcessTable, progress: Progress) -> dict[str, Any]:
    times = 2 if tiny else 5
    progress("postgresql-restart: a PostgreSQL cluster of this run's own (a temp dir, a unix socket)")
    cluster = pg.start()
    try:
        url = cluster.url(cluster.create_database())
        with havip_lab(lab_spec(url), table, progress) as system:
            assert system.builder is not None
            lab = system.builder
            stop, start = pg_restart(cluster)
            trials: list[dict[str, Any]] = []
            for k in range(times):
                progress(f"postgresql-restart: {k + 1}/{times}")
                trials.append(failover_trial(lab, Outage(stop, start)))
            budget = detection_probes(lab.spec)
    finally:
        cluster.stop()
    verdict, why = outage_verdict(trials, budget, "PostgreSQL")
    return Row(
        matrix="fault",
        name="postgresql-restart",
        title="PostgreSQL stopped and restarted",
        injected="the lab's control plane on PostgreSQL; PostgreSQL stopped (pg_ctl -m fast) as the master's "
        "keepalived crashes (VRRPv3 0.1 s), started again once the client is answered by the new master; truth: "
        "from the start until the API shows the new holder",
        times=times,
        verdict=verdict,
        why=why,
        figures=outage_figures(trials),
        trials=trials,
    ).as_dict()


def sqlite_lab_rows(tiny: bool, table: ProcessTable, progress: Progress) -> list[dict[str, Any]]:
    with havip_lab(lab_spec(), table, progress) as system:
        assert system.builder is not None
        lab = system.builder
        return [sigkill_row(lab, 2 if tiny else 5, progress), api_flood_row(lab, 1 if tiny else 5, progress)]


def run(tiny: bool, table: ProcessTable, progress: Progress) -> list[dict[str, Any]]:
    return [
        disk_full_row(tiny, table, progress),
        *sqlite_lab_rows(tiny, table, progress),
        postgresql_row(tiny, table, progress),
    ]
