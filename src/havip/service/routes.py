"""Route entries of a VPC's route table, with a HaVip, an instance or an ENI as next hop."""

from __future__ import annotations

from typing import Any

from havip.domain import ids, routing, rules
from havip.domain.errors import NotFound
from havip.domain.model import NextHopType, RouteEntry
from havip.domain.quotas import Quota
from havip.domain.routing import NextHop
from havip.service.accounts import limit_of
from havip.service.common import check_client_token, remember, replay
from havip.service.context import Ctx, Page, get_owned, scope_filters
from havip.service.ports import UnitOfWork


def _next_hop(ctx: Ctx, uow: UnitOfWork, kind: NextHopType, ident: str) -> NextHop:
    """The next hop ``ident`` names, loaded from the repository of its kind (``routing.NEXT_HOPS``)."""
    if kind is NextHopType.HAVIP:
        return get_owned(ctx, uow.havips, "HaVip", ident)
    if kind is NextHopType.INSTANCE:
        return get_owned(ctx, uow.instances, "Instance", ident)
    return get_owned(ctx, uow.interfaces, "NetworkInterface", ident)


def create_entry(
    ctx: Ctx,
    *,
    route_table_id: str,
    destination: str,
    next_hop_type: NextHopType,
    next_hop_id: str,
    name: str = "",
    description: str = "",
    client_token: str | None = None,
) -> RouteEntry:
    scope_filters(ctx)
    next_hop_type = NextHopType(next_hop_type)
    rules.check_name(name)
    rules.check_description(description)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        table = get_owned(ctx, uow.route_tables, "RouteTable", route_table_id)
        if (
            again := replay(
                uow,
                table.account_id,
                "create_route_entry",
                token,
                uow.route_entries,
                dict(
                    destination=rules.comparable_cidr(destination),
                    next_hop_type=next_hop_type,
                    next_hop_id=next_hop_id,
                    name=name,
                    description=description,
                ),
            )
        ) is not None:
            return again
        vpc = get_owned(ctx, uow.vpcs, "Vpc", table.vpc_id)
        routing.check_next_hop(next_hop_type, _next_hop(ctx, uow, next_hop_type, next_hop_id), next_hop_id, vpc.id)
        existing = uow.route_entries.find(route_table_id=table.id)
        destination = rules.check_route_destination(destination, vpc.cidr, [e.destination for e in existing])
        if routing.counts_toward_havip_quota(next_hop_type):
            routing.check_havip_route_quota(
                [e.next_hop_type for e in existing],
                limit_of(uow, table.account_id, Quota.HAVIP_ROUTES_PER_TABLE),
                table.id,
            )
        entry = RouteEntry(
            ids.new_id("route_entry"),
            table.account_id,
            table.region,
            table.id,
            vpc.id,
            destination,
            next_hop_type,
            next_hop_id,
            name,
            description,
            ctx.now(),
        )
        uow.route_entries.add(entry)
        remember(uow, table.account_id, "create_route_entry", token, entry.id)
        uow.touch(vpc_ids=[entry.vpc_id])
        uow.commit()
        return entry


def list_entries(ctx: Ctx, page: Page, account_id: str | None = None, **filters: Any) -> tuple[list[RouteEntry], int]:
    f = scope_filters(ctx, account_id)
    for key in ("route_table_id", "vpc_id", "next_hop_id", "next_hop_type"):
        if filters.get(key):
            f[key] = filters[key]
    with ctx.uow() as uow:
        return uow.route_entries.find(limit=page.limit, offset=page.offset, **f), uow.route_entries.count(**f)


def get_entry(ctx: Ctx, entry_id: str) -> RouteEntry:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return get_owned(ctx, uow.route_entries, "RouteEntry", entry_id)


def delete_entry(ctx: Ctx, entry_id: str, route_table_id: str | None = None) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        entry = get_owned(ctx, uow.route_entries, "RouteEntry", entry_id)
        if route_table_id is not None and entry.route_table_id != route_table_id:
            raise NotFound("RouteEntry", entry_id)
        uow.route_entries.remove(entry)
        uow.touch(vpc_ids=[entry.vpc_id])
        uow.commit()
