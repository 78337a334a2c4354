"""What a host's agent needs and what it reports: desired state and claims.

Only an agent credential reaches these use cases, and only for its own host. The
desired state is derived from the store (never stored twice) and carries the store's
revision so the agent can watch for changes. Claims re-check ``may_claim``: the
control plane is the authority on who holds a HaVip, the agent only acts first.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from havip.domain import rules
from havip.domain.claims import may_claim
from havip.domain.errors import Forbidden, InvalidParameter, NotFound
from havip.domain.model import (
    EventKind,
    HaVip,
    HaVipEvent,
    Host,
    NetworkInterface,
    Role,
    Subnet,
)
from havip.service.compute import resolve_host
from havip.service.context import Ctx
from havip.service.havips import record_event
from havip.service.ports import Clock, UnitOfWork


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


@dataclass(frozen=True)
class DesiredState:
    revision: int
    host: str
    vpcs: dict[str, str]  # vpc id -> CIDR
    subnets: list[DesiredSubnet]
    interfaces: list[DesiredInterface]
    havips: list[DesiredHaVip]
    routes: list[DesiredRoute] = field(default_factory=list)


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
            routes=[DesiredRoute(r.id, r.vpc_id, r.destination, r.next_hop_type.value, r.next_hop_id) for r in routes],
        )


def current_revision(ctx: Ctx, host_ref: str) -> int:
    with ctx.uow() as uow:
        _own_host(ctx, uow, host_ref)
        return uow.revision()


FUTURE_TOLERANCE = dt.timedelta(seconds=5)


class ReportKind(enum.StrEnum):
    CLAIM = "claim"  # an unsolicited gratuitous ARP from the interface
    PROBE_ANSWER = "probe-answer"  # the interface answered the agent's holder probe
    REFUSED = "refused"  # an interface that may not claim announced the VIP
    SPLIT_BRAIN = "split-brain"  # several interfaces answered for the VIP at once


class Outcome(enum.StrEnum):
    HOLDER_CHANGED = "holder-changed"
    UNCHANGED = "unchanged"  # already the holder: keepalived's refresh
    REFUSED = "refused"
    STALE = "stale"  # older than the current holder's claim
    RECORDED = "recorded"


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
    if rep.latency_us is not None and rep.latency_us < 0:
        raise InvalidParameter("latency_us must not be negative")
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
        outcome = _apply(uow, host, havip, eni, kind, rep, ctx.clock)
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
    clock: Clock,
) -> Outcome:
    members = uow.members.find(havip_id=havip.id)
    decision = may_claim(havip, eni, members)
    at = rep.at if rep.at.tzinfo else rep.at.replace(tzinfo=dt.UTC)
    now = clock()
    if at > now + FUTURE_TOLERANCE:
        raise InvalidParameter(
            f"the report is dated {at.isoformat()}, ahead of the control plane's clock ({now.isoformat()}); "
            "check the host's clock (NTP)",
            code="InvalidParameter.FutureReport",
        )
    at = min(at, now)  # a small skew never pins a holder into the future
    new = (eni.id, eni.instance_id)
    if kind is ReportKind.SPLIT_BRAIN:
        record_event(
            uow,
            havip,
            EventKind.SPLIT_BRAIN,
            at,
            new=new,
            host_id=host.id,
            cause=rep.cause or "probe-answer",
            detail={"others": ",".join(rep.others)},
        )
        return Outcome.RECORDED
    if kind is ReportKind.REFUSED or not decision.allowed:
        record_event(
            uow,
            havip,
            EventKind.CLAIM_REFUSED,
            at,
            new=new,
            host_id=host.id,
            cause=rep.cause or kind.value,
            reason=decision.reason.value if not decision.allowed else "refused by the data plane",
        )
        return Outcome.REFUSED
    if havip.holder_interface_id == eni.id:
        return Outcome.UNCHANGED
    since = havip.holder_since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    if since is not None and at < since:
        return Outcome.STALE
    if kind is ReportKind.PROBE_ANSWER and havip.holder_interface_id is not None:
        # an answer to our probe never outranks a holder that announced itself
        return Outcome.STALE
    record_event(
        uow,
        havip,
        EventKind.HOLDER_CHANGED,
        at,
        previous=(havip.holder_interface_id, havip.holder_instance_id),
        new=new,
        host_id=host.id,
        cause=rep.cause or kind.value,
        latency_us=rep.latency_us,
    )
    havip.holder_interface_id, havip.holder_instance_id = new
    havip.holder_host_id = host.id
    havip.holder_since = at
    havip.updated_at = at
    return Outcome.HOLDER_CHANGED


def events_since(uow: UnitOfWork, havip_id: str) -> list[HaVipEvent]:
    return uow.events.find(havip_id=havip_id, order_by="at")
