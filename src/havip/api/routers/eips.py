"""Routes of EIP pools (operator) and EIPs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import eips as svc

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

# ---------------------------------------------------------------- pools


@router.get("/eip-pools", response_model=c.ListOf[c.EipPool], tags=["eip-pools"], summary="List EIP pools")
def list_pools(ctx: CtxDep, page: PageDep) -> c.ListOf[c.EipPool]:
    items, total = svc.list_pools(ctx, page)
    return views.many(c.EipPool, items, total, page)


@router.post(
    "/eip-pools", status_code=201, response_model=c.EipPool, tags=["eip-pools"], summary="Add an EIP pool (operator)"
)
def create_pool(ctx: CtxDep, body: c.EipPoolCreate) -> c.EipPool:
    return views.one(
        c.EipPool,
        svc.create_pool(
            ctx, cidr=body.cidr, name=body.name, region=body.region, documentation_range=body.documentation_range
        ),
    )


@router.delete("/eip-pools/{pool_id}", status_code=204, tags=["eip-pools"], summary="Remove an unused EIP pool")
def delete_pool(ctx: CtxDep, pool_id: str) -> None:
    svc.delete_pool(ctx, pool_id)


# ---------------------------------------------------------------- EIPs


@router.get("/eips", response_model=c.ListOf[c.Eip], tags=["eips"], summary="List EIPs")
def list_eips(
    ctx: CtxDep,
    page: PageDep,
    account_id: Annotated[str | None, Query(description="only this account's (operator)")] = None,
    havip_id: Annotated[str | None, Query()] = None,
) -> c.ListOf[c.Eip]:
    items, total = svc.list_eips(ctx, page, account_id=account_id, havip_id=havip_id)
    return views.many(c.Eip, items, total, page)


@router.post("/eips", status_code=201, response_model=c.Eip, tags=["eips"], summary="Allocate an EIP")
def allocate_eip(ctx: CtxDep, body: c.EipCreate) -> c.Eip:
    eip = svc.allocate(
        ctx,
        region=body.region,
        pool_id=body.pool_id,
        name=body.name,
        account_id=body.account_id,
        client_token=body.client_token,
    )
    return views.one(c.Eip, eip)


@router.get("/eips/{eip_id}", response_model=c.Eip, tags=["eips"], summary="Show an EIP")
def get_eip(ctx: CtxDep, eip_id: str) -> c.Eip:
    return views.one(c.Eip, svc.get_eip(ctx, eip_id))


@router.delete("/eips/{eip_id}", status_code=204, tags=["eips"], summary="Release an unassociated EIP")
def release_eip(ctx: CtxDep, eip_id: str) -> None:
    svc.release(ctx, eip_id)


@router.post(
    "/eips/{eip_id}/associate",
    response_model=c.Eip,
    tags=["eips"],
    summary="Associate an EIP with a HaVip or a network interface",
)
def associate_eip(ctx: CtxDep, eip_id: str, body: c.EipAssociate) -> c.Eip:
    eip = svc.associate(ctx, eip_id, havip_id=body.havip_id, network_interface_id=body.network_interface_id)
    return views.one(c.Eip, eip)


@router.post("/eips/{eip_id}/unassociate", response_model=c.Eip, tags=["eips"], summary="Unassociate an EIP")
def unassociate_eip(ctx: CtxDep, eip_id: str) -> c.Eip:
    return views.one(c.Eip, svc.unassociate(ctx, eip_id))
