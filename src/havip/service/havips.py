"""HaVips: create, describe, change, associate members, delete, and their history.

Every rule comes from the domain (rules, quotas, status, claims); this module loads
what those rules need inside one write transaction and commits only if all hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from havip.domain import ids, quotas, rules, status
from havip.domain.claims import clear_holder
from havip.domain.errors import Conflict, InvalidParameter, NotFound
from havip.domain.model import (
    AgentState,
    BindingMode,
    Eip,
    EventKind,
    HaVip,
    HaVipEvent,
    HaVipMember,
    HaVipStatus,
    Host,
    MemberType,
    agent_state,
)
from havip.domain.quotas import Quota
from havip.service import history
from havip.service.accounts import limit_of
from havip.service.common import check_client_token, group_by, release_addresses, remember, replay, take_address
from havip.service.context import Ctx, Page, get_owned, scope_filters
from havip.service.ports import UnitOfWork


@dataclass(frozen=True)
class HaVipView:
    """A HaVip with what depends on it, as every surface shows it."""

    havip: HaVip
    members: list[HaVipMember]
    eips: list[Eip]
    route_entry_ids: list[str]
    holder_agent: AgentState | None = None
    """The holder's host's agent as the control plane judges it now (None: no holder).
    ``down``: its lease ran out, the host may be lost with the VIP on it."""

    @property
    def holder_healthy(self) -> bool:
        """A holder is healthy while its host's agent is within its lease."""
        return self.holder_agent is AgentState.UP


def view(ctx: Ctx, uow: UnitOfWork, havip: HaVip) -> HaVipView:
    return views(ctx, uow, [havip])[0]


def views(ctx: Ctx, uow: UnitOfWork, havips: list[HaVip]) -> list[HaVipView]:
    """``view`` of many HaVips in four queries (members, EIPs, route entries, the holders'
    hosts), not four per HaVip."""
    if not havips:
        return []
    ids_ = [h.id for h in havips]
    members = group_by(uow.members.find(havip_id=ids_), lambda m: m.havip_id)
    eips = group_by(uow.eips.find(havip_id=ids_), lambda e: e.havip_id)
    routes = group_by(uow.route_entries.find(next_hop_id=ids_), lambda r: r.next_hop_id)
    host_ids = sorted({h.holder_host_id for h in havips if h.holder_host_id})
    hosts = {x.id: x for x in uow.hosts.find(id=host_ids)} if host_ids else {}
    return [
        HaVipView(
            h,
            members.get(h.id, []),
            eips.get(h.id, []),
            [r.id for r in routes.get(h.id, [])],
            _agent(ctx, hosts.get(h.holder_host_id)) if h.holder_interface_id and h.holder_host_id else None,
        )
        for h in havips
    ]


def _agent(ctx: Ctx, host: Host | None) -> AgentState:
    if host is None:
        return AgentState.NEVER_SEEN
    return agent_state(host.agent_seen_at, ctx.now(), ctx.settings.agent_lease)


def create_havip(
    ctx: Ctx,
    *,
    subnet_id: str,
    ip: str | None = None,
    name: str = "",
    description: str = "",
    binding_mode: BindingMode = BindingMode.EXPLICIT,
    client_token: str | None = None,
) -> HaVipView:
    scope_filters(ctx)
    rules.check_name(name)
    rules.check_description(description)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
        acc = subnet.account_id
        if (
            again := replay(
                uow,
                acc,
                "create_havip",
                token,
                uow.havips,
                dict(
                    subnet_id=subnet.id,
                    ip=ip,
                    name=name,
                    description=description,
                    binding_mode=BindingMode(binding_mode),
                ),
            )
        ) is not None:
            return view(ctx, uow, again)
        quotas.check(
            Quota.HAVIPS_PER_ACCOUNT,
            limit_of(uow, acc, Quota.HAVIPS_PER_ACCOUNT),
            uow.havips.count(account_id=acc),
            "creating this HaVip",
        )
        quotas.check(
            Quota.HAVIPS_PER_VPC,
            limit_of(uow, acc, Quota.HAVIPS_PER_VPC),
            uow.havips.count(vpc_id=subnet.vpc_id),
            f"creating a HaVip in VPC {subnet.vpc_id}",
        )
        now = ctx.now()
        havip = HaVip(
            id=ids.new_id("havip"),
            account_id=acc,
            region=subnet.region,
            vpc_id=subnet.vpc_id,
            subnet_id=subnet.id,
            ip="",
            name=name,
            description=description,
            binding_mode=BindingMode(binding_mode),
            created_at=now,
            updated_at=now,
        )
        havip.ip = take_address(uow, subnet, ip, "havip", havip.id, "HaVip address", ctx.address_rule)
        uow.havips.add(havip)
        remember(uow, acc, "create_havip", token, havip.id)
        uow.touch(vpc_ids=[havip.vpc_id])
        uow.commit()
        return HaVipView(havip, [], [], [])


