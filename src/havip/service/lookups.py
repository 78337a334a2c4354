"""Read-only queries the cloud facades need beyond the native API's listings.

The Alibaba and Tencent describe actions filter by ID lists, names, zones, addresses,
association targets and statuses; the writes they make go through the ordinary use
cases (network, havips, eips, routes). Every query here is scoped exactly as the
native listings are (``scope_filters``: a tenant sees its own account only), returns
one page and the total, and changes nothing. Callers: ``havip.api.compat``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from havip.domain import rules
from havip.domain.errors import Conflict
from havip.domain.model import Eip, MemberType, NextHopType, RouteEntry, RouteTable, Subnet, Vpc
from havip.service import havips
from havip.service.context import Ctx, Page, get_owned, scope_filters
from havip.service.ports import Repository

T = TypeVar("T")

NOTHING = ["\x00none"]
"""An ID filter that matches no row (an empty intersection)."""


def _given(**filters: Any) -> dict[str, Any]:
    """The filters that were given: ``None``, ``""`` and ``[]`` mean "any"."""
    return {k: v for k, v in filters.items() if v not in (None, "", [])}


def _page(repo: Repository[T], page: Page, filters: dict[str, Any]) -> tuple[list[T], int]:
    return repo.find(limit=page.limit, offset=page.offset, **filters), repo.count(**filters)


def vpcs(
    ctx: Ctx,
    page: Page,
    *,
    region: str | None = None,
    ids: Sequence[str] = (),
    names: Sequence[str] = (),
    cidrs: Sequence[str] = (),
) -> tuple[list[Vpc], int]:
    f = scope_filters(ctx) | _given(region=region, id=list(ids), name=list(names), cidr=list(cidrs))
    with ctx.uow() as uow:
        return _page(uow.vpcs, page, f)


def subnets(
    ctx: Ctx,
    page: Page,
    *,
    region: str | None = None,
    ids: Sequence[str] = (),
    vpc_ids: Sequence[str] = (),
    zones: Sequence[str] = (),
    names: Sequence[str] = (),
    cidrs: Sequence[str] = (),
) -> tuple[list[Subnet], int]:
    f = scope_filters(ctx) | _given(
        region=region, id=list(ids), vpc_id=list(vpc_ids), zone=list(zones), name=list(names), cidr=list(cidrs)
    )
    with ctx.uow() as uow:
        return _page(uow.subnets, page, f)


def address_counts(ctx: Ctx, subnets_: Sequence[Subnet]) -> dict[str, tuple[int, int]]:
    """For each subnet: how many addresses are usable (not reserved), and how many of those are free."""
    scope_filters(ctx)
    with ctx.uow() as uow:
        out = {}
        for s in subnets_:
            usable = rules.usable_count(s.cidr, ctx.address_rule)
            out[s.id] = (usable, usable - uow.allocations.count(subnet_id=s.id))
        return out


def havip_views(
    ctx: Ctx,
    page: Page,
    *,
    ids: Sequence[str] = (),
    member_ids: Sequence[str] = (),
    member_type: MemberType | None = None,
    eip_ips: Sequence[str] = (),
    **filters: Any,
) -> tuple[list[havips.HaVipView], int]:
    """``havips.list_havips`` plus filters by member and by associated EIP address (ANDed)."""
    wanted: set[str] | None = set(ids) if ids else None
    with ctx.uow() as uow:
        scope = scope_filters(ctx)
        if member_ids or member_type is not None:
            found = uow.members.find(**scope, **_given(member_id=list(member_ids), member_type=member_type))
            wanted = {m.havip_id for m in found} & wanted if wanted is not None else {m.havip_id for m in found}
        if eip_ips:
            found_eips = uow.eips.find(**scope, ip=list(eip_ips))
            by_eip = {e.havip_id for e in found_eips if e.havip_id}
            wanted = by_eip & wanted if wanted is not None else by_eip
    if wanted is not None:
        filters["id"] = sorted(wanted) or NOTHING
    return havips.list_havips(ctx, page, **filters)


def eips(
    ctx: Ctx,
    page: Page,
    *,
    region: str | None = None,
    ids: Sequence[str] = (),
    ips: Sequence[str] = (),
    names: Sequence[str] = (),
    havip_ids: Sequence[str] = (),
    network_interface_ids: Sequence[str] = (),
    associated: bool | None = None,
) -> tuple[list[Eip], int]:
    """EIPs by any of their fields; ``associated`` True/False keeps only bound/free ones."""
    f = scope_filters(ctx) | _given(
        region=region,
        id=list(ids),
        ip=list(ips),
        name=list(names),
        havip_id=list(havip_ids),
        network_interface_id=list(network_interface_ids),
    )
    with ctx.uow() as uow:
        if associated is False:
            return _page(uow.eips, page, f | {"havip_id": None, "network_interface_id": None})
        if associated is None:
            return _page(uow.eips, page, f)
        # "bound to anything" is not an equality filter: an account's EIPs are few, so filter here
        bound = [e for e in uow.eips.find(**f) if e.associated]
        return bound[page.offset : page.offset + page.limit], len(bound)


def eip_of_havip(ctx: Ctx, havip_id: str) -> Eip:
    """The EIP associated with a HaVip; a HaVip without one is an ``IncorrectEipStatus`` conflict."""
    scope_filters(ctx)
    with ctx.uow() as uow:
        havip = get_owned(ctx, uow.havips, "HaVip", havip_id)
        found = uow.eips.find(havip_id=havip.id, limit=1)
        if not found:
            raise Conflict(f"HaVip {havip.id} has no associated EIP", code="IncorrectEipStatus")
        return found[0]


def route_tables(
    ctx: Ctx, page: Page, *, region: str | None = None, ids: Sequence[str] = (), vpc_ids: Sequence[str] = ()
) -> tuple[list[RouteTable], int]:
    f = scope_filters(ctx) | _given(region=region, id=list(ids), vpc_id=list(vpc_ids))
    with ctx.uow() as uow:
        return _page(uow.route_tables, page, f)


def route_entries(
    ctx: Ctx,
    page: Page | None = None,
    *,
    table_ids: Sequence[str] = (),
    ids: Sequence[str] = (),
    destination: str | None = None,
    next_hop_type: NextHopType | None = None,
    next_hop_id: str | None = None,
) -> tuple[list[RouteEntry], int]:
    """Route entries by table, ID, destination or next hop (every matching entry when ``page`` is None)."""
    f = scope_filters(ctx) | _given(
        route_table_id=list(table_ids),
        id=list(ids),
        destination=destination,
        next_hop_type=next_hop_type,
        next_hop_id=next_hop_id,
    )
    with ctx.uow() as uow:
        if page is None:
            found = uow.route_entries.find(**f)
            return found, len(found)
        return _page(uow.route_entries, page, f)
