"""VPCs, subnets (vSwitches) and route tables.

A VPC gets its system route table and its VNI (``rules.next_vni``, allocated under the
write lock) in the same transaction that creates it.
"""

from __future__ import annotations

from havip.domain import ids, rules
from havip.domain.dependencies import Deletable, Dependent, check_deletable
from havip.domain.errors import NotFound
from havip.domain.model import RouteTable, Subnet, Vpc
from havip.service.common import check_client_token, remember, replay
from havip.service.context import Ctx, Page, acting_account, check_region, get_owned, scope_filters
from havip.service.ports import UnitOfWork


def create_vpc(
    ctx: Ctx,
    *,
    cidr: str,
    name: str = "",
    description: str = "",
    region: str | None = None,
    account_id: str | None = None,
    client_token: str | None = None,
) -> Vpc:
    acc = acting_account(ctx, account_id)
    cidr = rules.check_vpc_cidr(cidr)
    rules.check_name(name)
    rules.check_description(description)
    region = check_region(ctx, region)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        if (
            again := replay(
                uow,
                acc,
                "create_vpc",
                token,
                uow.vpcs,
                dict(cidr=cidr, region=region, name=name, description=description),
            )
        ) is not None:
            return again
        if uow.accounts.get(acc) is None:
            raise NotFound("Account", acc)
        now = ctx.now()
        vpc = Vpc(ids.new_id("vpc"), acc, region, cidr, name, description, created_at=now, vni=_allocate_vni(uow))
        uow.vpcs.add(vpc)
        uow.route_tables.add(
            RouteTable(ids.new_id("route_table"), acc, region, vpc.id, name=f"system ({vpc.id})", created_at=now)
        )
        remember(uow, acc, "create_vpc", token, vpc.id)
        uow.touch(vpc_ids=[vpc.id])  # a VPC without subnets has no interfaces: it touches no host
        uow.commit()
        return vpc


def _allocate_vni(uow: UnitOfWork) -> int:
    """The next VNI, under the write lock (the store's unique constraint is the last line behind it)."""
    highest = uow.vpcs.find(order_by="-vni", limit=1)
    return rules.next_vni(highest[0].vni if highest else None, lambda: [v.vni for v in uow.vpcs.find() if v.vni])


def list_vpcs(ctx: Ctx, page: Page, account_id: str | None = None, region: str | None = None) -> tuple[list[Vpc], int]:
    f = scope_filters(ctx, account_id)
    if region:
        f["region"] = region
    with ctx.uow() as uow:
        return uow.vpcs.find(limit=page.limit, offset=page.offset, **f), uow.vpcs.count(**f)


def get_vpc(ctx: Ctx, vpc_id: str) -> Vpc:
    with ctx.uow() as uow:
        scope_filters(ctx)
        return get_owned(ctx, uow.vpcs, "Vpc", vpc_id)


def update_vpc(ctx: Ctx, vpc_id: str, *, name: str | None = None, description: str | None = None) -> Vpc:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        vpc = get_owned(ctx, uow.vpcs, "Vpc", vpc_id)
        if name is not None:
            vpc.name = rules.check_name(name)
        if description is not None:
            vpc.description = rules.check_description(description)
        uow.commit()
        return vpc


def delete_vpc(ctx: Ctx, vpc_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        vpc = get_owned(ctx, uow.vpcs, "Vpc", vpc_id)
        check_deletable(
            Deletable.VPC,
            vpc.id,
            {
                Dependent.SUBNETS: uow.subnets.count(vpc_id=vpc.id),
                Dependent.ROUTE_ENTRIES: uow.route_entries.count(vpc_id=vpc.id),
            },
        )
        for table in uow.route_tables.find(vpc_id=vpc.id):
            uow.route_tables.remove(table)
        uow.vpcs.remove(vpc)
        uow.touch(vpc_ids=[vpc.id])  # a VPC without subnets has no interfaces: it touches no host
        uow.commit()


def create_subnet(
    ctx: Ctx,
    *,
    vpc_id: str,
    cidr: str,
    name: str = "",
    description: str = "",
    zone: str = "",
    client_token: str | None = None,
) -> Subnet:
    scope_filters(ctx)
    rules.check_name(name)
    rules.check_description(description)
    rules.check_name(zone, "zone")
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        vpc = get_owned(ctx, uow.vpcs, "Vpc", vpc_id)
        if (
            again := replay(
                uow,
                vpc.account_id,
                "create_subnet",
                token,
                uow.subnets,
                dict(vpc_id=vpc.id, cidr=rules.comparable_cidr(cidr), name=name, description=description, zone=zone),
            )
        ) is not None:
            return again
        siblings = [s.cidr for s in uow.subnets.find(vpc_id=vpc.id)]
        cidr = rules.check_subnet_cidr(cidr, vpc.cidr, siblings)
        subnet = Subnet(
            ids.new_id("subnet"), vpc.account_id, vpc.region, vpc.id, cidr, name, description, zone, ctx.now()
        )
        uow.subnets.add(subnet)
        remember(uow, vpc.account_id, "create_subnet", token, subnet.id)
        uow.touch(vpc_ids=[subnet.vpc_id])
        uow.commit()
        return subnet


def list_subnets(
    ctx: Ctx, page: Page, account_id: str | None = None, vpc_id: str | None = None
) -> tuple[list[Subnet], int]:
    f = scope_filters(ctx, account_id)
    if vpc_id:
        f["vpc_id"] = vpc_id
    with ctx.uow() as uow:
        return uow.subnets.find(limit=page.limit, offset=page.offset, **f), uow.subnets.count(**f)


def get_subnet(ctx: Ctx, subnet_id: str) -> Subnet:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return get_owned(ctx, uow.subnets, "Subnet", subnet_id)


def update_subnet(ctx: Ctx, subnet_id: str, *, name: str | None = None, description: str | None = None) -> Subnet:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
        if name is not None:
            subnet.name = rules.check_name(name)
        if description is not None:
            subnet.description = rules.check_description(description)
        uow.commit()
        return subnet


def delete_subnet(ctx: Ctx, subnet_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
        check_deletable(
            Deletable.SUBNET,
            subnet.id,
            {
                Dependent.NETWORK_INTERFACES: uow.interfaces.count(subnet_id=subnet.id),
                Dependent.HAVIPS: uow.havips.count(subnet_id=subnet.id),
            },
        )
        uow.subnets.remove(subnet)
        uow.touch(vpc_ids=[subnet.vpc_id])
        uow.commit()


def list_route_tables(
    ctx: Ctx, page: Page, account_id: str | None = None, vpc_id: str | None = None
) -> tuple[list[RouteTable], int]:
    f = scope_filters(ctx, account_id)
    if vpc_id:
        f["vpc_id"] = vpc_id
    with ctx.uow() as uow:
        return uow.route_tables.find(limit=page.limit, offset=page.offset, **f), uow.route_tables.count(**f)


def get_route_table(ctx: Ctx, table_id: str) -> RouteTable:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return get_owned(ctx, uow.route_tables, "RouteTable", table_id)
