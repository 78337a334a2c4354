"""The fault matrix's lab rows: faults injected during real keepalived failovers.

Every row is judged against the same failover without the fault, run in the same lab
just before (its ``baseline``): a keepalived crash (``kill``) of the holder, detected by
the backup after three adverts. What the fault adds to that is what a user loses:
probes lost (the client probes the VIP every 10 ms), the time until the client's traffic
flows again (first answer from the new holder, from the injection), the time until the
control plane shows the truth (the API's holder), stale answers after the switch, and
whether the holder change was recorded (no report lost).

- one host, VRRPv3 0.1 s: the agent SIGKILLed at the failover and restarted 2 s later (the
  systemd unit's ``RestartSec``); the agent frozen (SIGSTOP) for 1 s at the failover; the
  holder's keepalived frozen instead of killed (``freeze``); a GARP flood and an ARP request
  flood (about 20,000 frames/s from the client, a non-member) during the failover: the
  claim latency (GARP to route) under each against the baseline's;
- three hosts (the members on hosts 1 and 2, the client on 3): the holder's whole host lost,
  the holder's host partitioned from the underlay and healed, and 10% and 50% of every
  host's underlay packets dropped (nftables ``numgen random``) during the failover;
- a mass failover of 1,000 HaVips (``--tiny``: 10) with the agent SIGKILLed once the first
  routes switched: when every route was switched, and when the control plane showed all;
- a soak: consecutive failovers at VRRPv3 0.01 s (1,000; ``--tiny``: 10), no stale answer,
  and the agent's and the server's open files and memory before and after.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from benchmarks import mass
from benchmarks.labs import Member, System, havip_lab, member_sockets, unique_name
from benchmarks.reliability import REQUIRED
from benchmarks.reliability.rows import Row, Verdict
from havip.agent.arp import ARP_REQUEST, build_arp, build_garp
from havip.client import ApiError
from havip.domain.rules import gateway_address
from havip.lab import netns
from havip.lab.build import LabBuilder, Node
from havip.lab.failover import Failures
from havip.lab.procs import ProcessTable
from havip.lab.spec import UNDERLAY_NIC, LabSpec, host_namespace, instance_namespace

WHAT = "faults during real keepalived failovers: agent, member, host, underlay, floods, mass failover, soak"

RESTART_S = 2.0  # deploy/systemd/havip-agent.service: Restart=on-failure, RestartSec=2s
FREEZE_S = 1.0
FLOOD_FPS = 20_000
SLACK_PROBES = 2
# The failover every fault is added to: the holder's interface goes down (the lab's ``link``
# mode), so the old holder answers nothing from the injection on, as when its machine dies.
# (With keepalived killed its VIP stays up and the old node goes on answering, which hides
# what a fault costs.)
BASE_MODE = "link"
# a mass failover with the agent restarted mid-way: the routes it had not switched wait for the
# restarted agent's first discovery round (DiscoverySettings.interval, 30 s) at worst
MASS_WAIT_S = 60.0  # lost probes within this of the baseline's worst are noise, not a loss


@dataclass(frozen=True)
class Sizes:
    times: int  # injections per fault row
    mass_havips: int
    mass_times: int
    soak: int


SOAK_ENV = "HAVIP_RELIABILITY_SOAK"  # ``--soak N``: the soak's length, whatever the size
ROWS_ENV = "HAVIP_RELIABILITY_ROWS"  # ``--rows a,b``: only the labs that give these rows


def sizes(tiny: bool) -> Sizes:
    s = Sizes(1, 10, 1, 10) if tiny else Sizes(5, 1000, 3, 1000)
    soak = os.environ.get(SOAK_ENV)
    return replace(s, soak=int(soak)) if soak else s


class Faulty(Failures):
    """The lab's failover with one more fault injected right after keepalived's (``extra``)."""

    def __init__(self, lab: LabBuilder, extra: Callable[[Node], None] | None = None) -> None:
        super().__init__(lab)
        self.extra = extra

    def inject(self, mode: str, node: Node) -> None:
        super().inject(mode, node)
        if self.extra is not None:
            self.extra(node)


def _truth_watch(lab: LabBuilder, old: str, injected_ns: list[int]) -> tuple[threading.Thread, dict[str, int]]:
    """A thread that notes when the API first shows a holder other than ``old`` (ns)."""
    seen: dict[str, int] = {}

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not injected_ns:
            time.sleep(0.001)
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the control plane may be busy: ask again
                h = lab.holder()
                if h is not None and h != old:
                    seen["at"] = time.time_ns()
                    return
            time.sleep(0.02)

    t = threading.Thread(target=watch, name="truth-watch", daemon=True)
    t.start()
    return t, seen


def failover(lab: LabBuilder, mode: str = "kill", extra: Callable[[Node], None] | None = None) -> dict[str, Any]:
    """One failover (with ``extra`` injected at the same moment); its figures."""
    old = lab.holder()
    assert old is not None, "no holder before the failover"
    injected: list[int] = []

    def marked(node: Node) -> None:
        injected.append(time.time_ns())
        if extra is not None:
            extra(node)

    watcher, seen = _truth_watch(lab, old, injected)
    result = Faulty(lab, marked).failover(mode)
    watcher.join(60)
    base = result["injected_ns"]
    recorded = result.get("event") is not None
    return {
        "mode": mode,
        "from": old,
        "to": result["new_holder"],
        "lost_probes": result["lost_probes"],
        "flows_again_ms": result["first_answer_ms"],
        "truth_ms": (seen["at"] - base) / 1e6 if "at" in seen else None,
        "switch_latency_ms": result["switch_latency_ms"],
        "stale_answers": result["stale_answers_after_switch"],
        "holder_change_recorded": recorded,
        "rejoined": result["rejoined_as_backup"],
    }


def _num(values: list[Any]) -> list[float]:
    return [float(v) for v in values if v is not None]


def _median(values: list[Any]) -> float | None:
    got = _num(values)
    return statistics.median(got) if got else None


def _max(values: list[Any]) -> float | None:
    got = _num(values)
    return max(got) if got else None


def judge_failovers(
    name: str, title: str, injected: str, trials: list[dict[str, Any]], baseline: list[dict[str, Any]], expect: str = ""
) -> dict[str, Any]:
    """A row from failovers with a fault against the same failovers without it.

    held: no stale answer, every holder change recorded, traffic flowing again and the
    control plane showing the new holder after every injection, and no more probes lost
    than the baseline's worst (+ ``SLACK_PROBES``); else lost, with what and how long."""
    base_worst = _max([t["lost_probes"] for t in baseline]) or 0.0
    lost_worst = _max([t["lost_probes"] for t in trials])
    figures = {
        "probes_lost_worst": None if lost_worst is None else int(lost_worst),
        "baseline_probes_lost_worst": int(base_worst),
        "flows_again_ms": _max([t["flows_again_ms"] for t in trials]),
        "baseline_flows_again_ms": _max([t["flows_again_ms"] for t in baseline]),
        "truth_ms": _max([t["truth_ms"] for t in trials]),
        "switch_latency_ms": _median([t["switch_latency_ms"] for t in trials]),
        "baseline_switch_latency_ms": _median([t["switch_latency_ms"] for t in baseline]),
        "stale_answers": sum(int(t["stale_answers"] or 0) for t in trials),
    }
    problems = []
    if figures["stale_answers"]:
        problems.append(f"{figures['stale_answers']} stale answers after the switch")
    if not all(t["holder_change_recorded"] for t in trials):
        problems.append("a holder change was never recorded (a report lost)")
    if any(t["flows_again_ms"] is None for t in trials):
        problems.append("traffic did not flow again within 5 s")
    if any(t["truth_ms"] is None for t in trials):
        problems.append("the control plane never showed the new holder")
    extra = (lost_worst or 0) - base_worst
    if extra > SLACK_PROBES:
        ms = extra * 10
        problems.append(
            f"{int(extra)} probes (~{ms:.0f} ms of traffic) more than the plain failover's worst"
            + (f": {expect}" if expect else "")
        )
    verdict: Verdict
    if problems:
        verdict, why = "lost", "; ".join(problems)
    else:
        verdict = "held"
        why = (
            f"no more probes lost than the plain failover ({int(base_worst)}), no stale answer, "
            f"the control plane showed the new holder after {figures['truth_ms']:.0f} ms at worst"
        )
    return Row(
        "fault", name, title, injected, len(trials), verdict, why, figures, trials=[*trials, {"baseline": baseline}]
    ).as_dict()


