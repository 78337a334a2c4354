"""The claim path: GARP seen -> decide -> switch the route -> emit what happened.

One loop (``step``, run by ``havip.agent.loops``) owns the packet socket (claims and probe
answers), the NFLOG socket (refused claims) and the route switch, so a claim never waits
for anything but the kernel: not the control plane, not a reconcile (which only shares
the ledger's ``switch_lock`` for the few VIP route actions of a plan). The path is one
way: it reads the ledger's view and records its own claims there, and everything else it
has to say leaves as a value (``claims.Switched``, ``Refused``, ``Found``) through one
``emit`` callable; the agent turns those into reports and flow resets.

Holder discovery rounds run in the same loop: probes out, answers collected for
``answer_window`` while claims keep being served, then ``claims.decide_round`` per HaVip.
A round is cleared before it is judged, and a heal the kernel refuses is logged and
counted, not retried: the next round asks again (never a spin on one round).
Decisions are the pure functions of ``havip.agent.claims``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from havip.agent import arp, marks
from havip.agent import claims as c
from havip.agent import peers as p2p
from havip.agent.kernel import ArpPort, DataplaneError, Encap, Frame, Move, NflogPort, PeerPort, SwitchPort
from havip.agent.ledger import Ledger
from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics
from havip.agent.settings import DiscoverySettings
from havip.domain.claims import ReportKind

log = logging.getLogger("havip.agent.claims")

Emit = Callable[[c.ClaimEvent], None]


@dataclass
class Round:
    reason: c.RoundReason
    started_ns: int
    deadline: float  # monotonic
    targets: list[tuple[c.VipInfo, c.PortInfo]]
    answers: dict[str, set[str]] = field(default_factory=dict)  # havip id -> interfaces
    claimed: set[str] = field(default_factory=set)  # havip ids claimed during the round


@dataclass(frozen=True)
class RoundResult:
    reason: c.RoundReason
    findings: dict[str, c.RoundVerdict]  # by HaVip id


@dataclass(frozen=True)
class _Planned:
    verdict: c.ClaimVerdict
    vip: c.VipInfo
    port: c.PortInfo
    frame: Frame
    seen: arp.GarpSeen


class ClaimPath:
    def __init__(
        self,
        ledger: Ledger,
        arp_port: ArpPort,
        switch: SwitchPort,
        nflog: NflogPort | None,
        metrics: AgentMetrics,
        settings: DiscoverySettings,
        emit: Emit,
        gateway_mac: str = marks.GATEWAY_MAC,
        on_round: Callable[[RoundResult], None] | None = None,
        peers: PeerPort | None = None,
        peer_key: bytes | None = None,
    ) -> None:
        self.ledger, self.arp, self.switch, self.nflog = ledger, arp_port, switch, nflog
        # claim messages to and from the agents of the VPCs' other hosts (both or neither)
        self.peers: PeerPort | None = peers if peer_key else None
        self.peer_key: bytes | None = peer_key if peers is not None else None
        self._peer_seq = 1
        self._awaiting: dict[tuple[str, int], list[int]] = {}  # (peer, seq) -> the claims' GARP times
        self.metrics, self.settings, self.gateway_mac = metrics, settings, gateway_mac
        self.emit, self.on_round = emit, on_round
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._requested: list[c.RoundReason] = []
        self._lock = threading.Lock()
        self._round: Round | None = None
        self._next_timer = time.monotonic() + settings.interval
        self.last_round: RoundResult | None = None

    # ---------------------------------------------------------- other threads

    def request_round(self, reason: c.RoundReason) -> None:
        """Run a discovery round as soon as possible (start, gap, ...)."""
        with self._lock:
            self._requested.append(reason)
        self.wake()

    def wake(self) -> None:
        """Interrupt the step's wait (a round was requested, or the agent stops)."""
        with contextlib.suppress(OSError):  # full: it wakes anyway; closed: the agent is gone
            os.write(self._wake_w, b"r")

    def close(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)

    # ------------------------------------------------------------------ loop

    def step(self) -> None:
        """Wait for a frame, a refusal, a wake-up or the round's deadline; serve it."""
        socks: list[int] = [self._wake_r, self.arp.fileno()]
        if self.nflog is not None:
            socks.append(self.nflog.fileno())
        if self.peers is not None:
            socks.append(self.peers.fileno())
        due = self._round.deadline if self._round else self._next_timer
        ready, _, _ = select.select(socks, [], [], max(0.0, due - time.monotonic()))
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        if self.arp.fileno() in ready:
            self._drain_watcher()
        if self.nflog is not None and self.nflog.fileno() in ready:
            self._drain_nflog()
        if self.peers is not None and self.peers.fileno() in ready:
            self._drain_peers()
        self._rounds()

    def _drain_watcher(self, budget: int = 256) -> None:
        """Read what is queued (bounded: NFLOG and rounds get their turn under a flood),
        decide each GARP against the state as the earlier ones of the batch leave it, then
        move every VIP that moves in one netlink batch: a mass failover announces hundreds
        of VIPs at once (each several times), and one round trip per GARP would trail the
        last of them by seconds. A VIP announced twice in a batch moves once, where the
        later announcement says, as it would have one GARP at a time."""
        view, local = self.ledger.snapshot()  # ``local`` is this drain's own copy: planned claims go into it
        planned: dict[str, _Planned] = {}  # by HaVip id
        try:
            for _ in range(budget):
                frame = self.arp.receive(0)
                if frame is None:
                    break
                seen = arp.classify_watch(frame.data, frame.ifindex, frame.pkttype, self.gateway_mac)
                if isinstance(seen, arp.GarpSeen):
                    verdict = self._decide(view, local, frame, seen)
                    if verdict.act is c.Act.SWITCH and verdict.vip is not None and verdict.port is not None:
                        planned[verdict.vip.havip_id] = _Planned(verdict, verdict.vip, verdict.port, frame, seen)
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

    def _switch_claims(self, claims: list[_Planned]) -> None:
        view = self.ledger.view
        epochs = {p.vip.havip_id: p2p.next_epoch(self.ledger.holding(p.vip), p.vip.epoch) for p in claims}
        results = self._switch([(p.vip, p.port, p.frame.rx_ns) for p in claims], epochs)
        # the other hosts first: before anything else here can take the interpreter (the
        # report the emit below queues wakes the reporter's thread)
        announced = self._announce(
            view,
            [
                (p.vip, p.port, epochs[p.vip.havip_id], p.frame.rx_ns or acked)
                for p, acked in zip(claims, results, strict=True)
                if not isinstance(acked, DataplaneError)
            ],
        )
        for p, acked in zip(claims, results, strict=True):
            if isinstance(acked, DataplaneError):
                self.metrics.switch_failures.labels(kind=c.SwitchBy.CLAIM.value).inc()
                event(
                    log, "claim-switch-failed", havip=p.vip.havip_id, vip=p.vip.ip, interface=p.port.interface_id,
                    error=str(acked), level=logging.ERROR,
                )  # fmt: skip
                continue
            epoch = epochs[p.vip.havip_id]
            latency_us = max(0, (acked - p.frame.rx_ns) // 1000) if p.frame.rx_ns else None
            if latency_us is not None:
                self.metrics.switch_latency.observe(latency_us / 1e6)
            event(
                log, "claim-switched", havip=p.vip.havip_id, vip=p.vip.ip, interface=p.port.interface_id,
                port=p.port.device, latency_us=latency_us, epoch=epoch,
                announced_us=max(0, announced - p.frame.rx_ns) // 1000 if announced and p.frame.rx_ns else None,
            )  # fmt: skip
            self.emit(
                c.Switched(
                    vip=p.vip,
                    port=p.port,
                    kind=ReportKind.CLAIM,
                    cause=c.Cause.GARP_REQUEST if p.seen.op == arp.ARP_REQUEST else c.Cause.GARP_REPLY,
                    at_ns=p.frame.rx_ns or acked,
                    acked_ns=acked,
                    latency_us=latency_us,
                    epoch=epoch,
                )
            )

    def _switch(
        self, moves: list[tuple[c.VipInfo, c.PortInfo, int]], epochs: dict[str, int] | None = None
    ) -> list[int | DataplaneError]:
        """Each VIP with its neighbour and route entries, all in one netlink batch, and the
        ledger's record of the ones that moved. ``at_ns`` (when the claim was seen, 0:
        unknown, then the ack) dates the local claim; ``epochs`` (by HaVip id) number it."""
        ep = epochs or {}
        with self.ledger.switch_lock:
            results = self.switch.switch_many(
                [Move(vip.table, vip.ip, port.ifindex, port.mac, vip.routes) for vip, port, _at in moves]
            )
            self.ledger.record(
                [
                    c.Claimed(vip.havip_id, port.interface_id, at_ns or acked, ep.get(vip.havip_id, 0))
                    for (vip, port, at_ns), acked in zip(moves, results, strict=True)
                    if not isinstance(acked, DataplaneError)
                ]
            )
        return results

    # ------------------------------------------------------------ other hosts

    def _announce(self, view: c.ClaimView, claims: list[tuple[c.VipInfo, c.PortInfo, int, int]]) -> int:
        """Tell the agent of every other host of each claimed VIP's VPC, one datagram (or a
        few, for a mass failover) per peer. A lost one is repaired by the control plane.
        Returns when the last datagram went out (ns since the epoch; 0: none did)."""
        if self.peers is None or self.peer_key is None or not view.tunnel or not claims:
            return 0
        by_peer: dict[str, list[p2p.PeerClaim]] = {}
        hosts_of: dict[str, list[str]] = {}  # per VPC, once per batch: a mass failover claims 1,000 VIPs of one
        for vip, port, epoch, seen_ns in claims:
            claim = p2p.PeerClaim(havip_id=vip.havip_id, interface_id=port.interface_id, epoch=epoch, seen_ns=seen_ns)
            if vip.vpc_id not in hosts_of:
                hosts_of[vip.vpc_id] = view.peers.peers_of(vip.vpc_id)
            for host in hosts_of[vip.vpc_id]:
                by_peer.setdefault(host, []).append(claim)
        now = time.time_ns()
        for host, items in by_peer.items():
            address = view.peers.peers.get(host)
            if address is None:
                continue
            datagrams = p2p.encode_claims(view.host, self._peer_seq, now, items, self.peer_key)
            for n, data in enumerate(datagrams):
                chunk = items[n * p2p.CLAIMS_PER_DATAGRAM : (n + 1) * p2p.CLAIMS_PER_DATAGRAM]
                try:
                    self.peers.send(address, data)
                except OSError as e:
                    self.metrics.peer_sent.labels(outcome="failed").inc()
                    event(log, "peer-send-failed", peer=host, address=address, error=str(e), level=logging.WARNING)
                    continue
                self.metrics.peer_sent.labels(outcome="sent").inc()
                self._awaiting[(host, self._peer_seq + n)] = [x.seen_ns for x in chunk]
            self._peer_seq += len(datagrams)
        if len(self._awaiting) > 10_000:  # acks that never came (a peer down): forget the oldest
            for key in list(self._awaiting)[: len(self._awaiting) - 10_000]:
                del self._awaiting[key]
        return time.time_ns() if by_peer else 0

    def _drain_peers(self) -> None:
        assert self.peers is not None and self.peer_key is not None
        for data, source, rx_ns in self.peers.receive():
            view = self.ledger.view
            try:
                msg = p2p.decode(data, self.peer_key)
                p2p.check_sender(view.peers, msg.sender, source)
            except p2p.BadMessage as e:
                self.metrics.peer_dropped.labels(reason=e.reason.value).inc()
                event(log, "peer-message-dropped", source=source, reason=e.reason.value, error=str(e),
                      level=logging.WARNING)  # fmt: skip
                continue
            if isinstance(msg, p2p.Ack):
                for seen_ns in self._awaiting.pop((msg.sender, msg.seq), []):
                    if seen_ns:
                        self.metrics.peer_latency.observe(max(0, msg.acked_ns - seen_ns) / 1e9)
                continue
            self._apply_peer_claims(view, msg, source, rx_ns)

    def _apply_peer_claims(self, view: c.ClaimView, batch: p2p.ClaimBatch, source: str, rx_ns: int = 0) -> None:
        """A peer's member announced these VIPs: route each into the tunnel towards the
        peer, in one netlink batch, if this host's own desired state allows it and nothing
        newer (by epoch) is held here; then acknowledge."""
        vips = {v.havip_id: v for v in view.vips.values()}
        held = {
            x.havip_id: h for x in batch.claims if x.havip_id in vips and (h := self.ledger.holding(vips[x.havip_id]))
        }
        accepted: list[tuple[p2p.PeerClaim, c.VipInfo]] = []
        for j in p2p.judge(view.peers, batch, held):
            vip = vips.get(j.claim.havip_id)
            if j.accepted and vip is not None and view.tunnel and vip.vpc_id in view.vnis:
                accepted.append((j.claim, vip))
                continue
            reason = j.drop.value if j.drop is not None else "no-tunnel"
            self.metrics.peer_claims.labels(result=reason).inc()
            event(log, "peer-claim-refused", peer=batch.sender, havip=j.claim.havip_id, interface=j.claim.interface_id,
                  epoch=j.claim.epoch, reason=reason, level=logging.INFO)  # fmt: skip
        if not accepted:
            return
        underlay = view.peers.peers[batch.sender]
        moves = [
            Move(vip.table, vip.ip, view.tunnel, "", vip.routes, Encap(view.vnis[vip.vpc_id], underlay))
            for _claim, vip in accepted
        ]
        with self.ledger.switch_lock:
            results = self.switch.switch_many(moves)
            done = [(x, vip, r) for (x, vip), r in zip(accepted, results, strict=True) if isinstance(r, int)]
            self.ledger.record_remote(
                [(x.havip_id, x.interface_id, acked, x.epoch, batch.sender) for x, _vip, acked in done]
            )
        if done and self.peers is not None and self.peer_key is not None:
            ack = p2p.Ack(sender=view.host, seq=batch.seq, acked_ns=max(acked for _x, _v, acked in done))
            try:
                self.peers.send(source, p2p.encode(ack, self.peer_key))
            except OSError as e:
                event(log, "peer-ack-failed", peer=batch.sender, error=str(e), level=logging.WARNING)
        for (x, vip), r in zip(accepted, results, strict=True):
            if isinstance(r, DataplaneError):
                self.metrics.switch_failures.labels(kind="peer").inc()
                event(log, "peer-claim-switch-failed", peer=batch.sender, havip=x.havip_id, vip=vip.ip, error=str(r),
                      level=logging.ERROR)  # fmt: skip
        for x, vip, acked in done:
            if vip.eips:  # translated here: the flows to the old holder end (the resetter)
                self.emit(c.PeerMoved(vip=vip, peer=batch.sender, acked_ns=acked))
            self.metrics.peer_claims.labels(result="applied").inc()
            event(log, "peer-claim-applied", peer=batch.sender, havip=x.havip_id, vip=vip.ip, interface=x.interface_id,
                  epoch=x.epoch, latency_us=max(0, acked - x.seen_ns) // 1000 if x.seen_ns else None,
                  arrived_us=max(0, rx_ns - x.seen_ns) // 1000 if x.seen_ns and rx_ns else None)  # fmt: skip

    def _on_answer(self, seen: arp.ProbeAnswer) -> None:
        view = self.ledger.view
        port = view.ports.get(seen.ifindex)
        vip = view.vips.get((port.vpc_id, seen.ip)) if port else None
        if port is None or vip is None or self._round is None:
            return  # an answer outside a round, or for no HaVip, feeds nothing
        self._round.answers.setdefault(vip.havip_id, set()).add(port.interface_id)

    def _drain_nflog(self) -> None:
        view = self.ledger.view
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
            cause = c.Cause.REFUSED_GARP if sender_ip == target_ip else c.Cause.REFUSED_ARP
            event(log, "claim-refused", havip=vip.havip_id, vip=vip.ip, interface=port.interface_id, reason=cause)
            self.emit(c.Refused(vip=vip, port=port, cause=cause, at_ns=logged.at_ns or time.time_ns()))

    # -------------------------------------------------------------- discovery

    def _rounds(self) -> None:
        now = time.monotonic()
        if self._round is not None and now >= self._round.deadline:
            finished, self._round = self._round, None  # cleared first: judging it may fail
            self._finish_round(finished)
        if self._round is not None:
            return
        with self._lock:
            reason = self._requested[0] if self._requested else None
            self._requested.clear()
        if reason is None and now >= self._next_timer:
            reason = c.RoundReason.TIMER
        if reason is not None:
            self._start_round(reason)

    def _start_round(self, reason: c.RoundReason) -> None:
        self._next_timer = time.monotonic() + self.settings.interval
        targets = c.probe_targets(self.ledger.view)
        self._round = Round(reason, time.time_ns(), time.monotonic() + self.settings.answer_window, targets)
        for vip, port in targets:
            frame = arp.build_arp(arp.ARP_REQUEST, self.gateway_mac, vip.gateway_ip, vip.ip)
            try:
                self.arp.send(port.device, frame)
            except OSError as e:
                event(log, "probe-failed", havip=vip.havip_id, port=port.device, error=str(e), level=logging.WARNING)

    def _finish_round(self, rnd: Round) -> None:
        view, local = self.ledger.snapshot()
        shield_ns = int(self.settings.claim_shield * 1e9)
        findings: dict[str, c.RoundVerdict] = {}
        for vip in {v.havip_id: v for v, _p in rnd.targets}.values():
            current = view.vip_by_id(vip.havip_id) or vip
            holder = c.holder_of(current, view.host, local)
            # a claim outranks an answer: this host's own recent one, or a peer's it acted on (the
            # old master here may still have the address and answer, the new one announced there)
            shielded = (
                vip.havip_id in rnd.claimed
                or rnd.started_ns - self.ledger.last_claim_ns(vip.havip_id) < shield_ns
                or (holder is not None and holder in view.peers.remotes)
            )
            verdict = c.decide_round(current, view.host, holder, rnd.answers.get(vip.havip_id, ()), shielded)
            findings[vip.havip_id] = verdict
            self.metrics.findings.labels(finding=verdict.finding.value).inc()
            self._act(view, current, verdict, rnd.reason)
        self.last_round = RoundResult(rnd.reason, findings)
        if self.on_round:
            self.on_round(self.last_round)

    def _act(self, view: c.ClaimView, vip: c.VipInfo, verdict: c.RoundVerdict, reason: c.RoundReason) -> None:
        who = verdict.interface_id
        now = time.time_ns()
        if verdict.finding is c.Finding.SPLIT_BRAIN and who:
            self.metrics.split_brains.inc()
            event(log, "split-brain", havip=vip.havip_id, vip=vip.ip, interface=who, others=list(verdict.others))
            self.emit(c.Found(vip=vip, verdict=verdict, cause=reason.cause, at_ns=now))
        elif verdict.finding is c.Finding.HEAL and who:
            port = view.port_of(who)
            if port is None:
                return
            (acked,) = self._switch([(vip, port, now)])
            if isinstance(acked, DataplaneError):  # counted; the next round asks again
                self.metrics.switch_failures.labels(kind=c.SwitchBy.HEAL.value).inc()
                event(log, "heal-failed", havip=vip.havip_id, vip=vip.ip, interface=who, error=str(acked),
                      level=logging.ERROR)  # fmt: skip
                return
            kind = ReportKind.PROBE_ANSWER if vip.holder_interface_id is None else ReportKind.CLAIM
            event(log, "claim-healed", havip=vip.havip_id, vip=vip.ip, interface=who, reason=reason)
            self.emit(c.Switched(vip=vip, port=port, kind=kind, cause=reason.cause, at_ns=now, acked_ns=acked))
        elif verdict.finding is c.Finding.ELSEWHERE and who:
            self.emit(c.Found(vip=vip, verdict=verdict, cause=reason.cause, at_ns=now))
