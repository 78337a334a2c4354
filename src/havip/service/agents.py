"""What a host's agent needs and what it reports: desired state and claims.

Only an agent credential reaches these use cases, and only for its own host. The
desired state is derived from the store (never stored twice) and carries the store's
revision so the agent can watch for changes. Claims re-check ``may_claim``: the
control plane is the authority on who holds a HaVip, the agent only acts first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from havip.domain import rules
from havip.domain.claims import Outcome, ReportKind, judge_report, may_claim, set_holder
from havip.domain.errors import Forbidden, InvalidParameter, NotFound
from havip.domain.model import (
    EventKind,
    HaVip,
    Host,
    NetworkInterface,
    NextHopType,
    Role,
    RouteEntry,
    Subnet,
)
from havip.service.compute import resolve_host
from havip.service.context import Ctx
from havip.service.havips import record_event
from havip.service.ports import UnitOfWork


@dataclass(frozen=True)
class DesiredInterface:
    id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None
    mac: str
    device: str | None
    addresses: list[str]


@dataclass(frozen=True)
class DesiredSubnet:
    id: str
    vpc_id: str
    cidr: str
    gateway: str


@dataclass(frozen=True)
class DesiredHaVip:
    id: str
    vpc_id: str
    subnet_id: str
    ip: str
    binding_mode: str
    claimants: list[str]  # interfaces on this host that may claim it
    holder_interface_id: str | None
    holder_host: str | None  # host name of the holder; None when unheld
    eips: list[str]


@dataclass(frozen=True)
class DesiredRoute:
    id: str
    vpc_id: str
    destination: str
    next_hop_type: str
    next_hop_id: str
    next_hop_interface_id: str | None = None  # instance/ENI next hops: the interface (an instance's primary)
    next_hop_ip: str | None = None  # that interface's primary address; a HaVip next hop: the VIP


@dataclass(frozen=True)
class DesiredEip:
    id: str
    ip: str
    vpc_id: str
    private_ip: str  # what it is translated to: the VIP, or the interface's primary address
    havip_id: str | None
    network_interface_id: str | None


@dataclass(frozen=True)
class DesiredState:
    revision: int
    host: str
    vpcs: dict[str, str]  # vpc id -> CIDR
    subnets: list[DesiredSubnet]
    interfaces: list[DesiredInterface]
    havips: list[DesiredHaVip]
    routes: list[DesiredRoute] = field(default_factory=list)
    eips: list[DesiredEip] = field(default_factory=list)  # of the host's HaVips' VPCs and of its interfaces


def _own_host(ctx: Ctx, uow: UnitOfWork, ref: str) -> Host:
    host = resolve_host(uow, ref)
    p = ctx.principal
    if p.role is Role.OPERATOR:
        return host
    if p.role is not Role.AGENT or p.host_id != host.id:
        raise Forbidden(
            f"only the agent credential of host {host.name} may read its state or report its claims",
            code="Forbidden.NotThisHostsAgent",
        )
    return host


def desired_state(ctx: Ctx, host_ref: str) -> DesiredState:
    with ctx.uow() as uow:
        host = _own_host(ctx, uow, host_ref)
        local = uow.interfaces.find(host_id=host.id, order_by="id")
        vpc_ids = sorted({e.vpc_id for e in local})
        vpcs = {v.id: v.cidr for v in uow.vpcs.find(id=vpc_ids)} if vpc_ids else {}
        subnets: list[Subnet] = uow.subnets.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        havips: list[HaVip] = uow.havips.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        hosts = {h.id: h.name for h in uow.hosts.find()}
        out_havips = []
        for h in havips:
            members = uow.members.find(havip_id=h.id)
            claimants = [e.id for e in local if may_claim(h, e, members)]
            out_havips.append(
                DesiredHaVip(
                    h.id,
                    h.vpc_id,
                    h.subnet_id,
                    h.ip,
                    h.binding_mode.value,
                    claimants,
                    h.holder_interface_id,
                    hosts.get(h.holder_host_id) if h.holder_host_id else None,
                    [e.ip for e in uow.eips.find(havip_id=h.id)],
                )
            )
        routes = uow.route_entries.find(vpc_id=vpc_ids, order_by="id") if vpc_ids else []
        return DesiredState(
            revision=uow.revision(),
            host=host.name,
            vpcs=vpcs,
            subnets=[DesiredSubnet(s.id, s.vpc_id, s.cidr, rules.gateway_address(s.cidr)) for s in subnets],
            interfaces=[
                DesiredInterface(e.id, e.vpc_id, e.subnet_id, e.instance_id, e.mac, e.device, e.addresses)
                for e in local
            ],
            havips=out_havips,
            routes=[_desired_route(uow, r, havips) for r in routes],
            eips=_desired_eips(uow, havips, local),
        )


def _desired_route(uow: UnitOfWork, r: RouteEntry, havips: list[HaVip]) -> DesiredRoute:
    """A route entry with its next hop resolved to what a host routes to."""
    if r.next_hop_type is NextHopType.HAVIP:
        vip = next((h.ip for h in havips if h.id == r.next_hop_id), None)
        return DesiredRoute(r.id, r.vpc_id, r.destination, r.next_hop_type.value, r.next_hop_id, None, vip)
    eni: NetworkInterface | None
    if r.next_hop_type is NextHopType.INSTANCE:
        eni = next(iter(uow.interfaces.find(instance_id=r.next_hop_id, primary=True)), None)
    else:
        eni = uow.interfaces.get(r.next_hop_id)
    return DesiredRoute(
        r.id,
        r.vpc_id,
        r.destination,
        r.next_hop_type.value,
        r.next_hop_id,
        eni.id if eni else None,
        eni.primary_ip if eni else None,
    )


def _desired_eips(uow: UnitOfWork, havips: list[HaVip], local: list[NetworkInterface]) -> list[DesiredEip]:
    """EIPs of the HaVips of the host's VPCs, and of the interfaces placed on the host."""
    out = []
    by_havip = {h.id: h for h in havips}
    if by_havip:
        for e in uow.eips.find(havip_id=sorted(by_havip), order_by="id"):
            h = by_havip[str(e.havip_id)]
            out.append(DesiredEip(e.id, e.ip, h.vpc_id, h.ip, h.id, None))
    by_eni = {i.id: i for i in local}
    if by_eni:
        for e in uow.eips.find(network_interface_id=sorted(by_eni), order_by="id"):
            i = by_eni[str(e.network_interface_id)]
            out.append(DesiredEip(e.id, e.ip, i.vpc_id, i.primary_ip, None, i.id))
    return out