# ------------------------------------------------------------------ injections


def _agent_pid(lab: LabBuilder, k: int) -> int:
    return lab.table.procs[LabBuilder.agent_proc(k)].pid


def kill_agent(lab: LabBuilder, k: int, restart_after: float = RESTART_S) -> Callable[[Node], None]:
    """SIGKILL host ``k``'s agent; start it again ``restart_after`` s later (as systemd would)."""

    def inject(_node: Node) -> None:
        pid = _agent_pid(lab, k)
        lab.table.signal(pid, signal.SIGKILL)
        proc = lab.table.procs.pop(LabBuilder.agent_proc(k), None)
        if proc is not None:
            lab.table.wait_exit(proc.pid, 5)
        threading.Timer(restart_after, lab.start_agent, (k,)).start()

    return inject


def freeze_agent(lab: LabBuilder, k: int, seconds: float = FREEZE_S) -> Callable[[Node], None]:
    def inject(_node: Node) -> None:
        pid = _agent_pid(lab, k)
        lab.table.signal(pid, signal.SIGSTOP)
        threading.Timer(seconds, lab.table.signal, (pid, signal.SIGCONT)).start()

    return inject


@contextmanager
def flood(lab: LabBuilder, kind: str) -> Iterator[dict[str, int]]:
    """A non-member (the client) sending ~FLOOD_FPS frames/s for the VIP while inside."""
    client = lab.client()
    vip = lab.spec.vip
    # a GARP claims the VIP; a request asks who has it, again and again, from the client's own address
    frame = build_garp(client.mac, vip) if kind == "garp" else build_arp(ARP_REQUEST, client.mac, client.address, vip)
    stop = threading.Event()
    sent = {"frames": 0}
    with member_sockets([client.namespace]) as (sock,):

        def run() -> None:
            period = 1.0 / FLOOD_FPS
            batch = 100
            next_at = time.monotonic()
            while not stop.is_set():
                for _ in range(batch):
                    with contextlib.suppress(OSError):
                        sock.send(frame)
                sent["frames"] += batch
                next_at += batch * period
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

        t = threading.Thread(target=run, name=f"flood-{kind}", daemon=True)
        t.start()
        time.sleep(0.5)  # the flood is on before the failover starts
        try:
            yield sent
        finally:
            stop.set()
            t.join(5)


