"""Domain objects and use-case results to wire schemas (havip.contract).

Most resources map field by field (``model_validate(..., from_attributes=True)``);
the functions here cover the ones whose wire form is assembled: the HaVip view,
an instance with its interfaces, lists and quota views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from havip import contract as c
from havip.domain import model as m
from havip.service.accounts import IssuedKey, QuotaView
from havip.service.compute import AgentHealth
from havip.service.context import Page
from havip.service.havips import HaVipView

S = TypeVar("S", bound=BaseModel)


def one(schema: type[S], obj: object) -> S:
    return schema.model_validate(obj, from_attributes=True)


def many(schema: type[S], items: Sequence[object], total: int, page: Page) -> c.ListOf[S]:
    return c.ListOf[schema](  # type: ignore[valid-type]
        items=[one(schema, i) for i in items], total=total, limit=page.limit, offset=page.offset
    )


def host(obj: m.Host, health: AgentHealth) -> c.Host:
    return one(c.Host, obj).model_copy(update={"agent": one(c.HostAgent, health)})


def issued_key(key: IssuedKey) -> c.IssuedKey:
    return c.IssuedKey(id=key.key.id, token=key.token)


def quota(view: QuotaView) -> c.Quota:
    return one(c.Quota, view)


def havip(v: HaVipView) -> c.HaVip:
    h = v.havip
    holder = None
    if h.holder_interface_id is not None:
        holder = c.Holder(
            interface_id=h.holder_interface_id,
            instance_id=h.holder_instance_id,
            host_id=h.holder_host_id,
            since=h.holder_since,
            epoch=h.epoch,
            host_agent=v.holder_agent or m.AgentState.NEVER_SEEN,
            healthy=v.holder_healthy,
        )
    return c.HaVip(
        id=h.id,
        account_id=h.account_id,
        region=h.region,
        vpc_id=h.vpc_id,
        subnet_id=h.subnet_id,
        ip=h.ip,
        name=h.name,
        description=h.description,
        binding_mode=h.binding_mode,
        status=h.status,
        member_type=h.member_type,
        created_at=h.created_at,
        updated_at=h.updated_at,
        holder=holder,
        members=[one(c.Member, mem) for mem in v.members],
        eips=[one(c.HaVipEip, e) for e in v.eips],
        route_entry_ids=list(v.route_entry_ids),
    )


def instance(inst: m.Instance, interfaces: Sequence[m.NetworkInterface]) -> c.Instance:
    return c.Instance(
        id=inst.id,
        account_id=inst.account_id,
        region=inst.region,
        vpc_id=inst.vpc_id,
        subnet_id=inst.subnet_id,
        name=inst.name,
        status=inst.status,
        created_at=inst.created_at,
        network_interfaces=[one(c.NetworkInterface, e) for e in interfaces],
    )


def route_table(table: m.RouteTable, entries: Sequence[m.RouteEntry]) -> c.RouteTableDetail:
    return c.RouteTableDetail(
        id=table.id,
        account_id=table.account_id,
        region=table.region,
        vpc_id=table.vpc_id,
        name=table.name,
        system=table.system,
        created_at=table.created_at,
        entries=[one(c.RouteEntry, e) for e in entries],
    )
