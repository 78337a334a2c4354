"""The running agent: follow the desired state, reconcile, and host the claim path.

``Agent`` wires the parts: a control thread long-polls the host's desired state
(``since_revision`` + ``wait``: a change arrives as soon as the control plane commits
it), reconciles (``build_desired`` -> ``Dataplane.read`` -> ``plan`` -> ``apply``) on
every new revision and every ``resync_interval``, and keeps the last desired state
while the control plane is unreachable (the data plane stays as it is; requests are
retried after the ``FollowSettings.backoff`` delays). It never reconciles before it
has a desired state, and the planner never deletes before a full snapshot.

Local claims (``claims.LocalClaims``) are the agent's own word until the control plane
answered their report and a desired state fetched after that answer arrived: a desired
state that predates a claim never moves the VIP back. The claim path (``ClaimPath``)
and the reporter (``Reporter``) run on their own threads; discovery rounds are
requested at start and after every gap.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from havip import __version__
from havip.agent import actions as a
from havip.agent import claims as c
from havip.agent import marks
from havip.agent.adoption import admit
from havip.agent.arp import watch_filter
from havip.agent.claimpath import ClaimPath
from havip.agent.dataplane import Dataplane
from havip.agent.dataplane.conntrack import Conntrack
from havip.agent.dataplane.nflog import NflogReader
from havip.agent.dataplane.switch import RouteSwitch
from havip.agent.dataplane.watcher import ArpWatcher
from havip.agent.desired import DesiredHost, Uplink, build_desired
from havip.agent.dump import snapshot
from havip.agent.logs import event
from havip.agent.metrics import AgentMetrics
from havip.agent.observed import Observed
from havip.agent.plan import plan
from havip.agent.reporter import Report, Reporter
from havip.agent.resetter import FlowResetter, Job
from havip.agent.settings import AgentSettings
from havip.client import ApiError
from havip.contract.agents import DesiredState

log = logging.getLogger("havip.agent")


class ControlPlane(Protocol):
    def desired_state(
        self,
        host: str,
        since_revision: int | None = None,
        wait: float | None = None,
        *,
        agent_version: str | None = None,
        applied_revision: int | None = None,
    ) -> Any: ...
    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]: ...


def vip_actions(
    acts: list[a.Action], vip_ips: set[str], switched: set[str] | None = None
) -> tuple[list[a.Action], list[a.Action]]:
    """(actions that touch a VIP's route or neighbour, or a route entry that follows a
    HaVip (``switched`` destinations), the rest): the former are applied under the claim
    path's lock so a reconcile never races a claim."""
    switched = switched or set()
    mine: list[a.Action] = []
    rest: list[a.Action] = []
    for act in acts:
        hit = False
        if isinstance(act, a.ReplaceRoute | a.DeleteRoute):
            hit = act.dst.removesuffix("/32") in vip_ips or act.dst in switched
        elif isinstance(act, a.ReplaceNeigh | a.DeleteNeigh):
            hit = act.ip in vip_ips
        (mine if hit else rest).append(act)
    return mine, rest


def keep_running(
    loop: str, body: Callable[[], None], stop: threading.Event, backoff: Sequence[float], failed: Callable[[str], None]
) -> None:
    """Run ``body`` until ``stop`` is set. An exception out of it (a desired state that
    does not validate, a bug) is logged with its traceback, counted (``failed(loop)``)
    and, after the next ``backoff`` delay (the last repeats), ``body`` starts again."""
    errors = 0
    while not stop.is_set():
        try:
            body()
            errors = 0
        except Exception:
            event(log, "loop-error", kind=loop, level=logging.ERROR, exc_info=True)
            failed(loop)
            stop.wait(backoff[min(errors, len(backoff) - 1)])
            errors += 1