def current_revision(ctx: Ctx, host_ref: str) -> int:
    with ctx.uow() as uow:
        _own_host(ctx, uow, host_ref)
        return uow.revision()


MAX_LATENCY_US = 3_600_000_000
"""The longest switch latency a report may carry (an hour); anything longer is not a measurement."""
CAUSE_MAX = 64


@dataclass(frozen=True)
class ClaimReport:
    havip_id: str
    interface_id: str
    kind: ReportKind
    at: dt.datetime
    cause: str = ""
    latency_us: int | None = None
    others: list[str] = field(default_factory=list)  # split brain: the other interfaces


def report(ctx: Ctx, host_ref: str, rep: ClaimReport) -> Outcome:
    """Record what the host's agent saw; returns what it changed."""
    kind = ReportKind(rep.kind)
    if rep.latency_us is not None and not 0 <= rep.latency_us <= MAX_LATENCY_US:
        raise InvalidParameter(f"latency_us must be between 0 and {MAX_LATENCY_US} (an hour)")
    if len(rep.cause) > CAUSE_MAX or not (rep.cause.isascii() and rep.cause.isprintable()):
        raise InvalidParameter(f"cause must be at most {CAUSE_MAX} printable ASCII characters")
    with ctx.uow(write=True) as uow:
        host = _own_host(ctx, uow, host_ref)
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
        outcome = _apply(uow, host, havip, eni, kind, rep, ctx.now())
        if outcome is Outcome.HOLDER_CHANGED:
            uow.bump_revision()
        uow.commit()
        return outcome


def _apply(
    uow: UnitOfWork,
    host: Host,
    havip: HaVip,
    eni: NetworkInterface,
    kind: ReportKind,
    rep: ClaimReport,
    now: dt.datetime,
) -> Outcome:
    verdict = judge_report(havip, eni, uow.members.find(havip_id=havip.id), kind, rep.at, now)
    new = (eni.id, eni.instance_id)
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
        set_holder(havip, eni, host.id, verdict.at)
    return verdict.outcome
