"""The claim path's decisions: is this GARP a claim, what does a discovery round say.

``ClaimView`` is the claim path's immutable picture of the host, rebuilt after every
reconcile from the desired state (who may claim which HaVip: the control plane ran
``havip.domain.claims.may_claim`` for each claimant) and the ports the kernel has
(ifindex -> interface). The watcher thread reads it without locks (it is swapped whole).

``decide_claim`` answers a gratuitous ARP with a ``ClaimVerdict`` (switch / no-op /
ignore, with a reason, MetalLB-style); ``decide_round`` answers a holder-discovery
round. ``LocalClaims`` remembers claims the agent acted on until the control plane
confirms or supersedes them, so a desired state that predates a claim never undoes it.
Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace

from havip.agent import marks
from havip.agent.desired import DesiredHost, holder_here
from havip.agent.peers import PeerView, Remote
from havip.domain.claims import ReportKind
from havip.domain.desired import DesiredState


@dataclass(frozen=True, kw_only=True)
class PortInfo:
    interface_id: str
    device: str
    ifindex: int
    vpc_id: str
    table: int
    mac: str


@dataclass(frozen=True, kw_only=True)
class VipInfo:
    havip_id: str
    vpc_id: str
    ip: str
    table: int
    claimants: frozenset[str]
    gateway_ip: str  # the probe's sender address (the subnet's gateway)
    holder_interface_id: str | None  # as the control plane recorded it
    holder_host: str | None
    routes: tuple[str, ...] = ()  # route entry destinations via this HaVip: switched with the VIP
    eips: tuple[str, ...] = ()  # EIPs translated to the VIP: their flows are reset on a switch
    epoch: int = 0  # the store's epoch of the holder's claim


@dataclass(frozen=True)
class ClaimView:
    host: str = ""
    revision: int = 0
    ports: Mapping[int, PortInfo] = field(default_factory=dict)  # by ifindex
    vips: Mapping[tuple[str, str], VipInfo] = field(default_factory=dict)  # by (vpc id, ip)
    # several hosts: the tunnel device's ifindex (0: none, claims stay on this host), the
    # VPCs' VNIs and what judging a peer's claim message needs
    tunnel: int = 0
    vnis: Mapping[str, int] = field(default_factory=dict)
    peers: PeerView = field(default_factory=PeerView)

    def port_of(self, interface_id: str) -> PortInfo | None:
        for p in self.ports.values():
            if p.interface_id == interface_id:
                return p
        return None

    def vip_by_id(self, havip_id: str) -> VipInfo | None:
        for v in self.vips.values():
            if v.havip_id == havip_id:
                return v
        return None


class Why(enum.StrEnum):
    CLAIM = "claim"  # switch: an allowed interface announced the VIP
    ALREADY_HOLDER = "already-holder"  # no-op: keepalived's refresh
    UNKNOWN_PORT = "unknown-port"
    NOT_A_HAVIP = "not-a-havip"
    NOT_A_CLAIMANT = "not-a-claimant"


class Act(enum.StrEnum):
    SWITCH = "switch"
    NOOP = "noop"
    IGNORE = "ignore"


@dataclass(frozen=True)
class ClaimVerdict:
    act: Act
    why: Why
    port: PortInfo | None = None
    vip: VipInfo | None = None


def holder_of(vip: VipInfo, host: str, local: Mapping[str, str]) -> str | None:
    """The interface this host routes ``vip`` to (``desired.holder_here``)."""
    return holder_here(vip.havip_id, vip.holder_interface_id, vip.holder_host, host, local)


def decide_claim(view: ClaimView, local: Mapping[str, str], ifindex: int, ip: str) -> ClaimVerdict:
    """A gratuitous ARP for ``ip`` arrived on ``ifindex``: what to do."""
    port = view.ports.get(ifindex)
    if port is None:
        return ClaimVerdict(Act.IGNORE, Why.UNKNOWN_PORT)
    vip = view.vips.get((port.vpc_id, ip))
    if vip is None:
        return ClaimVerdict(Act.IGNORE, Why.NOT_A_HAVIP, port)
    if port.interface_id not in vip.claimants:
        return ClaimVerdict(Act.IGNORE, Why.NOT_A_CLAIMANT, port, vip)
    if holder_of(vip, view.host, local) == port.interface_id:
        return ClaimVerdict(Act.NOOP, Why.ALREADY_HOLDER, port, vip)
    return ClaimVerdict(Act.SWITCH, Why.CLAIM, port, vip)


# ------------------------------------------------------------------ discovery


class Finding(enum.StrEnum):
    NO_ANSWER = "no-answer"  # nobody here has it (unheld, or held on another host)
    CONFIRMED = "confirmed"  # only the holder answered
    HEAL = "heal"  # only one other claimant answered: it has the VIP, we missed its claim
    SPLIT_BRAIN = "split-brain"  # several claimants have the VIP at once
    CLAIM_WINS = "claim-wins"  # a claim arrived recently: answers never move the VIP
    ELSEWHERE = "held-elsewhere"  # the record says another host holds it; report only


@dataclass(frozen=True)
class RoundVerdict:
    finding: Finding
    interface_id: str | None = None  # the holder to route to / to report
    others: tuple[str, ...] = ()


def decide_round(
    vip: VipInfo, host: str, holder: str | None, answers: Collection[str], claim_shielded: bool
) -> RoundVerdict:
    """What one round of probes says about ``vip``.

    ``holder`` is where this host routes the VIP now; ``answers`` the claimants that
    answered; ``claim_shielded`` is true when an unsolicited claim for the VIP arrived
    during the round or shortly before: a claim always outranks an answer (a crashed
    master may still have the address and answer, while the new master announced).
    """
    answered = sorted(set(answers) & vip.claimants)
    if not answered:
        return RoundVerdict(Finding.NO_ANSWER)
    if len(answered) > 1:
        first = holder if holder in answered else answered[0]
        return RoundVerdict(Finding.SPLIT_BRAIN, first, tuple(a for a in answered if a != first))
    (only,) = answered
    if only == holder:
        return RoundVerdict(Finding.CONFIRMED, only)
    if claim_shielded:
        return RoundVerdict(Finding.CLAIM_WINS, holder)
    if holder is None and vip.holder_host not in (None, host):
        return RoundVerdict(Finding.ELSEWHERE, only)
    return RoundVerdict(Finding.HEAL, only)


def probe_targets(view: ClaimView) -> list[tuple[VipInfo, PortInfo]]:
    """Every (HaVip, claimant port on this host) pair a round asks."""
    out = []
    for vip in sorted(view.vips.values(), key=lambda v: (v.vpc_id, v.ip)):
        for interface_id in sorted(vip.claimants):
            port = view.port_of(interface_id)
            if port is not None:
                out.append((vip, port))
    return out


# -------------------------------------------------------------- local claims


@dataclass(frozen=True)
class LocalClaim:
    interface_id: str
    at_ns: int
    delivered_seq: int | None = None  # the report's delivery, on the agent's event counter
    epoch: int = 0  # the claim's epoch (0: made before epochs, or a heal)
    host: str = ""  # a peer's claim (its message): the claimant's host; "": this host's own


@dataclass(frozen=True)
class LocalClaims:
    """Claims acted on here, by HaVip id: this host's own (until their report is answered)
    and peers' (from their claim messages, until the control plane shows that epoch or a
    newer one). Immutable: every change returns a new one."""

    claims: Mapping[str, LocalClaim] = field(default_factory=dict)

    def holders(self) -> dict[str, str]:
        return {h: c.interface_id for h, c in self.claims.items()}

    def add(self, havip_id: str, interface_id: str, at_ns: int) -> LocalClaims:
        return self.add_many([(havip_id, interface_id, at_ns)])

    def add_many(self, claims: Iterable[tuple[str, str, int]], epochs: Mapping[str, int] | None = None) -> LocalClaims:
        """(HaVip id, interface id, when) each; one copy for a whole batch."""
        ep = epochs or {}
        return LocalClaims({**self.claims, **{h: LocalClaim(i, at, epoch=ep.get(h, 0)) for h, i, at in claims}})

    def add_remote(self, claims: Iterable[tuple[str, str, int, int, str]]) -> LocalClaims:
        """Peers' claims: (HaVip id, interface id, when, epoch, host) each."""
        new = {h: LocalClaim(i, at, epoch=e, host=host) for h, i, at, e, host in claims}
        return LocalClaims({**self.claims, **new})

    def delivered(self, havip_id: str, interface_id: str, at_ns: int, seq: int) -> LocalClaims:
        """The report of this very claim reached the control plane (any outcome)."""
        c = self.claims.get(havip_id)
        if c is None or (c.interface_id, c.at_ns) != (interface_id, at_ns) or c.host:
            return self  # a newer claim replaced it meanwhile
        return LocalClaims({**self.claims, havip_id: replace(c, delivered_seq=seq)})

    def retire(
        self,
        fetch_started_seq: int,
        havip_ids: Collection[str] | None = None,
        epochs: Mapping[str, int] | None = None,
        remote_before_ns: int = 0,
    ) -> LocalClaims:
        """Drop claims a desired-state fetch settles: this host's own whose report was
        delivered before the fetch started (that desired state already shows what the
        control plane made of them), and peers' whose epoch the control plane has reached
        (``epochs``: the desired state's) or that are older than ``remote_before_ns`` (the
        control plane has had time to hear of them, whatever it decided)."""
        ep = epochs or {}

        def keep(h: str, c: LocalClaim) -> bool:
            if havip_ids is not None and h not in havip_ids:
                return False
            if c.host:
                return ep.get(h, 0) < c.epoch and c.at_ns >= remote_before_ns
            return c.delivered_seq is None or c.delivered_seq >= fetch_started_seq

        return LocalClaims({h: c for h, c in self.claims.items() if keep(h, c)})