def list_havips(
    ctx: Ctx,
    page: Page,
    account_id: str | None = None,
    **filters: Any,
) -> tuple[list[HaVipView], int]:
    """Filters: vpc_id, subnet_id, status, ip, name, id (a value or a list of values)."""
    f = scope_filters(ctx, account_id)
    allowed = {"vpc_id", "subnet_id", "status", "ip", "name", "id", "region", "binding_mode"}
    for key, value in filters.items():
        if key not in allowed:
            raise InvalidParameter(f"unknown HaVip filter {key!r}", code="InvalidParameter.Filter")
        if value not in (None, [], ""):
            f[key] = value
    with ctx.uow() as uow:
        items = uow.havips.find(limit=page.limit, offset=page.offset, **f)
        return views(ctx, uow, items), uow.havips.count(**f)


def get_havip(ctx: Ctx, havip_id: str) -> HaVipView:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return view(ctx, uow, get_owned(ctx, uow.havips, "HaVip", havip_id))


def update_havip(
    ctx: Ctx,
    havip_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    binding_mode: BindingMode | None = None,
) -> HaVipView:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        status.check_mutable(havip, "modify")
        if name is not None:
            havip.name = rules.check_name(name)
        if description is not None:
            havip.description = rules.check_description(description)
        if binding_mode is not None:
            havip.binding_mode = BindingMode(binding_mode)
        havip.updated_at = ctx.now()
        uow.touch(vpc_ids=[havip.vpc_id])
        uow.commit()
        return view(ctx, uow, havip)


