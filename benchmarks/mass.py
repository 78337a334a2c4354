"""Benchmark 3: mass failover, a pair holding 1,000 HaVips fails over at once.

The product page's lab is built with ``LabSpec.extra_havips`` (1,000 HaVips in all,
quotas raised by the operator, every one bound to both members; keepalived carries the
extra VIPs in ``virtual_ipaddress_excluded``, so it takes them all over at once and
announces each by GARP). Failovers alternate in direction and between a crash (``kill``)
and a graceful stop (``term``). Three observers watch each failover from outside the
agent, on one clock (CLOCK_REALTIME):

- GARPs: a packet socket in the host namespace (the agent's own filter: sender IP =
  target IP), kernel receive timestamps; per VIP, the first GARP out of the new
  master's port after the failure.
- Routes: an rtnetlink socket in the host namespace subscribed to IPv4 route changes;
  per VIP, the first notification of its /32 pointing at the new master's port.
- The client: one UDP socket in the client's namespace sweeping every VIP in turn at
  ``SWEEP_PPS`` (the service answers with the instance's name); per VIP, the first
  answer from the new holder. Its resolution is the sweep period (n / SWEEP_PPS), so
  it says "every VIP answers", not how fast to the millisecond.

Measured per failover: failure -> last GARP (the last VIP's first GARP), last GARP ->
last route switched (target: under 100 ms, every failover), failure -> every VIP
answering from the new holder, and per VIP GARP -> route. Platform-internal times are
reported as absolute distributions; the target is met only if every failover meets it
and no VIP was left unswitched.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import fmt, stats
from benchmarks.failover import FailoverFailed, inject, repair
from benchmarks.labs import Member, System, havip_lab, unique_name
from havip.agent.arp import GarpSeen, classify
from havip.agent.dataplane.netlink import SO_RCVBUFFORCE, attrs
from havip.agent.dataplane.netns import Netns
from havip.agent.dataplane.watcher import ArpWatcher
from havip.lab.procs import ProcessTable
from havip.lab.service import UDP_PORT
from havip.lab.spec import LabSpec, host_namespace, instance_namespace, port_device

TARGET_MS = 100.0
SWEEP_PPS = 5000  # the client's probe rate over all VIPs (its cost must stay small beside the agent's)
MODES = ("kill", "term")
RTMGRP_IPV4_ROUTE = 0x40
RTM_NEWROUTE = 24
RTA_DST, RTA_OIF = 1, 4
RCVBUF = 8 << 20


@dataclass
class Window:
    """What the observers saw since ``since_ns``: first GARP / route / answer per VIP."""

    since_ns: int
    garp_ns: dict[str, int] = field(default_factory=dict)  # vip -> first GARP on the new port
    route_ns: dict[str, int] = field(default_factory=dict)  # vip -> first route to the new port
    answer_ns: dict[str, int] = field(default_factory=dict)  # vip -> first answer from the new holder
    port: int = 0  # the new master's port (ifindex in the host namespace)
    holder: str = ""  # the new master's name


class Observers:
    """The three observers' threads, recording into the current ``Window``."""

    def __init__(self, host_ns: str, client_ns: str, vips: list[str]) -> None:
        self.vips = vips
        self.vipset = set(vips)
        self.window: Window | None = None
        self.failed: str | None = None  # an observer that had to stop, and why
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._host = Netns(host_ns)
        self._client = Netns(client_ns)
        self._garps = ArpWatcher(self._host)  # its buffer holds a whole burst (watcher.RCVBUF)
        self._routes: socket.socket = self._host.run(self._route_socket)
        self._udp: socket.socket = self._client.run(socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        self._udp.settimeout(0.2)
        self._threads = [
            threading.Thread(target=fn, name=f"mass-{fn.__name__}", daemon=True)
            for fn in (self._watch_garps, self._watch_routes, self._sweep, self._answers)
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _route_socket() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        s.bind((0, RTMGRP_IPV4_ROUTE))
        s.settimeout(0.2)
        return s

    def ifindex(self, device: str) -> int:
        index: int = self._host.run(socket.if_nametoindex, device)
        return index

    def open(self, since_ns: int, port: int, holder: str) -> Window:
        with self._lock:
            self.window = Window(since_ns, port=port, holder=holder)
            return self.window

    def _record(self, what: str, vip: str, at_ns: int, port: int | None = None, holder: str | None = None) -> None:
        with self._lock:
            w = self.window
            if w is None or at_ns < w.since_ns:
                return
            if (port is not None and port != w.port) or (holder is not None and holder != w.holder):
                return
            getattr(w, what).setdefault(vip, at_ns)

    def _watch_garps(self) -> None:
        while not self._stop.is_set():
            frame = self._garps.receive(0.2)
            if frame is None:
                continue
            seen = classify(frame.data, frame.ifindex, frame.pkttype)
            if isinstance(seen, GarpSeen) and seen.ip in self.vipset:
                self._record("garp_ns", seen.ip, frame.rx_ns or time.time_ns(), port=frame.ifindex)

    def _watch_routes(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._routes.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError as e:  # ENOBUFS: notifications were lost; say so rather than guess
                self.failed = f"the route observer lost notifications: {e}"
                return
            at = time.time_ns()
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("IH", data, off)
                if kind == RTM_NEWROUTE and length >= 28:
                    dst_len = data[off + 17]
                    found = dict(attrs(data[off + 28 : off + length]))
                    if dst_len == 32 and RTA_DST in found and RTA_OIF in found:
                        vip = socket.inet_ntoa(found[RTA_DST][:4])
                        if vip in self.vipset:
                            self._record("route_ns", vip, at, port=struct.unpack("I", found[RTA_OIF][:4])[0])
                off += (length + 3) & ~3 if length else len(data)

    def _sweep(self) -> None:
        period = 1.0 / SWEEP_PPS
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            vip = self.vips[n % len(self.vips)]
            with contextlib.suppress(OSError):  # no route for a moment: the next sweep asks again
                self._udp.sendto(f"{n} {vip}".encode(), (vip, UDP_PORT))
            n += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:
                next_at = time.monotonic()  # fell behind (the machine is busy): do not burst

    def _answers(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._udp.recv(2048)
            except (TimeoutError, OSError):
                continue
            at = time.time_ns()
            parts = data.decode(errors="replace").split()
            if len(parts) == 3 and parts[2] in self.vipset:
                self._record("answer_ns", parts[2], at, holder=parts[0])

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self._garps.close()
        self._routes.close()
        self._udp.close()
        self._host.close()
        self._client.close()


def _wait(what: str, predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _recorded(system: System, holder: str, since_ns: int, timeout: float) -> int | None:
    """When the control plane first showed ``holder`` holding every HaVip (polled once a
    second: its resolution), or None after ``timeout``."""
    lab = system.builder
    assert lab is not None
    instance = lab.nodes[holder].instance_id
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        havips = lab.api().list_all("havips")
        if all((h.get("holder") or {}).get("instance_id") == instance for h in havips):
            return max(since_ns, time.time_ns())
        time.sleep(1.0)
    return None


def one_failover(
    system: System,
    obs: Observers,
    mode: str,
    settle: float,
    inject_fn: Callable[[System, str, Member], None] = inject,
    repair_fn: Callable[[System, Member], None] = repair,
    timeout: float = 30,
) -> dict[str, Any]:
    """One mass failover: ``inject_fn`` breaks the master (``mode``), the observers time every
    VIP's GARP, route and answer (for up to ``timeout`` s), ``repair_fn`` brings it back."""
    old = system.master()
    if old is None:
        raise FailoverFailed("no single MASTER before the failover")
    new = next(m for m in system.members.values() if m is not old)
    port = obs.ifindex(port_device(new.name))
    injected = time.time_ns()
    w = obs.open(injected, port, new.name)
    inject_fn(system, mode, old)
    n = len(obs.vips)
    if obs.failed:
        raise FailoverFailed(obs.failed)
    complete = _wait(
        "every VIP switched and answering",
        lambda: len(w.route_ns) == n and len(w.answer_ns) == n,
        timeout,
    )
    recorded = _recorded(system, new.name, injected, 120)
    time.sleep(settle)  # late GARPs of the burst (keepalived repeats them) must not count as later
    obs.window = None
    repair_fn(system, old)
    if not _wait(
        f"{old.name} to rejoin as BACKUP",
        lambda: old.keepalived.state(system.table) == "BACKUP" and system.master() is new,
        60,
    ):
        raise FailoverFailed(f"{old.name} did not rejoin as BACKUP")

    def ms(ns: int) -> float:
        return (ns - injected) / 1e6

    if obs.failed:
        raise FailoverFailed(obs.failed)
    garps, routes, answers = w.garp_ns, w.route_ns, w.answer_ns
    per_vip = [(routes[v] - garps[v]) / 1e6 for v in obs.vips if v in routes and v in garps]
    last_garp = max(garps.values()) if garps else None
    last_route = max(routes.values()) if routes else None
    return {
        "mode": mode,
        "from": old.name,
        "to": new.name,
        "complete": complete,
        "garps_seen": len(garps),
        "routes_switched": len(routes),
        "answered": len(answers),
        "first_garp_ms": ms(min(garps.values())) if garps else None,
        "last_garp_ms": ms(last_garp) if last_garp else None,
        "last_route_ms": ms(last_route) if last_route else None,
        "last_answer_ms": ms(max(answers.values())) if answers else None,
        "switched_after_last_garp_ms": (last_route - last_garp) / 1e6 if last_garp and last_route else None,
        "recorded_all_ms": None if recorded is None else ms(recorded),
        "garp_to_route_ms": per_vip,
    }


def _sizes(tiny: bool) -> tuple[int, int]:
    """(HaVips, failovers per mode)."""
    return (10, 2) if tiny else (1000, 10)


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict[str, Any]:
    havips, runs = _sizes(tiny)
    spec = LabSpec(
        name=unique_name("bm"),
        subnet_cidr="172.17.16.0/21",
        # the product page's timers: at advert_int 0.1 a keepalived busy adding 1,000
        # addresses and sending their GARPs misses its own adverts and the pair flaps
        advert_int=1.0,
        vrrp_version=2,
        check_interval=1.0,
        probe_interval_ms=10,
        extra_havips=havips - 1,
    )
    vips = [spec.vip, *spec.extra_vips()]
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        system = stack.enter_context(havip_lab(spec, table, progress))
        lab = system.builder
        assert lab is not None
        progress(f"mass failover: waiting for the pair to hold all {havips} VIPs")
        obs = Observers(host_namespace(spec.name), instance_namespace(spec.name, "client"), vips)
        stack.callback(obs.close)
        if not _wait("a single MASTER", lambda: system.master() is not None, 60):
            raise FailoverFailed("no single MASTER after the build")
        holder = system.master()
        assert holder is not None
        w = obs.open(time.time_ns(), 0, holder.name)  # answers only: port 0 matches no GARP or route
        if not _wait("every VIP answering", lambda: len(w.answer_ns) == havips, 120):
            raise FailoverFailed(f"not every one of the {havips} VIPs answers from the master before the failovers")
        if _recorded(system, holder.name, 0, 300) is None:  # the start-up's claims all reported
            raise FailoverFailed(f"the control plane does not show {holder.name} holding every HaVip")
        for i in range(runs):
            for mode in MODES if i % 2 == 0 else tuple(reversed(MODES)):  # each mode, both directions
                row = one_failover(system, obs, mode, settle=1.0)
                row["round"] = i
                rows.append(row)
                progress(
                    f"mass {mode} #{i + 1} {row['from']}->{row['to']}: {row['routes_switched']}/{havips} routes, "
                    f"last GARP {fmt.f(row['last_garp_ms'], 1)} ms, all switched "
                    f"{fmt.f(row['switched_after_last_garp_ms'], 1)} ms after it, all answering "
                    f"{fmt.f(row['last_answer_ms'], 0)} ms; recorded by the control plane "
                    f"{fmt.f(row['recorded_all_ms'], 0)} ms"
                )
    return {
        "name": "mass",
        "params": {
            "havips": havips,
            "failovers_per_mode": runs,
            "modes": list(MODES),
            "keepalived": f"VRRPv{spec.version} advert_int {spec.advert_int:g}; extra VIPs in virtual_ipaddress_excluded;"
            " garp_master_repeat 1, no garp_master_refresh",
            "sweep_pps": SWEEP_PPS,
            "sweep_period_ms": 1000 * havips / SWEEP_PPS,
        },
        "runs": rows,
        "modes": {mode: analyse([r for r in rows if r["mode"] == mode], havips) for mode in MODES},
    }


def analyse(rows: list[dict[str, Any]], havips: int) -> dict[str, Any]:
    after = [r["switched_after_last_garp_ms"] for r in rows if r["switched_after_last_garp_ms"] is not None]
    incomplete = sum(1 for r in rows if r["routes_switched"] < havips or r["switched_after_last_garp_ms"] is None)
    worst = max(after) if after else None
    return {
        "last_garp_ms": stats.summary([r["last_garp_ms"] for r in rows if r["last_garp_ms"] is not None]).as_dict(),
        "switched_after_last_garp_ms": stats.summary(after).as_dict(),
        "switched_after_last_garp_p50_ms": stats.bootstrap_percentile(after, 50).as_dict(),
        "last_answer_ms": stats.summary(
            [r["last_answer_ms"] for r in rows if r["last_answer_ms"] is not None]
        ).as_dict(),
        "garp_to_route_ms": stats.summary([x for r in rows for x in r["garp_to_route_ms"]]).as_dict(),
        "recorded_all_ms": stats.summary(
            [r["recorded_all_ms"] for r in rows if r["recorded_all_ms"] is not None]
        ).as_dict(),
        "incomplete_failovers": incomplete,
        "target": {
            "what": f"every failover: all {havips} routes switched < {TARGET_MS:g} ms after the last GARP",
            "met": worst is not None and worst < TARGET_MS and incomplete == 0,
            "by_ms": None if worst is None else worst - TARGET_MS,
        },
    }


def table(r: dict[str, Any]) -> str:
    p = r["params"]
    lines = [
        f"{p['havips']} HaVips on one pair ({p['keepalived']}), {p['failovers_per_mode']} failovers per mode, "
        "alternating direction. Times in ms on one clock; the client sweeps every VIP at "
        f"{p['sweep_pps']} packets/s (resolution {fmt.f(p['sweep_period_ms'], 0)} ms).",
        "",
        fmt.DIST_HEAD,
    ]
    for mode, m in r["modes"].items():
        lines += [
            fmt.dist_row(f"{mode}: failure -> last GARP", m["last_garp_ms"]),
            fmt.dist_row(f"{mode}: last GARP -> all routes switched", m["switched_after_last_garp_ms"]),
            fmt.dist_row(f"{mode}: failure -> every VIP answering (client)", m["last_answer_ms"]),
            fmt.dist_row(f"{mode}: per VIP, GARP -> route switched", m["garp_to_route_ms"]),
            fmt.dist_row(f"{mode}: failure -> control plane shows every new holder (1 s polls)", m["recorded_all_ms"]),
        ]
    lines += ["", "| mode | failovers not fully switched | last GARP -> all switched, p50 [95% CI] | target |"]
    lines.append("|---|---|---|---|")
    for mode, m in r["modes"].items():
        lines.append(
            f"| {mode} | {m['incomplete_failovers']} | {fmt.ci(m['switched_after_last_garp_p50_ms'])} "
            f"| {fmt.verdict(m['target'])} |"
        )
    return "\n".join(lines)


def _plot(r: dict[str, Any], path: Path) -> None:
    fig, (ax, bx) = fmt.figure(5, 3.5, 2)
    for mode in r["modes"]:
        rows = [x for x in r["runs"] if x["mode"] == mode]
        fmt.cdf(ax, [x for row in rows for x in row["garp_to_route_ms"]], f"{mode}: per VIP GARP -> route")
        fmt.cdf(
            bx,
            [x["switched_after_last_garp_ms"] for x in rows if x["switched_after_last_garp_ms"] is not None],
            f"{mode}: last GARP -> all switched",
        )
    ax.set(xlabel="ms", ylabel="fraction of VIPs", title=f"{r['params']['havips']} VIPs: GARP -> route")
    bx.axvline(TARGET_MS, color="red", linestyle="--", label=f"target {TARGET_MS:g} ms")
    bx.set(xlabel="ms", ylabel="fraction of failovers", title="last GARP -> every route switched")
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    fmt.save(fig, path)


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    _plot(r, out / "mass_cdf.png")
    summary = [
        f"| #3 mass failover, {mode} | {m['target']['what']} | {fmt.verdict(m['target'])} "
        f"max = {fmt.f(m['switched_after_last_garp_ms']['max'])} ms |"
        for mode, m in r["modes"].items()
    ]
    return fmt.Section(
        summary=summary,
        body=[table(r), "", f"![mass failover]({rel / 'mass_cdf.png'})"],
        notes=[
            "GARPs, route changes and answers are observed from outside the agent (a packet socket and an "
            "rtnetlink listener in the host namespace, the client's socket), not taken from the agent's reports.",
            "The client's sweep is coarse on purpose (it shares two cores with the agent it measures): its "
            "'every VIP answering' time is good to one sweep period.",
        ],
    )