@dataclass(frozen=True)
class Fetched:
    """A desired state as the ledger settles claims with it: when its fetch started (on the
    agent's event counter, and by the wall clock), its HaVips and their epochs."""

    tick: int
    started_ns: int
    havip_ids: frozenset[str]
    epochs: Mapping[str, int]

    @classmethod
    def of(cls, tick: int, started_ns: int, state: DesiredState) -> Fetched:
        return cls(tick, started_ns, frozenset(h.id for h in state.havips), {h.id: h.epoch for h in state.havips})


# ---------------------------------------------------------------------- view


def build_view(state: DesiredState, desired: DesiredHost, ifindex: Mapping[str, int]) -> ClaimView:
    """The claim path's picture: the desired ports that exist (by ifindex) and the HaVips."""
    tables = {v.vpc_id: v.table for v in desired.vpcs}
    gateways = {s.id: s.gateway for s in state.subnets}
    ports = {
        ifindex[p.device]: PortInfo(
            interface_id=p.interface_id,
            device=p.device,
            ifindex=ifindex[p.device],
            vpc_id=p.vpc_id,
            table=p.table,
            mac=p.mac,
        )
        for p in desired.ports
        if p.device in ifindex
    }
    vips = {
        (h.vpc_id, h.ip): VipInfo(
            havip_id=h.id,
            vpc_id=h.vpc_id,
            ip=h.ip,
            table=tables[h.vpc_id],
            claimants=frozenset(h.claimants),
            gateway_ip=gateways.get(h.subnet_id, "0.0.0.0"),
            holder_interface_id=h.holder_interface_id,
            holder_host=h.holder_host,
            routes=desired.switched_routes(h.id),
            eips=tuple(e.eip for e in desired.eips if e.havip_id == h.id),
            epoch=h.epoch,
        )
        for h in state.havips
        if h.vpc_id in tables
    }
    tunnel = ifindex.get(marks.TUNNEL_DEVICE, 0) if state.underlay else 0
    peer_view = PeerView(
        host=state.host,
        peers={p.host: p.underlay for p in state.peers},
        remotes={
            r.id: Remote(interface_id=r.id, host=r.host, vpc_id=r.vpc_id, claimable=frozenset(r.claimable))
            for r in state.remote_interfaces
        },
        havips={h.id: h.vpc_id for h in state.havips if h.vpc_id in tables},
    )
    return ClaimView(state.host, state.revision, ports, vips, tunnel, dict(state.vnis), peer_view)