def delete_havip(ctx: Ctx, havip_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        status.check_deletable(
            havip,
            members=uow.members.count(havip_id=havip.id),
            eips=uow.eips.count(havip_id=havip.id),
            route_entries=uow.route_entries.count(next_hop_id=havip.id),
        )
        havip.status = HaVipStatus.DELETING
        release_addresses(uow, havip.id)
        for event in uow.events.find(havip_id=havip.id, order_by="at"):
            uow.events.remove(event)
        uow.havips.remove(havip)
        uow.touch(vpc_ids=[havip.vpc_id])
        uow.commit()


def _member_subnets(ctx: Ctx, uow: UnitOfWork, member_type: MemberType, member_id: str) -> set[str]:
    if member_type is MemberType.INSTANCE:
        inst = get_owned(ctx, uow.instances, "Instance", member_id)
        return {e.subnet_id for e in uow.interfaces.find(instance_id=inst.id)}
    eni = get_owned(ctx, uow.interfaces, "NetworkInterface", member_id)
    return {eni.subnet_id}


def associate(ctx: Ctx, havip_id: str, member_type: MemberType, member_id: str) -> HaVipView:
    scope_filters(ctx)
    member_type = MemberType(member_type)
    with ctx.uow(write=True) as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        status.check_mutable(havip, "associate")
        subnets = _member_subnets(ctx, uow, member_type, member_id)
        existing = uow.members.find(havip_id=havip.id)
        rules.check_new_member(havip, member_type, member_id, subnets, existing)
        acc = havip.account_id
        quotas.check(
            Quota.MEMBERS_PER_HAVIP,
            limit_of(uow, acc, Quota.MEMBERS_PER_HAVIP),
            len(existing),
            f"associating {member_id} with HaVip {havip.id}",
        )
        quotas.check(
            Quota.HAVIPS_PER_MEMBER,
            limit_of(uow, acc, Quota.HAVIPS_PER_MEMBER),
            uow.members.count(member_id=member_id),
            f"associating another HaVip with {member_id}",
        )
        now = ctx.now()
        uow.members.add(HaVipMember(ids.new_id("member"), havip.id, member_type, member_id, acc, now))
        havip.member_type = member_type
        havip.status = status.status_for(len(existing) + 1)
        havip.updated_at = now
        _event(uow, havip, EventKind.ASSOCIATED, now, cause="api", detail={"member": member_id})
        prune_events(ctx, uow, [havip.id], now)
        uow.touch(vpc_ids=[havip.vpc_id])
        uow.commit()
        return view(ctx, uow, havip)


def unassociate(ctx: Ctx, havip_id: str, member_id: str, *, force: bool = False) -> HaVipView:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        status.check_mutable(havip, "unassociate")
        existing = uow.members.find(havip_id=havip.id)
        member = next((m for m in existing if m.member_id == member_id), None)
        if member is None:
            raise NotFound("HaVipMember", member_id)
        now = ctx.now()
        if rules.is_holder(havip, member.member_type, member.member_id):
            if not force:
                raise Conflict(
                    f"{member_id} currently holds HaVip {havip.id}; unassociating the holder needs force "
                    "(the VIP then has no holder until another member announces it)",
                    code="Conflict.UnassociateHolder",
                )
            drop_holder(uow, havip, now, "holder unassociated with force")
        uow.members.remove(member)
        remaining = len(existing) - 1
        havip.status = status.status_for(remaining)
        if remaining == 0:
            havip.member_type = None
        havip.updated_at = now
        _event(uow, havip, EventKind.UNASSOCIATED, now, cause="api", detail={"member": member_id, "force": str(force)})
        prune_events(ctx, uow, [havip.id], now)
        uow.touch(vpc_ids=[havip.vpc_id])
        uow.commit()
        return view(ctx, uow, havip)


def _event(
    uow: UnitOfWork,
    havip: HaVip,
    kind: EventKind,
    at: Any,
    *,
    previous: tuple[str | None, str | None] = (None, None),
    new: tuple[str | None, str | None] = (None, None),
    host_id: str | None = None,
    cause: str = "",
    reason: str = "",
    latency_us: int | None = None,
    detail: dict[str, str] | None = None,
) -> HaVipEvent:
    event = HaVipEvent(
        id=ids.new_id("event"),
        havip_id=havip.id,
        account_id=havip.account_id,
        kind=kind,
        at=at,
        previous_interface_id=previous[0],
        previous_instance_id=previous[1],
        interface_id=new[0],
        instance_id=new[1],
        host_id=host_id,
        cause=cause,
        reason=reason,
        latency_us=latency_us,
        detail=dict(detail or {}),
    )
    return history.record(uow, event)


record_event = _event
"""Record an event (``service.history.record``: refusals that repeat merge into one entry);
the use case then calls ``prune_events`` once per HaVip it wrote events for."""


def prune_events(ctx: Ctx, uow: UnitOfWork, havip_ids: Iterable[str], now: dt.datetime) -> None:
    """Enforce the event retention (``Settings.event_retention``) on these HaVips' histories."""
    for havip_id in sorted(set(havip_ids)):
        history.prune(uow, havip_id, ctx.settings.event_retention, now)


def drop_holder(uow: UnitOfWork, havip: HaVip, at: Any, reason: str) -> None:
    """Clear the holder and write why into the history."""
    previous = clear_holder(havip)
    _event(uow, havip, EventKind.HOLDER_CLEARED, at, previous=previous, cause="api", reason=reason)


def list_events(ctx: Ctx, havip_id: str, page: Page, kind: str | None = None) -> tuple[list[HaVipEvent], int]:
    scope_filters(ctx)
    with ctx.uow() as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        f: dict[str, Any] = {"havip_id": havip.id}
        if kind:
            try:
                f["kind"] = EventKind(kind)
            except ValueError as exc:
                kinds = ", ".join(k.value for k in EventKind)
                raise InvalidParameter(
                    f"unknown event kind {kind!r}; kinds: {kinds}", code="InvalidParameter.Kind"
                ) from exc
        items = uow.events.find(limit=page.limit, offset=page.offset, order_by="-at", **f)
        return items, uow.events.count(**f)