class Agent:
    def __init__(
        self,
        control: ControlPlane,
        host: str,
        dataplane: Dataplane,
        settings: AgentSettings | None = None,
        metrics: AgentMetrics | None = None,
    ) -> None:
        self.control, self.host_name, self.dp = control, host, dataplane
        self.settings = settings or AgentSettings()
        self.metrics = metrics or AgentMetrics()
        self.switch_lock = threading.Lock()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._claims = c.LocalClaims()
        self._claims_gen = 0
        self._last_claim: dict[str, int] = {}
        self._refused: dict[str, str] = {}  # device -> why it may not be a port (logged once)
        self.view = c.ClaimView(host=host)
        self.state: DesiredState | None = None
        self.desired: DesiredHost | None = None
        self.observed: Observed | None = None
        self.reconciled_revision: int | None = None
        self._stop = threading.Event()
        self.reporter = Reporter(
            control, host, self.settings.reports, self._delivered, lambda _e: self.loop_failed("reporter")
        )
        self.conntrack = Conntrack(dataplane.ns)
        self.resetter = FlowResetter(self.conntrack, self.metrics)
        self.claim_path = ClaimPath(
            self,
            ArpWatcher(dataplane.ns, watch_filter(marks.GATEWAY_MAC)),
            RouteSwitch(dataplane.ns),
            NflogReader(dataplane.ns, self.settings.nft.nflog_group),
            self.metrics,
            self.settings.discovery,
            marks.GATEWAY_MAC,
        )
        self._thread = threading.Thread(target=self._follow, name="havip-follow", daemon=True)

    # ------------------------------------------------------- the claim path's Host

    def claim_state(self) -> tuple[c.ClaimView, dict[str, str]]:
        """The view and the local claims, consistent with each other (a fresh dict the
        caller may change)."""
        with self._lock:
            return self.view, self._claims.holders()

    def last_claim_ns(self, havip_id: str) -> int:
        return self._last_claim.get(havip_id, 0)

    def claimed(self, claims: Sequence[tuple[str, str, int]]) -> None:
        """(HaVip id, interface id, when) of each VIP the claim path just moved."""
        if not claims:
            return
        with self._lock:
            self._claims = self._claims.add_many(claims)
            self._claims_gen += 1
            for havip_id, _interface_id, at_ns in claims:
                self._last_claim[havip_id] = at_ns

    def enqueue(self, rep: Report) -> None:
        self.reporter.put(rep)
        self.metrics.report_queue.set(self.reporter.pending())

    def vip_moved(self, vip: c.VipInfo, acked_ns: int) -> None:
        """The VIP's route points at a new port: end the flows its EIPs' peers still have."""
        if vip.eips:
            self.resetter.put(Job("switch", vip.havip_id, vip.table, frozenset({vip.ip}), True, acked_ns))

    @property
    def uplink(self) -> Uplink | None:
        up = self.settings.uplink
        return Uplink(str(up.device), str(up.gateway)) if up.configured else None

    def _delivered(self, rep: Report, outcome: str | None) -> None:
        self.metrics.reports.labels(kind=rep.kind, outcome=outcome or "rejected").inc()
        self.metrics.report_queue.set(self.reporter.pending())
        if rep.local_claim:
            with self._lock:
                self._claims = self._claims.delivered(rep.havip_id, rep.interface_id, rep.at_ns, next(self._seq))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.reporter.start()
        self.resetter.start()
        self.claim_path.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop the threads; the kernel state stays exactly as it is."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.follow.long_poll_wait + self.settings.follow.request_timeout + 1)
        self.claim_path.stop()
        self.reporter.stop()
        self.resetter.stop()
        self.conntrack.close()
        self.claim_path.watcher.close()
        self.claim_path.switch.close()
        if self.claim_path.nflog:
            self.claim_path.nflog.close()

    def run_forever(self) -> None:
        self.start()
        self._stop.wait()

    def dump(self) -> dict[str, Any]:
        return snapshot(self)

    # ------------------------------------------------------------------ following

    def loop_failed(self, loop: str) -> None:
        """A thread's loop caught an unexpected exception (already logged): count it."""
        self.metrics.loop_errors.labels(loop=loop).inc()

    def _follow(self) -> None:
        keep_running("follow", self._follow_loop, self._stop, self.settings.follow.backoff, self.loop_failed)

    def _follow_loop(self) -> None:
        follow = self.settings.follow
        failures, gap, next_resync, next_counters, why = 0, True, 0.0, 0.0, "start"
        while not self._stop.is_set():
            now = time.monotonic()
            wait = None if self.state is None else max(0.0, min(follow.long_poll_wait, next_resync - now))
            since = self.state.revision if self.state is not None else None
            fetch_seq = next(self._seq)
            try:
                raw = self.control.desired_state(
                    self.host_name,
                    since_revision=since,
                    wait=wait or None,
                    agent_version=__version__,  # with the revision applied: the host's heartbeat
                    applied_revision=self.reconciled_revision,
                )
            except ApiError as e:
                self.metrics.control_plane_up.set(0)
                if failures == 0:
                    event(log, "control-plane-unreachable", error=e.message, level=logging.WARNING)
                failures, gap = failures + 1, True
                why = "start" if self.reconciled_revision is None else "gap"
                if self.state is not None and time.monotonic() >= next_resync:
                    self._reconcile_safely(self.state)  # repair drift from the last known state
                    next_resync = time.monotonic() + follow.resync_interval
                self._stop.wait(follow.backoff[min(failures - 1, len(follow.backoff) - 1)])
                continue
            self.metrics.control_plane_up.set(1)
            if failures:
                event(log, "control-plane-back", count=failures)
            failures = 0
            if raw is not None:
                state = DesiredState.model_validate(raw)
                with self._lock:
                    retired = self._claims.retire(fetch_seq, [h.id for h in state.havips]) != self._claims
                changed = self.state is None or state.revision != self.state.revision or retired
                self.state = state
                if changed or time.monotonic() >= next_resync:
                    self._reconcile_safely(state, fetch_seq)
                    next_resync = time.monotonic() + follow.resync_interval
                if gap:
                    self.claim_path.request_round(why)
                    gap = False
            if time.monotonic() >= next_counters:
                self._read_counters()
                next_counters = time.monotonic() + self.settings.counters_interval

    def _reconcile_safely(self, state: DesiredState, fetch_seq: int = 0) -> None:
        try:
            self.reconcile(state, fetch_seq)
        except Exception as e:  # the loop must survive anything the kernel throws
            self.metrics.reconcile_errors.inc()
            event(log, "reconcile-failed", revision=state.revision, error=repr(e), level=logging.ERROR)

    def reconcile(self, state: DesiredState, fetch_seq: int = 0) -> list[a.Action]:
        """One pass: read back, plan, apply; returns the actions that were planned.

        ``fetch_seq`` is when ``state``'s fetch started (on the agent's event counter):
        local claims delivered before it are settled by ``state`` and retired, together
        with the swap of the claim path's view, so the two never disagree."""
        ids = [h.id for h in state.havips]
        with self._lock:
            gen, local = self._claims_gen, self._claims.retire(fetch_seq, ids).holders()
        observed = self.dp.read()
        desired, refused = admit(build_desired(state, observed.vpc_tables(), local, self.uplink), observed.links)
        self._refuse_ports(refused)
        acts = plan(desired, observed, limits=self.settings.nft)
        switched = {r.dst for r in desired.routes if r.havip_id}
        mine, rest = vip_actions(acts, {h.ip for h in state.havips}, switched)
        self._before_nft(rest)
        failures = self.dp.apply(rest)
        applied: list[a.Action] = []
        with self.switch_lock:
            if gen == self._claims_gen:
                failures += self.dp.apply(mine)
                applied = mine
            elif mine:  # a claim came in meanwhile: the next pass plans the VIPs again
                event(log, "reconcile-deferred-vips", count=len(mine))
        if acts:
            observed = self.dp.read()
        previous = self.desired
        self.desired, self.observed = desired, observed
        view = c.build_view(state, desired, {n: link.index for n, link in observed.links.items()})
        self._end_flows(previous, desired, view, applied)
        with self._lock:
            self._claims = self._claims.retire(fetch_seq, ids)
            self.view = view
        self.claim_path.watcher.forget()  # a port recreated under its name has a new ifindex
        self.reconciled_revision = state.revision
        self.metrics.reconciles.inc()
        self.metrics.revision.set(state.revision)
        for act, err in failures:
            self.metrics.reconcile_errors.inc()
            event(log, "action-failed", revision=state.revision, actions=repr(act), error=str(err), level=logging.ERROR)
        if acts:
            event(log, "reconciled", revision=state.revision, count=len(acts), error=None if not failures else "some")
        return acts

    def _refuse_ports(self, refused: Mapping[str, str]) -> None:
        """Log and count each refused device once per reason (every pass refuses it again)."""
        for device, reason in refused.items():
            if self._refused.get(device) != reason:
                self.metrics.ports_refused.labels(reason=reason).inc()
                event(log, "port-refused", port=device, reason=reason, level=logging.WARNING)
        self._refused = dict(refused)

    def _end_flows(
        self, previous: DesiredHost | None, desired: DesiredHost, view: c.ClaimView, applied: list[a.Action]
    ) -> None:
        """Flows that a reconcile ends: of a VIP it moved (the control plane moved it), and
        of an EIP that is gone (its translation stays in conntrack otherwise)."""
        now = time.time_ns()
        vip_routes = {(v.table, f"{v.ip}/32"): (v.vpc_id, v.ip) for v in desired.vips}
        for act in applied:
            key = (act.table, act.dst) if isinstance(act, a.ReplaceRoute) else None
            vip = view.vips.get(vip_routes[key]) if key in vip_routes else None
            if vip is not None:
                self.vip_moved(vip, now)
        if previous is not None:
            kept = {(e.table, e.eip) for e in desired.eips}
            for e in previous.eips:
                if (e.table, e.eip) not in kept:
                    self.resetter.put(Job("eip-removed", e.havip_id, e.table, frozenset({e.eip}), False, now))

    def _before_nft(self, acts: list[a.Action]) -> None:
        """Count the drops a table replace is about to reset (drops are summed across)."""
        replaced = [act.name for act in acts if isinstance(act, a.ApplyNftTable | a.DeleteNftTable)]
        if replaced:
            self._read_counters()
            for name in replaced:
                self.metrics.table_replaced(name)

    def _read_counters(self) -> None:
        try:
            self.metrics.count_drops(self.dp.nft_counters())
        except Exception as e:
            event(log, "counters-unreadable", error=repr(e), level=logging.WARNING)
