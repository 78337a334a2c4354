"""Routes of VPCs, subnets, route tables and route entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import network as svc
from havip.service import routes as route_svc
from havip.service.context import Page

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

AccountQ = Annotated[str | None, Query(description="only this account's (operator); a tenant sees only its own")]
VpcQ = Annotated[str | None, Query()]

ENTRIES_OF_TABLE = Page(limit=Page.MAX_LIMIT)
"""A table's entries are few (HaVip routes are quota-limited); show up to the list maximum."""

# ---------------------------------------------------------------- VPCs


@router.get("/vpcs", response_model=c.ListOf[c.Vpc], tags=["vpcs"], summary="List VPCs")
def list_vpcs(
    ctx: CtxDep, page: PageDep, account_id: AccountQ = None, region: Annotated[str | None, Query()] = None
) -> c.ListOf[c.Vpc]:
    items, total = svc.list_vpcs(ctx, page, account_id=account_id, region=region)
    return views.many(c.Vpc, items, total, page)


@router.post("/vpcs", status_code=201, response_model=c.Vpc, tags=["vpcs"], summary="Create a VPC")
def create_vpc(ctx: CtxDep, body: c.VpcCreate) -> c.Vpc:
    vpc = svc.create_vpc(
        ctx,
        cidr=body.cidr,
        name=body.name,
        description=body.description,
        region=body.region,
        account_id=body.account_id,
        client_token=body.client_token,
    )
    return views.one(c.Vpc, vpc)


@router.get("/vpcs/{vpc_id}", response_model=c.Vpc, tags=["vpcs"], summary="Show a VPC")
def get_vpc(ctx: CtxDep, vpc_id: str) -> c.Vpc:
    return views.one(c.Vpc, svc.get_vpc(ctx, vpc_id))


@router.patch("/vpcs/{vpc_id}", response_model=c.Vpc, tags=["vpcs"], summary="Rename or describe a VPC")
def update_vpc(ctx: CtxDep, vpc_id: str, body: c.VpcUpdate) -> c.Vpc:
    return views.one(c.Vpc, svc.update_vpc(ctx, vpc_id, name=body.name, description=body.description))


@router.delete("/vpcs/{vpc_id}", status_code=204, tags=["vpcs"], summary="Delete an empty VPC")
def delete_vpc(ctx: CtxDep, vpc_id: str) -> None:
    svc.delete_vpc(ctx, vpc_id)


# ---------------------------------------------------------------- subnets


@router.get("/subnets", response_model=c.ListOf[c.Subnet], tags=["subnets"], summary="List subnets")
def list_subnets(ctx: CtxDep, page: PageDep, account_id: AccountQ = None, vpc_id: VpcQ = None) -> c.ListOf[c.Subnet]:
    items, total = svc.list_subnets(ctx, page, account_id=account_id, vpc_id=vpc_id)
    return views.many(c.Subnet, items, total, page)


@router.post("/subnets", status_code=201, response_model=c.Subnet, tags=["subnets"], summary="Create a subnet")
def create_subnet(ctx: CtxDep, body: c.SubnetCreate) -> c.Subnet:
    subnet = svc.create_subnet(
        ctx,
        vpc_id=body.vpc_id,
        cidr=body.cidr,
        name=body.name,
        description=body.description,
        zone=body.zone,
        client_token=body.client_token,
    )
    return views.one(c.Subnet, subnet)


@router.get("/subnets/{subnet_id}", response_model=c.Subnet, tags=["subnets"], summary="Show a subnet")
def get_subnet(ctx: CtxDep, subnet_id: str) -> c.Subnet:
    return views.one(c.Subnet, svc.get_subnet(ctx, subnet_id))


@router.patch("/subnets/{subnet_id}", response_model=c.Subnet, tags=["subnets"], summary="Rename or describe a subnet")
def update_subnet(ctx: CtxDep, subnet_id: str, body: c.SubnetUpdate) -> c.Subnet:
    return views.one(c.Subnet, svc.update_subnet(ctx, subnet_id, name=body.name, description=body.description))


@router.delete("/subnets/{subnet_id}", status_code=204, tags=["subnets"], summary="Delete an empty subnet")
def delete_subnet(ctx: CtxDep, subnet_id: str) -> None:
    svc.delete_subnet(ctx, subnet_id)


# ---------------------------------------------------------------- route tables


@router.get("/route-tables", response_model=c.ListOf[c.RouteTable], tags=["route-tables"], summary="List route tables")
def list_route_tables(
    ctx: CtxDep, page: PageDep, account_id: AccountQ = None, vpc_id: VpcQ = None
) -> c.ListOf[c.RouteTable]:
    items, total = svc.list_route_tables(ctx, page, account_id=account_id, vpc_id=vpc_id)
    return views.many(c.RouteTable, items, total, page)


@router.get(
    "/route-tables/{table_id}",
    response_model=c.RouteTableDetail,
    tags=["route-tables"],
    summary="Show a route table with its entries",
)
def get_route_table(ctx: CtxDep, table_id: str) -> c.RouteTableDetail:
    table = svc.get_route_table(ctx, table_id)
    entries, _ = route_svc.list_entries(ctx, ENTRIES_OF_TABLE, route_table_id=table.id)
    return views.route_table(table, entries)


@router.get(
    "/route-tables/{table_id}/entries",
    response_model=c.ListOf[c.RouteEntry],
    tags=["route-tables"],
    summary="List a route table's entries",
)
def list_entries(ctx: CtxDep, page: PageDep, table_id: str) -> c.ListOf[c.RouteEntry]:
    table = svc.get_route_table(ctx, table_id)
    items, total = route_svc.list_entries(ctx, page, route_table_id=table.id)
    return views.many(c.RouteEntry, items, total, page)


@router.post(
    "/route-tables/{table_id}/entries",
    status_code=201,
    response_model=c.RouteEntry,
    tags=["route-tables"],
    summary="Add a route entry",
)
def create_entry(ctx: CtxDep, table_id: str, body: c.RouteEntryCreate) -> c.RouteEntry:
    entry = route_svc.create_entry(
        ctx,
        route_table_id=table_id,
        destination=body.destination,
        next_hop_type=body.next_hop_type,
        next_hop_id=body.next_hop_id,
        name=body.name,
        description=body.description,
        client_token=body.client_token,
    )
    return views.one(c.RouteEntry, entry)


@router.delete(
    "/route-tables/{table_id}/entries/{entry_id}",
    status_code=204,
    tags=["route-tables"],
    summary="Delete a route entry",
)
def delete_entry(ctx: CtxDep, table_id: str, entry_id: str) -> None:
    route_svc.delete_entry(ctx, entry_id, route_table_id=table_id)
