"""Routes of instances and network interfaces (ENIs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.domain import model as m
from havip.service import compute as svc
from havip.service.context import Ctx, Page

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

AccountQ = Annotated[str | None, Query(description="only this account's (operator); a tenant sees only its own")]
IdQ = Annotated[str | None, Query()]

INTERFACES_OF_INSTANCE = Page(limit=Page.MAX_LIMIT)

# ---------------------------------------------------------------- instances


def _instance_with_interfaces(ctx: Ctx, inst: m.Instance) -> c.Instance:
    enis, _ = svc.list_interfaces(ctx, INTERFACES_OF_INSTANCE, instance_id=inst.id)
    return views.instance(inst, enis)


@router.get("/instances", response_model=c.ListOf[c.Instance], tags=["instances"], summary="List instances")
def list_instances(
    ctx: CtxDep, page: PageDep, account_id: AccountQ = None, vpc_id: IdQ = None, subnet_id: IdQ = None
) -> c.ListOf[c.Instance]:
    items, total = svc.list_instances(ctx, page, account_id=account_id, subnet_id=subnet_id, vpc_id=vpc_id)
    return c.ListOf[c.Instance](
        items=[views.instance(i, enis) for i, enis in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/instances",
    status_code=201,
    response_model=c.Instance,
    tags=["instances"],
    summary="Create an instance with its primary network interface",
)
def create_instance(ctx: CtxDep, body: c.InstanceCreate) -> c.Instance:
    inst, eni = svc.create_instance(
        ctx,
        subnet_id=body.subnet_id,
        primary_ip=body.primary_ip,
        mac=body.mac,
        placement=svc.Placement(host=body.host, device=body.device),
        name=body.name,
        client_token=body.client_token,
    )
    return views.instance(inst, [eni])


@router.get("/instances/{instance_id}", response_model=c.Instance, tags=["instances"], summary="Show an instance")
def get_instance(ctx: CtxDep, instance_id: str) -> c.Instance:
    inst, enis = svc.get_instance(ctx, instance_id)
    return views.instance(inst, enis)


@router.patch("/instances/{instance_id}", response_model=c.Instance, tags=["instances"], summary="Rename an instance")
def update_instance(ctx: CtxDep, instance_id: str, body: c.InstanceUpdate) -> c.Instance:
    return _instance_with_interfaces(ctx, svc.update_instance(ctx, instance_id, name=body.name))


@router.delete(
    "/instances/{instance_id}",
    status_code=204,
    tags=["instances"],
    summary="Delete an instance and its primary network interface",
)
def delete_instance(ctx: CtxDep, instance_id: str) -> None:
    svc.delete_instance(ctx, instance_id)


# ---------------------------------------------------------------- network interfaces

ENI_TAG = "network-interfaces"


@router.get(
    "/network-interfaces",
    response_model=c.ListOf[c.NetworkInterface],
    tags=[ENI_TAG],
    summary="List network interfaces",
)
def list_interfaces(
    ctx: CtxDep,
    page: PageDep,
    account_id: AccountQ = None,
    subnet_id: IdQ = None,
    vpc_id: IdQ = None,
    instance_id: IdQ = None,
) -> c.ListOf[c.NetworkInterface]:
    items, total = svc.list_interfaces(
        ctx, page, account_id=account_id, subnet_id=subnet_id, vpc_id=vpc_id, instance_id=instance_id
    )
    return views.many(c.NetworkInterface, items, total, page)


@router.post(
    "/network-interfaces",
    status_code=201,
    response_model=c.NetworkInterface,
    tags=[ENI_TAG],
    summary="Create a network interface",
)
def create_interface(ctx: CtxDep, body: c.NetworkInterfaceCreate) -> c.NetworkInterface:
    eni = svc.create_interface(
        ctx,
        subnet_id=body.subnet_id,
        primary_ip=body.primary_ip,
        secondary_ips=body.secondary_ips,
        mac=body.mac,
        instance_id=body.instance_id,
        placement=svc.Placement(host=body.host, device=body.device),
        name=body.name,
        description=body.description,
        client_token=body.client_token,
    )
    return views.one(c.NetworkInterface, eni)


@router.get(
    "/network-interfaces/{eni_id}",
    response_model=c.NetworkInterface,
    tags=[ENI_TAG],
    summary="Show a network interface",
)
def get_interface(ctx: CtxDep, eni_id: str) -> c.NetworkInterface:
    return views.one(c.NetworkInterface, svc.get_interface(ctx, eni_id))


@router.patch(
    "/network-interfaces/{eni_id}",
    response_model=c.NetworkInterface,
    tags=[ENI_TAG],
    summary="Change a network interface: name, placement, secondary addresses",
)
def update_interface(ctx: CtxDep, eni_id: str, body: c.NetworkInterfaceUpdate) -> c.NetworkInterface:
    eni = svc.update_interface(
        ctx,
        eni_id,
        name=body.name,
        description=body.description,
        placement=svc.Placement(host=body.host, device=body.device),
        secondary_ips=body.secondary_ips,
    )
    return views.one(c.NetworkInterface, eni)


@router.delete(
    "/network-interfaces/{eni_id}", status_code=204, tags=[ENI_TAG], summary="Delete a secondary network interface"
)
def delete_interface(ctx: CtxDep, eni_id: str) -> None:
    svc.delete_interface(ctx, eni_id)