# -------------------------------------------------------------- what it emits


class RoundReason(enum.StrEnum):
    """Why a discovery round ran."""

    START = "start"  # the agent's first desired state
    GAP = "gap"  # the control plane was unreachable: claims may have been missed
    TIMER = "timer"  # the slow timer (``DiscoverySettings.interval``)
    ASKED = "asked"  # asked for from outside the loops (a test, a debugging operator)

    @property
    def cause(self) -> Cause:
        return Cause(f"discovery-{self.value}")


class SwitchBy(enum.StrEnum):
    """What asked the claim path for a route switch (a metric label)."""

    CLAIM = "claim"
    HEAL = "heal"


class Cause(enum.StrEnum):
    """What made the claim path report: the ``cause`` of a report."""

    GARP_REQUEST = "garp-request"  # a claim announced by gratuitous ARP request (keepalived's default)
    GARP_REPLY = "garp-reply"  # ... by gratuitous ARP reply
    REFUSED_GARP = "garp"  # a non-claimant's gratuitous ARP, dropped by nftables
    REFUSED_ARP = "arp"  # a non-claimant's ARP with the HaVip as sender, dropped
    DISCOVERY_START = "discovery-start"
    DISCOVERY_GAP = "discovery-gap"
    DISCOVERY_TIMER = "discovery-timer"
    DISCOVERY_ASKED = "discovery-asked"


