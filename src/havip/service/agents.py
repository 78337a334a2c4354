"""What a host's agent needs and what it reports: desired state and claims.

Only an agent credential reaches these use cases, and only for its own host. The
desired state is derived from the store (never stored twice) and carries its host's
revision (set by every write that changes it) so the agent can watch for changes.
Claims re-check ``may_claim``: the control plane is the authority on who holds a
HaVip, the agent only acts first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from havip.domain import agents as agent_rules
from havip.domain import rules
from havip.domain.claims import ClaimOrder, Outcome, ReportKind, judge_report, may_claim, set_holder
from havip.domain.desired import (
    DesiredEip,
    DesiredHaVip,
    DesiredInterface,
    DesiredPeer,
    DesiredRemoteInterface,
    DesiredRoute,
    DesiredState,
    DesiredSubnet,
)
from havip.domain.errors import Forbidden, HavipError, NotFound
from havip.domain.model import (
    BindingMode,
    Eip,
    EventKind,
    HaVip,
    HaVipMember,
    Host,
    NetworkInterface,
    NextHopType,
    Role,
    RouteEntry,
    Subnet,
)
from havip.service.common import group_by
from havip.service.compute import resolve_host
from havip.service.context import Ctx
from havip.service.havips import prune_events, record_event
from havip.service.ports import Repository, UnitOfWork


def _own_host(ctx: Ctx, uow: UnitOfWork, ref: str) -> Host:
    host = resolve_host(uow, ref)
    p = ctx.principal
    agent_rules.check_agent_access(
        role=p.role,
        principal_host_id=p.host_id,
        cert_names=p.cert_names,
        host_id=host.id,
        host_name=host.name,
        cert_required=ctx.settings.agent_cert_required,
    )
    return host


T = TypeVar("T")

IN_CHUNK = 5000
"""Values per ``IN (...)`` query: under SQLite's and PostgreSQL's bound-parameter limits."""


def _find_in(repo: Repository[T], key: str, values: Iterable[str], order_by: str = "id", **filters: Any) -> list[T]:
    """Every row whose ``key`` is one of ``values``, in as few queries as the engines allow.

    Rows come in ``order_by`` order within each query of ``IN_CHUNK`` values.
    """
    wanted = sorted(set(values))
    out: list[T] = []
    for i in range(0, len(wanted), IN_CHUNK):
        where: dict[str, Any] = {**filters, key: wanted[i : i + IN_CHUNK]}
        out += repo.find(order_by=order_by, **where)
    return out


def desired_state(ctx: Ctx, host_ref: str, heartbeat: Heartbeat | None = None) -> DesiredState:
    """What the host's agent must build, read in a fixed number of queries whatever the host's size.

    With ``heartbeat`` (the agent's long poll) the agent's liveness is recorded after the read.

    Members, EIPs and route next hops are loaded for all HaVips and routes at once (one
    query per kind, not one per HaVip), and ``may_claim`` is asked only about the
    interfaces it could allow: the host's interfaces of the HaVip's subnet, and in
    explicit mode only the members among them (it refuses every other one).

    A host with an underlay address also gets its VPCs' VNIs, the interfaces of those
    VPCs placed on other hosts with an underlay (one more query), what each of them may
    claim (judged as the local claimants are) and those hosts as its peers. A host
    without one gets none of that: the addresses it does not hold stay in the sink.
    """
    with ctx.uow() as uow:
        host = _own_host(ctx, uow, host_ref)
        local = uow.interfaces.find(host_id=host.id, order_by="id")
        vpc_ids = sorted({e.vpc_id for e in local})
        vpc_rows = uow.vpcs.find(id=vpc_ids) if vpc_ids else []
        subnets: list[Subnet] = uow.subnets.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        havips: list[HaVip] = uow.havips.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        remote, all_hosts = _remote_interfaces(uow, host, vpc_ids, havips)
        hosts = {h.id: h.name for h in all_hosts}
        havip_ids = [h.id for h in havips]
        members_of = group_by(_find_in(uow.members, "havip_id", havip_ids), lambda m: m.havip_id)
        havip_eips = _find_in(uow.eips, "havip_id", havip_ids, "created_at")
        eips_of = group_by(havip_eips, lambda e: e.havip_id)
        local_claims = _Claimants(local)
        remote_claims = _Claimants(remote)
        claimable: dict[str, list[str]] = {}
        out_havips = []
        for h in havips:
            members = members_of.get(h.id, [])
            for e in remote_claims.of(h, members):
                claimable.setdefault(e, []).append(h.id)
            out_havips.append(
                DesiredHaVip(
                    id=h.id,
                    vpc_id=h.vpc_id,
                    subnet_id=h.subnet_id,
                    ip=h.ip,
                    binding_mode=h.binding_mode.value,
                    claimants=local_claims.of(h, members),
                    holder_interface_id=h.holder_interface_id,
                    holder_host=hosts.get(h.holder_host_id) if h.holder_host_id else None,
                    eips=[e.ip for e in eips_of.get(h.id, [])],
                    epoch=h.epoch,
                )
            )
        routes = uow.route_entries.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        by_id = {h.id: h for h in all_hosts}
        peers = sorted({str(e.host_id) for e in remote}, key=lambda i: by_id[i].name)
        state = DesiredState(
            revision=host.revision,
            host=host.name,
            vpcs={v.id: v.cidr for v in vpc_rows},
            subnets=[DesiredSubnet(s.id, s.vpc_id, s.cidr, rules.gateway_address(s.cidr)) for s in subnets],
            interfaces=[
                DesiredInterface(
                    id=e.id,
                    vpc_id=e.vpc_id,
                    subnet_id=e.subnet_id,
                    instance_id=e.instance_id,
                    mac=e.mac,
                    device=e.device,
                    addresses=e.addresses,
                )
                for e in local
            ],
            havips=out_havips,
            routes=_desired_routes(uow, routes, havips),
            eips=_desired_eips(uow, havips, havip_eips, local),
            underlay=host.underlay,
            vnis={v.id: v.vni for v in vpc_rows if v.vni is not None} if host.underlay else {},
            peers=[DesiredPeer(host=by_id[i].name, underlay=str(by_id[i].underlay)) for i in peers],
            remote_interfaces=[
                DesiredRemoteInterface(
                    id=e.id,
                    vpc_id=e.vpc_id,
                    subnet_id=e.subnet_id,
                    instance_id=e.instance_id,
                    host=by_id[str(e.host_id)].name,
                    addresses=e.addresses,
                    claimable=claimable.get(e.id, []),
                )
                for e in remote
            ],
        )
    if heartbeat is not None:
        _record_heartbeat(ctx, host, heartbeat)
    return state


def _remote_interfaces(
    uow: UnitOfWork, host: Host, vpc_ids: list[str], havips: list[HaVip]
) -> tuple[list[NetworkInterface], list[Host]]:
    """The interfaces of ``vpc_ids`` placed on other hosts with an underlay, in id order (none
    when ``host`` has no underlay itself), and the hosts the desired state names: ``host``,
    those interfaces' hosts and the HaVips' holders' hosts. Never the whole fleet: with
    1,000 hosts, reading them all was most of a desired state's cost (two queries)."""
    found = uow.interfaces.find(vpc_id=vpc_ids) if host.underlay is not None and vpc_ids else []
    placed = [e for e in found if e.host_id is not None and e.host_id != host.id]
    wanted = {host.id} | {str(e.host_id) for e in placed} | {str(h.holder_host_id) for h in havips if h.holder_host_id}
    named = _find_in(uow.hosts, "id", wanted)
    tunnelled = {h.id for h in named if h.underlay is not None}
    return sorted((e for e in placed if e.host_id in tunnelled), key=_id), named


class _Claimants:
    """Which interfaces of a set may claim a HaVip, asking ``may_claim`` only about those it
    could allow: the set's interfaces of the HaVip's subnet, in explicit mode only the members."""

    def __init__(self, interfaces: list[NetworkInterface]) -> None:
        self._in = group_by(interfaces, lambda e: e.subnet_id)
        self._as = {**group_by(interfaces, lambda e: e.instance_id), **{e.id: [e] for e in interfaces}}

    def of(self, h: HaVip, members: list[HaVipMember]) -> list[str]:
        if h.binding_mode is BindingMode.SUBNET:
            candidates = self._in.get(h.subnet_id, [])
        else:
            candidates = sorted({e.id: e for m in members for e in self._as.get(m.member_id, [])}.values(), key=_id)
        return [e.id for e in candidates if may_claim(h, e, members)]


def _id(e: NetworkInterface) -> str:
    return e.id


def _desired_routes(uow: UnitOfWork, routes: list[RouteEntry], havips: list[HaVip]) -> list[DesiredRoute]:
    """Route entries with their next hops resolved to what a host routes to (two queries for all)."""
    vip_of = {h.id: h.ip for h in havips}
    hops = group_by(routes, lambda r: r.next_hop_type.value)
    instances = [r.next_hop_id for r in hops.get(NextHopType.INSTANCE.value, [])]
    enis = [r.next_hop_id for r in hops.get(NextHopType.NETWORK_INTERFACE.value, [])]
    primary_of = {str(e.instance_id): e for e in _find_in(uow.interfaces, "instance_id", instances, primary=True)}
    eni_of = {e.id: e for e in _find_in(uow.interfaces, "id", enis)}
    out = []
    for r in routes:
        if r.next_hop_type is NextHopType.HAVIP:
            interface_id, ip = None, vip_of.get(r.next_hop_id)
        else:
            eni = (primary_of if r.next_hop_type is NextHopType.INSTANCE else eni_of).get(r.next_hop_id)
            interface_id, ip = (eni.id, eni.primary_ip) if eni else (None, None)
        out.append(
            DesiredRoute(
                id=r.id,
                vpc_id=r.vpc_id,
                destination=r.destination,
                next_hop_type=r.next_hop_type.value,
                next_hop_id=r.next_hop_id,
                next_hop_interface_id=interface_id,
                next_hop_ip=ip,
            )
        )
    return out


def _desired_eips(
    uow: UnitOfWork, havips: list[HaVip], havip_eips: list[Eip], local: list[NetworkInterface]
) -> list[DesiredEip]:
    """EIPs of the HaVips of the host's VPCs (``havip_eips``, already loaded), and of the
    interfaces placed on the host.

    The interfaces' EIPs are picked from their accounts' EIPs that no HaVip holds (one
    indexed query), not looked up by the host's interface ids: an IN list of thousands
    of ids costs more to build than the query costs to run, and EIPs are few.
    """
    out = []
    by_havip = {h.id: h for h in havips}
    for e in sorted(havip_eips, key=_eip_id):
        h = by_havip[str(e.havip_id)]
        out.append(DesiredEip(id=e.id, ip=e.ip, vpc_id=h.vpc_id, private_ip=h.ip, havip_id=h.id))
    by_eni = {i.id: i for i in local}
    accounts = sorted({i.account_id for i in local})
    for e in sorted(uow.eips.find(account_id=accounts, havip_id=None), key=_eip_id) if accounts else []:
        eni = by_eni.get(e.network_interface_id) if e.network_interface_id else None
        if eni is not None:
            out.append(
                DesiredEip(id=e.id, ip=e.ip, vpc_id=eni.vpc_id, private_ip=eni.primary_ip, network_interface_id=eni.id)
            )
    return out


def _eip_id(e: Eip) -> str:
    return e.id


@dataclass(frozen=True)
class Heartbeat:
    """What a host's agent says of itself on its long poll (``None``: unchanged)."""

    version: str | None = None
    applied_revision: int | None = None

    def __post_init__(self) -> None:
        if self.version is not None:
            rules.check_agent_version(self.version)


def _record_heartbeat(ctx: Ctx, host: Host, beat: Heartbeat) -> None:
    """Record that the host's own agent is alive, its version and the revision it applied.

    A heartbeat changes no desired state: it bumps no revision and wakes nobody. It is
    written only when ``agent_rules.heartbeat_due`` (the agent says something new or the
    last write is ``HEARTBEAT_EVERY`` old); an operator reading a host's state is not its
    agent and records nothing."""
    if ctx.principal.role is not Role.AGENT:
        return
    now = ctx.now()
    version = host.agent_version if beat.version is None else beat.version
    applied = host.applied_revision if beat.applied_revision is None else beat.applied_revision
    new = (version, applied) != (host.agent_version, host.applied_revision)
    if not agent_rules.heartbeat_due(says_something_new=new, last_seen_at=host.agent_seen_at, now=now):
        return
    with ctx.uow(write=True) as uow:
        row = resolve_host(uow, host.id)
        row.agent_seen_at, row.agent_version, row.applied_revision = now, version, applied
        uow.commit()


def unchanged(ctx: Ctx, host_ref: str, since_revision: int, heartbeat: Heartbeat) -> bool:
    """Is the host's desired state still at ``since_revision``? Then (a long poll that ends
    with nothing new) only the heartbeat is recorded: no desired-state read."""
    with ctx.uow() as uow:
        host = _own_host(ctx, uow, host_ref)
    if host.revision != since_revision:
        return False
    _record_heartbeat(ctx, host, heartbeat)
    return True


def current_revision(ctx: Ctx, host_ref: str) -> tuple[str, int]:
    """(the host's id, its revision): what a long poll compares, in one indexed read."""
    with ctx.uow() as uow:
        host = _own_host(ctx, uow, host_ref)
        return host.id, host.revision


@dataclass(frozen=True)
class ClaimReport:
    havip_id: str
    interface_id: str
    kind: ReportKind
    at: dt.datetime
    cause: str = ""
    latency_us: int | None = None
    others: list[str] = field(default_factory=list)  # split brain: the other interfaces
    epoch: int | None = None  # the claim's epoch (the agent's highest seen + 1)


def report(ctx: Ctx, host_ref: str, rep: ClaimReport) -> Outcome:
    """Record what the host's agent saw; returns what it changed."""
    (result,) = report_many(ctx, host_ref, [rep])
    if isinstance(result, HavipError):
        raise result
    return result


def report_many(ctx: Ctx, host_ref: str, reps: Sequence[ClaimReport]) -> list[Outcome | HavipError]:
    """Several reports, applied in order in one transaction (one write lock, at most one
    revision, set on the hosts of the VPCs whose holders changed): a mass failover reports a claim per VIP, and a transaction each kept
    the control plane a minute behind 1,000 of them. Each report stands alone: one the
    rules refuse (its HaVip deleted meanwhile, ...) gets its error in its place and writes
    nothing; the others count. A batch from anyone but the host's agent is refused whole."""
    agent_rules.check_batch_size(len(reps))
    results: list[Outcome | HavipError] = []
    with ctx.uow(write=True) as uow:
        host = _own_host(ctx, uow, host_ref)
        now = ctx.now()
        changed: set[str] = set()  # the VPCs of the HaVips whose holder or epoch moved
        written: set[str] = set()  # the HaVips whose history this batch wrote to
        for rep in reps:
            try:
                havip, eni, kind = _checked(uow, host, rep)
                epoch = havip.epoch
                # judged before anything is written: a report it refuses (from the future)
                # leaves the transaction as it was
                results.append(_apply(uow, host, havip, eni, kind, rep, now))
                if results[-1] is Outcome.HOLDER_CHANGED or havip.epoch != epoch:
                    changed.add(havip.vpc_id)
                if results[-1] not in (Outcome.UNCHANGED, Outcome.STALE):
                    written.add(havip.id)
            except HavipError as e:
                results.append(e)
        prune_events(ctx, uow, written, now)  # the retention, bounded work per HaVip (domain.history)
        if changed:
            uow.touch(vpc_ids=changed)
        uow.commit()
    return results


def _checked(uow: UnitOfWork, host: Host, rep: ClaimReport) -> tuple[HaVip, NetworkInterface, ReportKind]:
    """The report's HaVip and interface, if the report is one this host's agent may make."""
    kind = ReportKind(rep.kind)
    agent_rules.check_report_fields(latency_us=rep.latency_us, cause=rep.cause)
    havip = uow.havips.get(rep.havip_id)
    if havip is None:
        raise NotFound("HaVip", rep.havip_id)
    eni = uow.interfaces.get(rep.interface_id)
    if eni is None:
        raise NotFound("NetworkInterface", rep.interface_id)
    if eni.host_id != host.id:
        raise Forbidden(
            f"network interface {eni.id} is not placed on host {host.name}", code="Forbidden.InterfaceNotOnHost"
        )
    if eni.vpc_id != havip.vpc_id:
        # an agent writes only into the history of HaVips its interfaces can reach
        raise NotFound("HaVip", rep.havip_id)
    return havip, eni, kind


def _apply(
    uow: UnitOfWork,
    host: Host,
    havip: HaVip,
    eni: NetworkInterface,
    kind: ReportKind,
    rep: ClaimReport,
    now: dt.datetime,
) -> Outcome:
    tie = rep.epoch is not None and rep.epoch == havip.epoch and havip.holder_host_id not in (None, host.id)
    holder_host = uow.hosts.get(str(havip.holder_host_id)) if tie else None  # read only to break a tie
    order = ClaimOrder(
        rep.epoch, host.name, holder_host.name if holder_host else "", same_host=havip.holder_host_id == host.id
    )
    verdict = judge_report(havip, eni, uow.members.find(havip_id=havip.id), kind, rep.at, now, order)
    new: tuple[str | None, str | None] = (eni.id, eni.instance_id)
    if verdict.contested:  # two hosts claimed at the same epoch: one split brain, with both claimants
        held: tuple[str | None, str | None] = (havip.holder_interface_id, havip.holder_instance_id)
        winner, loser = (new, held)
        if verdict.outcome is not Outcome.HOLDER_CHANGED:
            winner, loser = loser, winner
        record_event(
            uow,
            havip,
            EventKind.SPLIT_BRAIN,
            verdict.at,
            new=winner,
            previous=loser,
            host_id=host.id,
            cause=rep.cause or "claim",
            detail={"others": str(loser[0]), "epoch": str(rep.epoch)},
        )
    if verdict.outcome is Outcome.UNCHANGED and rep.epoch and rep.epoch > havip.epoch:
        havip.epoch = rep.epoch  # the holder claimed again: what agents saw, the store keeps
    if verdict.outcome is Outcome.RECORDED:
        record_event(
            uow,
            havip,
            EventKind.SPLIT_BRAIN,
            verdict.at,
            new=new,
            host_id=host.id,
            cause=rep.cause or "probe-answer",
            detail={"others": ",".join(rep.others)},
        )
    elif verdict.outcome is Outcome.REFUSED:
        record_event(
            uow,
            havip,
            EventKind.CLAIM_REFUSED,
            verdict.at,
            new=new,
            host_id=host.id,
            cause=rep.cause or kind.value,
            reason=verdict.reason,
        )
    elif verdict.outcome is Outcome.HOLDER_CHANGED:
        record_event(
            uow,
            havip,
            EventKind.HOLDER_CHANGED,
            verdict.at,
            previous=(havip.holder_interface_id, havip.holder_instance_id),
            new=new,
            host_id=host.id,
            cause=rep.cause or kind.value,
            latency_us=rep.latency_us,
        )
        set_holder(havip, eni, host.id, verdict.at, rep.epoch)
    return verdict.outcome