def underlay_loss(spec: LabSpec, percent: int, on: bool) -> None:
    """Drop ``percent``% of what every host sends on the underlay (its own table)."""
    for k in range(1, spec.hosts + 1):
        ns = host_namespace(spec.name, k)
        if on:
            rules = (
                "table ip lab_loss {\n"
                "\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n"
                f'\t\toifname "{UNDERLAY_NIC}" numgen random mod 100 < {percent} drop\n\t}}\n}}\n'
            )
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules, text=True, check=True)
        else:
            subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "ip", "lab_loss"], check=False)


# ------------------------------------------------------------------ labs


def _spec(prefix: str, **kw: Any) -> LabSpec:
    return LabSpec(name=unique_name(prefix), **kw)


def _baseline(lab: LabBuilder, n: int, progress: Callable[[str], None], what: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        t = failover(lab, BASE_MODE)
        progress(f"{what}: plain failover {i + 1}/{n} {t['from']}->{t['to']}, {t['lost_probes']} probes lost")
        out.append(t)
    return out


def one_host(s: Sizes, table: ProcessTable, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    with havip_lab(_spec("rf", advert_int=0.1), table, progress) as system:
        lab = system.builder
        assert lab is not None
        base = _baseline(lab, max(2, s.times), progress, "one host")

        def trials(
            what: str, mode: str = BASE_MODE, extra: Callable[[Node], None] | None = None
        ) -> list[dict[str, Any]]:
            out = []
            for i in range(s.times):
                t = failover(lab, mode, extra)
                progress(f"{what} {i + 1}/{s.times} {t['from']}->{t['to']}: {t['lost_probes']} probes lost")
                out.append(t)
            return out

        rows.append(
            judge_failovers(
                "agent-sigkill-during-failover",
                "agent SIGKILL during a failover",
                f"the holder's interface down and the host's agent SIGKILLed at once; the agent restarted {RESTART_S:g} s later",
                trials("agent SIGKILL", extra=kill_agent(lab, 1)),
                base,
                expect="on one host the VIP's route waits for the restarted agent",
            )
        )
        rows.append(
            judge_failovers(
                "agent-frozen",
                "a frozen agent (SIGSTOP)",
                f"the holder's interface down and the agent SIGSTOPped for {FREEZE_S:g} s",
                trials("agent frozen", extra=freeze_agent(lab, 1)),
                base,
                expect="on one host the VIP's route waits for the agent to run again",
            )
        )
        rows.append(
            judge_failovers(
                "member-frozen",
                "a frozen member (keepalived SIGSTOP)",
                "the holder's keepalived SIGSTOPped (the lab's freeze mode) instead of its interface down",
                trials("member frozen", mode="freeze"),
                base,
            )
        )
        for kind, name, title in (
            ("garp", "garp-flood", "a GARP flood from a non-member during a failover"),
            ("request", "arp-request-flood", "an ARP request flood from a non-member during a failover"),
        ):
            with flood(lab, kind) as sent:
                started = time.monotonic()
                got = trials(f"{kind} flood")
                rate = sent["frames"] / max(1e-9, time.monotonic() - started + 0.5)
            row = judge_failovers(
                name,
                title,
                f"the client sending ~{FLOOD_FPS:,} {kind} frames/s for the VIP (measured {rate:,.0f}/s)",
                got,
                base,
            )
            row["figures"]["flood_fps"] = round(rate)
            rows.append(row)
    return rows


def three_hosts(s: Sizes, table: ProcessTable, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    with havip_lab(_spec("rh", advert_int=0.1, hosts=3), table, progress) as system:
        lab = system.builder
        assert lab is not None
        base = _baseline(lab, max(2, s.times), progress, "three hosts")
        for mode, name, title, injected in (
            (
                "host",
                "host-lost",
                "a whole host lost",
                "the holder's host: every process SIGKILLed, its namespaces gone",
            ),
            (
                "partition",
                "host-partitioned",
                "a host partitioned and healed",
                "the holder's host's underlay link down, then up again",
            ),
        ):
            got = []
            for i in range(s.times):
                t = failover(lab, mode)
                progress(f"{mode} {i + 1}/{s.times} {t['from']}->{t['to']}: {t['lost_probes']} probes lost")
                got.append(t)
            rows.append(judge_failovers(name, title, injected, got, base))
        for percent in (10, 50):
            got = []
            underlay_loss(lab.spec, percent, True)
            try:
                for i in range(s.times):
                    t = failover(lab, BASE_MODE)
                    progress(f"underlay loss {percent}% {i + 1}/{s.times}: {t['lost_probes']} probes lost")
                    got.append(t)
            finally:
                underlay_loss(lab.spec, percent, False)
            rows.append(
                judge_failovers(
                    f"underlay-loss-{percent}",
                    f"underlay loss of {percent}% during a cross-host failover",
                    f"{percent}% of every host's underlay packets dropped (nftables numgen random) during the failover",
                    got,
                    base,
                    expect="the client's probes cross the lossy underlay both ways",
                )
            )
    return rows


def mass_failover(s: Sizes, table: ProcessTable, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    spec = _spec(
        "rm",
        subnet_cidr="172.17.16.0/21",
        advert_int=1.0,  # as benchmark #3: at 0.1 s a keepalived adding 1,000 addresses flaps
        vrrp_version=2,
        extra_havips=s.mass_havips - 1,
    )
    vips = [spec.vip, *spec.extra_vips()]
    trials: list[dict[str, Any]] = []
    with ExitStack() as stack:
        system = stack.enter_context(havip_lab(spec, table, progress))
        lab = system.builder
        assert lab is not None
        obs = mass.Observers(host_namespace(spec.name), instance_namespace(spec.name, "client"), vips)
        stack.callback(obs.close)
        if not mass._wait("a single MASTER", lambda: system.master() is not None, 60):
            raise RuntimeError("no single MASTER after the build")
        holder = system.master()
        assert holder is not None
        w = obs.open(time.time_ns(), 0, holder.name)  # answers only: port 0 matches no GARP or route
        if not mass._wait("every VIP answering", lambda: len(w.answer_ns) == len(vips), 300):
            raise RuntimeError(f"not every one of the {len(vips)} VIPs answers from the master before the failovers")
        # the start-up's claims all reported (a server busy with 1,000 reports may time a request out)
        if not mass._wait("the start-up recorded", lambda: _all_held(lab, holder.name), 300):
            raise RuntimeError(f"the control plane does not show {holder.name} holding every HaVip")
        for i in range(s.mass_times):
            killed: dict[str, int] = {}
            stop = threading.Event()

            def killer(killed: dict[str, int] = killed, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    w = obs.window
                    if w is not None and w.route_ns:  # the first routes switched: mid-failover
                        killed["at"] = time.time_ns()
                        kill_agent(lab, 1)(lab.client())
                        return
                    time.sleep(0.0005)

            t = threading.Thread(target=killer, daemon=True)
            t.start()
            try:
                row = mass.one_failover(
                    system, obs, BASE_MODE, settle=1.0, inject_fn=_link_down, repair_fn=_link_up, timeout=MASS_WAIT_S
                )
            finally:
                stop.set()
                t.join(5)
            row.pop("garp_to_route_ms", None)
            row["agent_killed"] = "at" in killed
            trials.append(row)
            progress(
                f"mass {i + 1}/{s.mass_times}: {row['routes_switched']}/{len(vips)} routes, all switched "
                f"{row['last_route_ms']} ms after the injection, recorded {row['recorded_all_ms']} ms"
            )
    complete = all(t["complete"] and t["agent_killed"] for t in trials)
    recorded = all(t["recorded_all_ms"] is not None for t in trials)
    figures = {
        "havips": len(vips),
        "all_switched_ms": _max([t["last_route_ms"] for t in trials]),
        "truth_ms": _max([t["recorded_all_ms"] for t in trials]),
        "routes_switched_least": min(t["routes_switched"] for t in trials),
    }
    verdict: Verdict = "lost"
    if complete and recorded:
        why = (
            f"every route switched, the last {figures['all_switched_ms']:.0f} ms after the injection (routes the "
            f"killed agent had not switched wait for its restart, {RESTART_S:g} s); the control plane showed all"
        )
    elif not complete:
        least = figures["routes_switched_least"]
        why = (
            f"only {least} of {len(vips)} routes switched within {MASS_WAIT_S:g} s: the restarted agent never "
            "learnt of the GARPs sent while it was dead"
        )
    else:
        why = (
            "the control plane never showed the new holder of every HaVip (waited 120 s): the holder changes the "
            "killed agent had switched were not reported (its reporter's queue died with it)"
        )
    if complete and recorded and (figures["all_switched_ms"] or 0) < 1000 * RESTART_S:
        verdict = "held"
    return [
        Row(
            "fault",
            "agent-sigkill-during-mass-failover",
            f"agent SIGKILL during a mass failover of {len(vips):,} HaVips",
            f"the holder's interface down; the agent SIGKILLed once the first routes switched, restarted {RESTART_S:g} s later",
            len(trials),
            verdict,
            why,
            figures,
            trials=trials,
        ).as_dict()
    ]


def _all_held(lab: LabBuilder, holder: str) -> bool:
    instance = lab.nodes[holder].instance_id
    try:
        havips = lab.api().list_all("havips")
    except ApiError:
        return False
    return all((h.get("holder") or {}).get("instance_id") == instance for h in havips)


def _link_down(system: System, _mode: str, member: Member) -> None:
    """The master's interface down: its VIPs answer nothing more (a dead machine)."""
    netns.ip("link", "set", "eth0", "down", netns=member.namespace)


def _link_up(system: System, member: Member) -> None:
    netns.ip("link", "set", "eth0", "up", netns=member.namespace)
    netns.ip("route", "replace", "default", "via", gateway_address(system.spec.subnet_cidr), "dev", "eth0",
             netns=member.namespace)  # fmt: skip


def _fds(pid: int) -> list[str]:
    """What the process's open files are (socket:[n] as ``socket``, so a count per kind)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            out.append(target.split(":[")[0] if ":[" in target else target)
    return sorted(out)


def _footprint(pid: int) -> dict[str, Any]:
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = _fds(pid)
    return {"open_files": len(fds), "rss_kib": rss, "files": fds}


def _more_files(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The open files ``after`` has beyond ``before`` (by kind or path, with multiplicity)."""
    left = list(before["files"])
    extra = []
    for f in after["files"]:
        if f in left:
            left.remove(f)
        else:
            extra.append(f)
    return extra


def soak(s: Sizes, table: ProcessTable, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    with havip_lab(_spec("rs", advert_int=0.01), table, progress) as system:
        lab = system.builder
        assert lab is not None
        for _ in range(3):  # warm: lazy imports, caches and the server's connection pool are not a leak
            failover(lab)
        pids = {"agent": _agent_pid(lab, 1), "server": lab.table.procs["serve"].pid}
        before = {k: _footprint(p) for k, p in pids.items()}
        stale = 0
        lost: list[int] = []
        failed = 0
        for i in range(s.soak):
            try:
                t = failover(lab)
            except Exception as exc:  # one failover that did not complete is a finding, not the end
                failed += 1
                progress(f"soak {i + 1}: {type(exc).__name__}: {exc}")
                continue
            stale += int(t["stale_answers"] or 0)
            lost.append(int(t["lost_probes"] or 0))
            if (i + 1) % 10 == 0:
                progress(f"soak {i + 1}/{s.soak}: {stale} stale answers so far")
        after = {k: _footprint(p) for k, p in pids.items()}
    growth = {
        k: {
            "open_files": after[k]["open_files"] - before[k]["open_files"],
            "rss_kib": after[k]["rss_kib"] - before[k]["rss_kib"],
        }
        for k in pids
    }
    figures = {
        "failovers": s.soak,
        "failed": failed,
        "stale_answers": stale,
        "probes_lost_median": _median(lost),
        "agent_open_files_growth": growth["agent"]["open_files"],
        "agent_rss_growth_kib": growth["agent"]["rss_kib"],
        "server_open_files_growth": growth["server"]["open_files"],
        "server_rss_growth_kib": growth["server"]["rss_kib"],
    }
    problems = []
    if stale:
        problems.append(f"{stale} stale answers")
    if failed:
        problems.append(f"{failed} failovers did not complete")
    pooled = []
    for k in pids:
        more = _more_files(before[k], after[k])
        # the server's SQLite connection pool opening one more connection (the database and its
        # WAL) is bounded by the pool's size, not a leak; anything else that grew is
        db = [f for f in more if k == "server" and os.path.basename(f).startswith("havip.db")]
        pooled += db
        leaked = [f for f in more if f not in db]
        if leaked:
            problems.append(f"the {k} holds {len(leaked)} more open files ({', '.join(leaked)})")
    verdict: Verdict = "lost" if problems else "held"
    why = "; ".join(problems) or (
        f"no stale answer in {s.soak} failovers, no open file more"
        + (
            f" but {len(pooled)} of the server's database (pooled SQLite connections, each with the database and "
            "its WAL open; bounded by the pool's size)"
            if pooled
            else ""
        )
        + f"; memory {growth['agent']['rss_kib']:+d} KiB (agent), {growth['server']['rss_kib']:+d} KiB (server)"
    )
    return [
        Row(
            "fault",
            "soak",
            f"{s.soak:,} consecutive failovers at VRRPv3 0.01 s",
            "the holder's keepalived SIGKILLed and restarted, back and forth",
            s.soak,
            verdict,
            why,
            figures,
            trials=[
                {
                    k: {
                        "before": {x: before[k][x] for x in ("open_files", "rss_kib")},
                        "after": {x: after[k][x] for x in ("open_files", "rss_kib")},
                        "more_files": _more_files(before[k], after[k]),
                    }
                    for k in pids
                }
            ],
        ).as_dict()
    ]


PARTS: tuple[
    tuple[Callable[[Sizes, ProcessTable, Callable[[str], None]], list[dict[str, Any]]], tuple[str, ...]], ...
] = (
    (
        one_host,
        ("agent-sigkill-during-failover", "agent-frozen", "member-frozen", "garp-flood", "arp-request-flood"),
    ),
    (
        three_hosts,
        ("host-lost", "host-partitioned", "underlay-loss-10", "underlay-loss-50"),
    ),
    (mass_failover, ("agent-sigkill-during-mass-failover",)),
    (soak, ("soak",)),
)
"""Each lab of the group and the rows it gives: a lab that fails gives its rows as "not shown"
(with the error), and the other labs still run."""


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    s = sizes(tiny)
    rows: list[dict[str, Any]] = []
    titles = dict(REQUIRED)
    wanted = set(filter(None, os.environ.get(ROWS_ENV, "").split(",")))
    for part, names in PARTS:
        if wanted and not wanted & set(names):
            continue
        try:
            rows += part(s, table, progress)
        except Exception as exc:  # the lab could not run: its rows say so, the rest go on
            progress(f"{', '.join(names)}: {type(exc).__name__}: {exc}")
            rows += [
                Row(
                    "fault", n, titles[n], "-", 0, "not shown", f"the lab failed: {type(exc).__name__}: {exc}"
                ).as_dict()
                for n in names
            ]
    return rows
