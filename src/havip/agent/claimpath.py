"""The claim path's thread: GARP seen -> decide -> switch the route -> enqueue a report.

One thread owns the packet socket (claims and probe answers), the NFLOG socket
(refused claims) and the raw rtnetlink route switch, so a claim never waits for
anything but the kernel: not the control plane (reports go to the ``Reporter``
queue), not the reconcile loop (which only shares ``Host.switch_lock`` for the few
VIP route actions of a plan). Holder discovery rounds run on the same thread: probes
out, answers collected for ``answer_window`` while claims keep being served, then
``claims.decide_round`` per HaVip. Decisions are the pure functions of
``havip.agent.claims``; this module wires them to the sockets and the metrics.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from havip.agent import arp
from havip.agent import claims as c
from havip.agent.dataplane.errors import DataplaneError
from havip.agent.dataplane.nflog import NflogReader
from havip.agent.dataplane.switch import Move, RouteSwitch
from havip.agent.dataplane.watcher import ArpWatcher, Frame
from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics
from havip.agent.reporter import Report
from havip.agent.settings import DiscoverySettings

log = logging.getLogger("havip.agent.claims")

ERROR_BACKOFF = 0.05  # seconds the loop pauses after an unexpected exception (no busy spin)


class Host(Protocol):
    """What the claim path needs from the agent that runs it."""

    switch_lock: threading.Lock

    @property
    def view(self) -> c.ClaimView: ...
    def claim_state(self) -> tuple[c.ClaimView, dict[str, str]]: ...
    def last_claim_ns(self, havip_id: str) -> int: ...
    def claimed(self, claims: Sequence[tuple[str, str, int]]) -> None: ...
    def enqueue(self, rep: Report) -> None: ...
    def vip_moved(self, vip: c.VipInfo, acked_ns: int) -> None: ...


@dataclass
class Round:
    reason: str
    started_ns: int
    deadline: float  # monotonic
    targets: list[tuple[c.VipInfo, c.PortInfo]]
    answers: dict[str, set[str]] = field(default_factory=dict)  # havip id -> interfaces
    claimed: set[str] = field(default_factory=set)  # havip ids claimed during the round


@dataclass(frozen=True)
class RoundResult:
    reason: str
    findings: dict[str, c.RoundVerdict]  # by HaVip id


class ClaimPath:
    def __init__(
        self,
        host: Host,
        watcher: ArpWatcher,
        switch: RouteSwitch,
        nflog: NflogReader | None,
        metrics: AgentMetrics,
        settings: DiscoverySettings,
        gateway_mac: str,
        on_round: Callable[[RoundResult], None] | None = None,
    ) -> None:
        self.host, self.watcher, self.switch, self.nflog = host, watcher, switch, nflog
        self.metrics, self.settings, self.gateway_mac = metrics, settings, gateway_mac
        self.on_round = on_round
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._requested: list[str] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._round: Round | None = None
        self._next_timer = time.monotonic() + settings.interval
        self.last_round: RoundResult | None = None
        self._thread = threading.Thread(target=self._run, name="havip-claims", daemon=True)

    # ---------------------------------------------------------- other threads

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def request_round(self, reason: str) -> None:
        """Run a discovery round as soon as possible (start, gap, ...)."""
        with self._lock:
            self._requested.append(reason)
        os.write(self._wake_w, b"r")

    # ------------------------------------------------------------------ loop

    def _run(self) -> None:
        socks: list[int] = [self._wake_r, self.watcher.fileno()]
        if self.nflog is not None:
            socks.append(self.nflog.fileno())
        while not self._stopping:
            now = time.monotonic()
            due = self._round.deadline if self._round else self._next_timer
            ready, _, _ = select.select(socks, [], [], max(0.0, due - now))
            try:
                if self.watcher.fileno() in ready:
                    self._drain_watcher()
                if self.nflog is not None and self.nflog.fileno() in ready:
                    self._drain_nflog()
                if self._wake_r in ready:
                    os.read(self._wake_r, 4096)
                self._rounds()
            except (DataplaneError, OSError) as e:  # never let the claim path die
                event(log, "claim-path-error", error=str(e), level=logging.ERROR)
            except Exception:  # nor a bug: log with the traceback, count, back off a little
                event(log, "claim-path-error", level=logging.ERROR, exc_info=True)
                self.metrics.loop_errors.labels(loop="claims").inc()
                time.sleep(ERROR_BACKOFF)

    def _drain_watcher(self, budget: int = 256) -> None:
        """Read what is queued (bounded: NFLOG and rounds get their turn under a flood),
        decide each GARP against the state as the earlier ones of the batch leave it, then
        move every VIP that moves in one netlink batch: a mass failover announces hundreds
        of VIPs at once (each several times), and one round trip per GARP would trail the
        last of them by seconds. A VIP announced twice in a batch moves once, where the
        later announcement says, as it would have one GARP at a time."""
        view, local = self.host.claim_state()  # ``local`` is this drain's own copy: planned claims go into it
        planned: dict[str, tuple[c.ClaimVerdict, Frame, arp.GarpSeen]] = {}  # by HaVip id
        try:
            for _ in range(budget):
                frame = self.watcher.receive(0)
                if frame is None:
                    break
                seen = arp.classify_watch(frame.data, frame.ifindex, frame.pkttype, self.gateway_mac)
                if isinstance(seen, arp.GarpSeen):
                    verdict = self._decide(view, local, frame, seen)
                    if verdict.act is c.Act.SWITCH and verdict.vip is not None and verdict.port is not None:
                        planned[verdict.vip.havip_id] = (verdict, frame, seen)
                        local[verdict.vip.havip_id] = verdict.port.interface_id
                elif isinstance(seen, arp.ProbeAnswer):
                    self._on_answer(seen)
        finally:  # a frame that fails to read (its port just vanished) must not strand the others
            if planned:
                self._switch_claims(list(planned.values()))

    def _decide(self, view: c.ClaimView, local: dict[str, str], frame: Frame, seen: arp.GarpSeen) -> c.ClaimVerdict:
        verdict = c.decide_claim(view, local, seen.ifindex, seen.ip)
        self.metrics.claims.labels(verdict=verdict.why.value).inc()
        if verdict.vip is not None and self._round is not None and verdict.act is not c.Act.IGNORE:
            self._round.claimed.add(verdict.vip.havip_id)
        if verdict.act is c.Act.IGNORE:
            event(log, "garp-ignored", level=logging.DEBUG, vip=seen.ip, port=frame.ifname, reason=verdict.why.value)
        return verdict

    def _switch_claims(self, claims: list[tuple[c.ClaimVerdict, Frame, arp.GarpSeen]]) -> None:
        moves = [(v.vip, v.port, frame.rx_ns) for v, frame, _seen in claims if v.vip is not None and v.port is not None]
        for (verdict, frame, seen), acked in zip(claims, self._switch(moves), strict=True):
            vip, port = verdict.vip, verdict.port
            assert vip is not None and port is not None
            if isinstance(acked, DataplaneError):
                event(log, "claim-path-error", havip=vip.havip_id, vip=vip.ip, error=str(acked), level=logging.ERROR)
                continue
            latency_us = max(0, (acked - frame.rx_ns) // 1000) if frame.rx_ns else None
            if latency_us is not None:
                self.metrics.switch_latency.observe(latency_us / 1e6)
            cause = "garp-request" if seen.op == arp.ARP_REQUEST else "garp-reply"
            event(
                log, "claim-switched", havip=vip.havip_id, vip=vip.ip, interface=port.interface_id, port=port.device,
                latency_us=latency_us,
            )  # fmt: skip
            self.host.enqueue(
                Report(
                    vip.havip_id, port.interface_id, "claim", frame.rx_ns or acked, cause, latency_us, local_claim=True
                )
            )

    def _switch(self, moves: list[tuple[c.VipInfo, c.PortInfo, int]]) -> list[int | DataplaneError]:
        """Each VIP with its neighbour and route entries, all in one netlink batch; then
        the flows. ``at_ns`` (when the claim was seen, 0: unknown) dates the local claim."""
        with self.host.switch_lock:
            results = self.switch.switch_many(
                [Move(vip.table, vip.ip, port.ifindex, port.mac, vip.routes) for vip, port, _at in moves]
            )
            self.host.claimed(
                [
                    (vip.havip_id, port.interface_id, at_ns or acked)
                    for (vip, port, at_ns), acked in zip(moves, results, strict=True)
                    if not isinstance(acked, DataplaneError)
                ]
            )
        for (vip, _port, _at), acked in zip(moves, results, strict=True):
            if not isinstance(acked, DataplaneError):
                self.host.vip_moved(vip, acked)
        return results

    def _on_answer(self, seen: arp.ProbeAnswer) -> None:
        view = self.host.view
        port = view.ports.get(seen.ifindex)
        vip = view.vips.get((port.vpc_id, seen.ip)) if port else None
        if port is None or vip is None or self._round is None:
            return  # an answer outside a round, or for no HaVip, feeds nothing
        self._round.answers.setdefault(vip.havip_id, set()).add(port.interface_id)

    def _drain_nflog(self) -> None:
        view = self.host.view
        for logged in self.nflog.receive(0) if self.nflog else []:
            p = logged.payload
            if len(p) < arp.ARP_LEN:
                continue
            sender_ip, target_ip = ".".join(map(str, p[14:18])), ".".join(map(str, p[24:28]))
            port = view.ports.get(logged.ifindex)
            vip = view.vips.get((port.vpc_id, sender_ip)) if port else None
            if port is None or vip is None:
                continue
            self.metrics.refused.inc()
            cause = "garp" if sender_ip == target_ip else "arp"
            event(log, "claim-refused", havip=vip.havip_id, vip=vip.ip, interface=port.interface_id, reason=cause)
            self.host.enqueue(Report(vip.havip_id, port.interface_id, "refused", logged.at_ns or time.time_ns(), cause))

    # -------------------------------------------------------------- discovery

    def _rounds(self) -> None:
        now = time.monotonic()
        if self._round is not None and now >= self._round.deadline:
            self._finish_round(self._round)
            self._round = None
        if self._round is not None:
            return
        with self._lock:
            reason = self._requested[0] if self._requested else None
            self._requested.clear()
        if reason is None and now >= self._next_timer:
            reason = "timer"
        if reason is not None:
            self._start_round(reason)

    def _start_round(self, reason: str) -> None:
        self._next_timer = time.monotonic() + self.settings.interval
        targets = c.probe_targets(self.host.view)
        self._round = Round(reason, time.time_ns(), time.monotonic() + self.settings.answer_window, targets)
        for vip, port in targets:
            frame = arp.build_arp(arp.ARP_REQUEST, self.gateway_mac, vip.gateway_ip, vip.ip)
            try:
                self.watcher.send(port.device, frame)
            except OSError as e:
                event(log, "probe-failed", havip=vip.havip_id, port=port.device, error=str(e), level=logging.WARNING)

    def _finish_round(self, rnd: Round) -> None:
        view, local = self.host.claim_state()
        shield_ns = int(self.settings.claim_shield * 1e9)
        findings: dict[str, c.RoundVerdict] = {}
        for vip in {v.havip_id: v for v, _p in rnd.targets}.values():
            current = view.vip_by_id(vip.havip_id) or vip
            shielded = vip.havip_id in rnd.claimed or rnd.started_ns - self.host.last_claim_ns(vip.havip_id) < shield_ns
            holder = c.holder_here(current, view.host, local)
            verdict = c.decide_round(current, view.host, holder, rnd.answers.get(vip.havip_id, ()), shielded)
            findings[vip.havip_id] = verdict
            self.metrics.findings.labels(finding=verdict.finding.value).inc()
            self._act(current, verdict, rnd.reason)
        self.last_round = RoundResult(rnd.reason, findings)
        if self.on_round:
            self.on_round(self.last_round)

    def _act(self, vip: c.VipInfo, verdict: c.RoundVerdict, reason: str) -> None:
        who = verdict.interface_id
        now = time.time_ns()
        if verdict.finding is c.Finding.SPLIT_BRAIN and who:
            self.metrics.split_brains.inc()
            event(log, "split-brain", havip=vip.havip_id, vip=vip.ip, interface=who, others=list(verdict.others))
            self.host.enqueue(
                Report(vip.havip_id, who, "split-brain", now, f"discovery-{reason}", None, verdict.others)
            )
        elif verdict.finding is c.Finding.HEAL and who:
            port = self.host.view.port_of(who)
            if port is None:
                return
            (acked,) = self._switch([(vip, port, now)])
            if isinstance(acked, DataplaneError):
                raise acked
            kind = "probe-answer" if vip.holder_interface_id is None else "claim"
            event(log, "claim-healed", havip=vip.havip_id, vip=vip.ip, interface=who, reason=reason)
            self.host.enqueue(Report(vip.havip_id, who, kind, acked, f"discovery-{reason}", None, local_claim=True))
        elif verdict.finding is c.Finding.ELSEWHERE and who:
            self.host.enqueue(Report(vip.havip_id, who, "probe-answer", now, f"discovery-{reason}"))