@dataclass(frozen=True)
class Claimed:
    """A local claim as the ledger records it and its report settles it."""

    havip_id: str
    interface_id: str
    at_ns: int  # when the claim was seen (the GARP's receive time), else when the switch was decided
    epoch: int = 0  # the epoch it claimed with (0: a heal, which the control plane numbers)


@dataclass(frozen=True, kw_only=True)
class Switched:
    """The claim path pointed ``vip`` at ``port`` (a claim, or a heal after a round)."""

    vip: VipInfo
    port: PortInfo
    kind: ReportKind  # CLAIM, or PROBE_ANSWER for a heal of a HaVip nobody held
    cause: Cause
    at_ns: int  # when the claim was seen (the GARP's receive time), else when the switch was decided
    acked_ns: int  # when the kernel acknowledged the switch
    latency_us: int | None = None  # GARP received -> route acked
    epoch: int = 0  # the claim's epoch (0: a heal: the control plane numbers it)


@dataclass(frozen=True, kw_only=True)
class Refused:
    """nftables dropped an ARP of ``port`` that announced ``vip``: it may not claim it."""

    vip: VipInfo
    port: PortInfo
    cause: Cause
    at_ns: int


@dataclass(frozen=True, kw_only=True)
class Found:
    """A discovery round's finding worth a report: a split brain, or held on another host."""

    vip: VipInfo
    verdict: RoundVerdict
    cause: Cause
    at_ns: int


@dataclass(frozen=True, kw_only=True)
class PeerMoved:
    """A peer's claim pointed ``vip`` into the tunnel towards that peer. Nothing to report
    (the peer reports its claim); the flows of the VIP's EIPs translated here must end."""

    vip: VipInfo
    peer: str
    acked_ns: int


Reported = Switched | Refused | Found  # the events that become reports
ClaimEvent = Reported | PeerMoved
