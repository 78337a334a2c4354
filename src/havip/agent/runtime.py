"""The running agent: follow the desired state, reconcile, and host the claim path.

``Agent`` wires the parts over two ports, the control plane (``control.ControlPlane``)
and the kernel (``kernel.Kernel``), and runs four loops on the one loop runner
(``loops.Loops``):

- **follow**: long-polls the host's desired state (``since_revision`` + ``wait``: a change
  arrives as soon as the control plane commits it), reconciles (``pipeline.reconcile_pass``
  -> apply) on every new revision and every ``resync_interval``, and keeps the last desired
  state while the control plane is unreachable (the data plane stays as it is; requests
  are retried after the ``FollowSettings.backoff`` delays). It never reconciles before it
  has a desired state, and the planner never deletes before a full snapshot;
- **claims**: the claim path (``claimpath.ClaimPath``), whose events (``claims.Switched``,
  ``Refused``, ``Found``) come back to ``on_claim_event``: a report for each, a flow
  reset for a moved VIP with EIPs;
- **reporter**: delivers the reports (``reporter.Reporter``);
- **flows**: resets the flows of moved VIPs and removed EIPs (``resetter.FlowResetter``).

Local claims are kept by the ``ledger.Ledger``: the agent's own word until the control
plane answered their report and a desired state fetched after that answer arrived, so a
desired state that predates a claim never moves the VIP back. Discovery rounds are
requested at start and after every gap.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from havip import __version__
from havip.agent import actions as a
from havip.agent import claims as c
from havip.agent.adoption import Refusal
from havip.agent.claimpath import ClaimPath
from havip.agent.control import ControlPlane, Heartbeat
from havip.agent.desired import DesiredHost, Uplink
from havip.agent.dump import snapshot
from havip.agent.journal import Entry, Journal, journal_path, key_of
from havip.agent.kernel import Kernel
from havip.agent.ledger import Ledger
from havip.agent.logs import event
from havip.agent.loops import LoopName, Loops
from havip.agent.metrics import AgentMetrics
from havip.agent.observed import Observed
from havip.agent.pipeline import reconcile_pass, split_vip_actions
from havip.agent.reporter import Queued, Reporter
from havip.agent.resetter import FlowResetter, Job, Reason
from havip.agent.settings import AgentSettings
from havip.client import ApiError
from havip.contract.agents import Report
from havip.domain.claims import Outcome, ReportKind
from havip.domain.desired import DesiredState

log = logging.getLogger("havip.agent")


def _utc(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)


def entry_of(ev: c.Switched) -> Entry:
    """A switched claim as the journal keeps it."""
    return Entry(ev.vip.havip_id, ev.port.interface_id, ev.kind.value, ev.at_ns, str(ev.cause), ev.latency_us, ev.epoch)


def claim_of(e: Entry) -> c.Claimed:
    return c.Claimed(e.havip_id, e.interface_id, e.at_ns, e.epoch)


def queued_claim(e: Entry) -> Queued:
    """The report of a switched claim, with the local claim it settles."""
    rep = Report(
        havip_id=e.havip_id,
        interface_id=e.interface_id,
        kind=ReportKind(e.kind),
        at=_utc(e.at_ns),
        cause=e.cause,
        latency_us=e.latency_us,
        epoch=e.epoch or None,
    )
    return Queued(rep, claim_of(e))


def report_of(ev: c.Reported) -> Queued:
    """The report a claim-path event becomes (with the local claim it settles)."""
    if isinstance(ev, c.Switched):
        return queued_claim(entry_of(ev))
    interface_id: str | None
    others: tuple[str, ...] = ()
    if isinstance(ev, c.Refused):
        kind, interface_id = ReportKind.REFUSED, ev.port.interface_id
    elif ev.verdict.finding is c.Finding.SPLIT_BRAIN:
        kind, interface_id, others = ReportKind.SPLIT_BRAIN, ev.verdict.interface_id, ev.verdict.others
    else:  # held on another host: what this host's claimant answered
        kind, interface_id = ReportKind.PROBE_ANSWER, ev.verdict.interface_id
    rep = Report(
        havip_id=ev.vip.havip_id,
        interface_id=interface_id or "",
        kind=kind,
        at=_utc(ev.at_ns),
        cause=ev.cause,
        others=list(others),
    )
    return Queued(rep)


class Agent:
    def __init__(
        self,
        control: ControlPlane,
        host: str,
        kernel: Kernel,
        settings: AgentSettings | None = None,
        metrics: AgentMetrics | None = None,
        peer_key: bytes | None = None,
    ) -> None:
        self.control, self.host_name, self.kernel = control, host, kernel
        self.settings = settings or AgentSettings()
        self.metrics = metrics or AgentMetrics()
        self.stopping = threading.Event()
        self.ledger = Ledger(host)
        self._refused: dict[str, Refusal] = {}  # device -> why it may not be a port (logged once)
        self.state: DesiredState | None = None
        self.desired: DesiredHost | None = None
        self.observed: Observed | None = None
        self.reconciled_revision: int | None = None
        self.reporter = Reporter(control, self.settings.reports, self._delivered)
        self.journal: Journal | None = None
        if self.settings.state_dir:
            self.journal, pending = Journal.open(journal_path(Path(self.settings.state_dir), host))
            self._replay(pending)
        self.resetter = FlowResetter(kernel.flows, self.metrics)
        self.claim_path = ClaimPath(
            self.ledger,
            kernel.arp,
            kernel.switch,
            kernel.nflog,
            self.metrics,
            self.settings.discovery,
            self.on_claim_event,
            peers=kernel.peers,
            peer_key=peer_key,
        )
        self._follow = _Follow(self)
        self.loops = Loops(self.metrics, self.stopping)
        policies = self.settings.loops
        self.loops.spawn(LoopName.CLAIMS, self.claim_path.step, policies.claims, wake=self.claim_path.wake)
        self.loops.spawn(LoopName.REPORTER, self.reporter.step, policies.reporter, wake=self.reporter.wake)
        self.loops.spawn(LoopName.FLOWS, self.resetter.step, policies.flows, wake=self.resetter.wake)
        self.loops.spawn(LoopName.FOLLOW, self._follow.step, policies.follow, wake=self._follow.wake)

    # ------------------------------------------------------- what the claim path says

    def _replay(self, pending: list[Entry]) -> None:
        """Claims a previous process switched and never saw delivered (``journal``): their
        routes are held as local claims, so the first reconcile keeps them, and their
        reports are queued again; the control plane judges them as it would have then."""
        if not pending:
            return
        with self.ledger.switch_lock:
            self.ledger.record([claim_of(e) for e in pending])
        for e in pending:
            self.reporter.put(queued_claim(e))
            event(log, "claim-replayed", havip=e.havip_id, interface=e.interface_id, reason=e.cause)

    def on_claim_event(self, ev: c.ClaimEvent) -> None:
        """Called on the claim path's thread: queue the report, hand the flows over."""
        if isinstance(ev, c.PeerMoved):  # the peer reports it; this host's translations end
            self._vip_moved(ev.vip, ev.acked_ns)
            return
        if isinstance(ev, c.Switched) and self.journal is not None:
            self.journal.switched(entry_of(ev))
        self.reporter.put(report_of(ev))
        self.metrics.report_queue.set(self.reporter.pending())
        if isinstance(ev, c.Switched):
            self._vip_moved(ev.vip, ev.acked_ns)

    def _vip_moved(self, vip: c.VipInfo, at_ns: int) -> None:
        """The VIP's route points at a new port: end the flows its EIPs' peers still have."""
        if vip.eips:
            self.resetter.put(
                Job(
                    reason=Reason.SWITCH, havip_id=vip.havip_id, zone=vip.table, addresses=frozenset({vip.ip}),
                    kick=True, requested_ns=at_ns,
                )
            )  # fmt: skip

    def _delivered(self, item: Queued, outcome: Outcome | None) -> None:
        self.metrics.reports.labels(kind=item.report.kind.value, outcome=outcome.value if outcome else "rejected").inc()
        self.metrics.report_queue.set(self.reporter.pending())
        if item.claim is not None:
            self.ledger.delivered(item.claim)
            if self.journal is not None:
                done = item.claim
                self.journal.delivered(key_of(done.havip_id, done.interface_id, done.at_ns))

    @property
    def uplink(self) -> Uplink | None:
        up = self.settings.uplink
        return Uplink(str(up.device), str(up.gateway)) if up.configured else None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.loops.start()

    def request_stop(self) -> None:
        self.stopping.set()

    def stop(self) -> None:
        """Stop the loops and close the sockets; the kernel state stays exactly as it is."""
        follow = self.settings.follow
        self.loops.stop(timeout=follow.long_poll_wait + follow.request_timeout + 1)
        self.claim_path.close()
        self.kernel.close()
        if self.journal is not None:
            self.journal.close()

    def run_forever(self) -> None:
        """Until ``request_stop`` (a signal) or a loop that cannot go on (``loops.fatal``)."""
        self.start()
        self.stopping.wait()

    def dump(self) -> dict[str, Any]:
        return snapshot(self)

    # ------------------------------------------------------------------ reconciling

    def reconcile(self, state: DesiredState, fetch: c.Fetched | None = None) -> list[a.Action]:
        """One pass: read back, plan, apply; returns the actions that were planned.

        ``fetch`` says when ``state``'s fetch started (on the ledger's counter): local
        claims delivered before it are settled by ``state`` and retire (peers' claims when
        ``state`` shows their epoch), together with the swap of the claim path's view, so
        the two never disagree. Without it (a resync from the last state), only epochs retire."""
        fetch = fetch or c.Fetched.of(0, 0, state)
        generation, local = self.ledger.begin(fetch)
        observed = self.kernel.state.read()
        step = reconcile_pass(state, observed, local, self.uplink, self.settings.nft, self.settings.tunnel)
        desired, acts = step.desired, step.actions
        self._refuse_ports(step.refused)
        switched = {r.dst for r in desired.routes if r.havip_id}
        mine, rest = split_vip_actions(acts, {h.ip for h in state.havips}, switched)
        self._before_nft(rest)
        failures = self.kernel.state.apply(rest)
        applied: list[a.Action] = []
        with self.ledger.switch_lock:
            if self.ledger.unchanged(generation):
                failures += self.kernel.state.apply(mine)
                applied = mine
            elif mine:  # a claim came in meanwhile: the next pass plans the VIPs again
                event(log, "reconcile-deferred-vips", count=len(mine))
        if acts:
            observed = self.kernel.state.read()
        previous = self.desired
        self.desired, self.observed = desired, observed
        view = c.build_view(state, desired, {n: link.index for n, link in observed.links.items()})
        self._end_flows(previous, desired, view, applied)
        self.ledger.settle(fetch, view)
        self.kernel.arp.forget()  # a port recreated under its name has a new ifindex
        self.reconciled_revision = state.revision
        self.metrics.reconciles.inc()
        self.metrics.revision.set(state.revision)
        for act, err in failures:
            self.metrics.reconcile_errors.inc()
            event(log, "action-failed", revision=state.revision, actions=repr(act), error=str(err), level=logging.ERROR)
        if acts:
            event(log, "reconciled", revision=state.revision, count=len(acts), error=None if not failures else "some")
        return acts

    def reconcile_safely(self, state: DesiredState, fetch: c.Fetched | None = None) -> None:
        try:
            self.reconcile(state, fetch)
        except Exception as e:  # the follow loop goes on with the next fetch
            self.metrics.reconcile_errors.inc()
            event(log, "reconcile-failed", revision=state.revision, error=repr(e), level=logging.ERROR)

    def _refuse_ports(self, refused: Mapping[str, Refusal]) -> None:
        """Log and count each refused device once per reason (every pass refuses it again)."""
        for device, reason in refused.items():
            if self._refused.get(device) != reason:
                self.metrics.ports_refused.labels(reason=reason.value).inc()
                event(log, "port-refused", port=device, reason=reason, level=logging.WARNING)
        self._refused = dict(refused)

    def _end_flows(
        self, previous: DesiredHost | None, desired: DesiredHost, view: c.ClaimView, applied: list[a.Action]
    ) -> None:
        """Flows that a reconcile ends: of a VIP it moved (the control plane moved it), and
        of an EIP that is gone (its translation stays in conntrack otherwise)."""
        now = time.time_ns()
        vip_routes = {(v.table, f"{v.ip}/32"): (v.vpc_id, v.ip) for v in desired.vips}
        vip_routes |= {  # a VIP moved into the tunnel (held on a peer): its EIPs' flows here end too
            (t.table, t.dst): (t.vpc_id, t.dst.removesuffix("/32")) for t in desired.tunnel_routes if t.havip_id
        }
        for act in applied:
            key = (act.table, act.dst) if isinstance(act, a.ReplaceRoute) else None
            vip = view.vips.get(vip_routes[key]) if key in vip_routes else None
            if vip is not None:
                self._vip_moved(vip, now)
        if previous is not None:
            kept = {(e.table, e.eip) for e in desired.eips}
            for e in previous.eips:
                if (e.table, e.eip) not in kept:
                    self.resetter.put(
                        Job(
                            reason=Reason.EIP_REMOVED, havip_id=e.havip_id, zone=e.table,
                            addresses=frozenset({e.eip}), kick=False, requested_ns=now,
                        )
                    )  # fmt: skip

    def _before_nft(self, acts: list[a.Action]) -> None:
        """Count the drops a table replace is about to reset (drops are summed across)."""
        replaced = [act.name for act in acts if isinstance(act, a.ApplyNftTable | a.DeleteNftTable)]
        if replaced:
            self.read_counters()
            for name in replaced:
                self.metrics.table_replaced(name)

    def read_counters(self) -> None:
        try:
            self.metrics.count_drops(self.kernel.state.nft_counters())
        except Exception as e:
            event(log, "counters-unreadable", error=repr(e), level=logging.WARNING)


