"""Routes of HaVips, their members and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import havips as svc

router = APIRouter(prefix="/v1/havips", tags=["havips"], responses=ERROR_RESPONSES)

StrQ = Annotated[str | None, Query()]


@router.get("", response_model=c.ListOf[c.HaVip], summary="List HaVips")
def list_havips(
    ctx: CtxDep,
    page: PageDep,
    account_id: Annotated[str | None, Query(description="only this account's (operator)")] = None,
    vpc_id: StrQ = None,
    subnet_id: StrQ = None,
    status: Annotated[c.HaVipStatus | None, Query()] = None,
    ip: StrQ = None,
    name: StrQ = None,
) -> c.ListOf[c.HaVip]:
    items, total = svc.list_havips(
        ctx, page, account_id=account_id, vpc_id=vpc_id, subnet_id=subnet_id, status=status, ip=ip, name=name
    )
    return c.ListOf[c.HaVip](items=[views.havip(v) for v in items], total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=c.HaVip, summary="Create a HaVip in a subnet")
def create_havip(ctx: CtxDep, body: c.HaVipCreate) -> c.HaVip:
    v = svc.create_havip(
        ctx,
        subnet_id=body.subnet_id,
        ip=body.ip,
        name=body.name,
        description=body.description,
        binding_mode=body.binding_mode,
        client_token=body.client_token,
    )
    return views.havip(v)


@router.get("/{havip_id}", response_model=c.HaVip, summary="Show a HaVip with its holder, members and EIPs")
def get_havip(ctx: CtxDep, havip_id: str) -> c.HaVip:
    return views.havip(svc.get_havip(ctx, havip_id))


@router.patch("/{havip_id}", response_model=c.HaVip, summary="Change a HaVip's name, description or binding mode")
def update_havip(ctx: CtxDep, havip_id: str, body: c.HaVipUpdate) -> c.HaVip:
    v = svc.update_havip(ctx, havip_id, name=body.name, description=body.description, binding_mode=body.binding_mode)
    return views.havip(v)


@router.delete("/{havip_id}", status_code=204, summary="Delete a HaVip nothing depends on")
def delete_havip(ctx: CtxDep, havip_id: str) -> None:
    svc.delete_havip(ctx, havip_id)


@router.get("/{havip_id}/members", response_model=c.ListOf[c.Member], summary="List a HaVip's members")
def list_members(ctx: CtxDep, page: PageDep, havip_id: str) -> c.ListOf[c.Member]:
    members = svc.get_havip(ctx, havip_id).members
    window = members[page.offset : page.offset + page.limit]
    return views.many(c.Member, window, len(members), page)


@router.post("/{havip_id}/members", response_model=c.HaVip, summary="Associate an instance or a network interface")
def add_member(ctx: CtxDep, havip_id: str, body: c.MemberAdd) -> c.HaVip:
    return views.havip(svc.associate(ctx, havip_id, body.member_type, body.member_id))


@router.delete(
    "/{havip_id}/members/{member_id}",
    response_model=c.HaVip,
    summary="Unassociate a member (force=true to unassociate the current holder)",
)
def remove_member(
    ctx: CtxDep,
    havip_id: str,
    member_id: str,
    force: Annotated[bool, Query(description="also unassociate the member that holds the HaVip")] = False,
) -> c.HaVip:
    return views.havip(svc.unassociate(ctx, havip_id, member_id, force=force))


@router.get("/{havip_id}/events", response_model=c.ListOf[c.Event], summary="A HaVip's history, newest first")
def list_events(
    ctx: CtxDep, page: PageDep, havip_id: str, kind: Annotated[c.EventKind | None, Query()] = None
) -> c.ListOf[c.Event]:
    items, total = svc.list_events(ctx, havip_id, page, kind=kind)
    return views.many(c.Event, items, total, page)