class _Follow:
    """The follow loop's state between two steps (one step: one fetch)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.failures = 0
        self.gap = True
        self.next_resync = 0.0
        self.next_counters = 0.0
        self.why = c.RoundReason.START
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)

    def step(self) -> None:
        ag, follow = self.agent, self.agent.settings.follow
        now = time.monotonic()
        wait = None if ag.state is None else max(0.0, min(follow.long_poll_wait, self.next_resync - now))
        hold = ag.ledger.remote_hold_ends_ns()
        if wait is not None and hold is not None:  # a peer's claim the store has not confirmed: read again
            wait = min(wait, max(0.0, (hold - time.time_ns()) / 1e9 + 0.05))  # once its hold is over
        since = ag.state.revision if ag.state is not None else None
        fetch_tick, fetch_ns = ag.ledger.tick(), time.time_ns()
        try:
            state = ag.control.fetch(since, wait or None, Heartbeat(__version__, ag.reconciled_revision))
        except ApiError as e:
            ag.metrics.control_plane_up.set(0)
            if self.failures == 0:
                event(log, "control-plane-unreachable", error=e.message, level=logging.WARNING)
            self.failures, self.gap = self.failures + 1, True
            self.why = c.RoundReason.START if ag.reconciled_revision is None else c.RoundReason.GAP
            if ag.state is not None and time.monotonic() >= self.next_resync:
                ag.reconcile_safely(ag.state)  # repair drift from the last known state
                self.next_resync = time.monotonic() + follow.resync_interval
            self._sleep(follow.backoff[min(self.failures - 1, len(follow.backoff) - 1)])
            return
        ag.metrics.control_plane_up.set(1)
        if self.failures:
            event(log, "control-plane-back", count=self.failures)
        self.failures = 0
        if state is None and since is not None and ag.state is not None and ag.state.revision == since:
            state = ag.state  # 304: unchanged since the long poll began, so the last state is the current one
        if state is not None:
            fetch = c.Fetched.of(fetch_tick, fetch_ns, state)
            settles = ag.ledger.settles_any(fetch)
            changed = ag.state is None or state.revision != ag.state.revision or settles
            ag.state = state
            if changed or time.monotonic() >= self.next_resync:
                ag.reconcile_safely(state, fetch)
                self.next_resync = time.monotonic() + follow.resync_interval
            if self.gap:
                ag.claim_path.request_round(self.why)
                self.gap = False
        if time.monotonic() >= self.next_counters:
            ag.read_counters()
            self.next_counters = time.monotonic() + ag.settings.counters_interval
