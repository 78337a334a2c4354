"""Routes of AccessKeys: the credentials of the Alibaba and Tencent API facades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import access_keys as svc

router = APIRouter(prefix="/v1", tags=["access-keys"], responses=ERROR_RESPONSES)


@router.get("/access-keys", response_model=c.ListOf[c.AccessKey], summary="List AccessKeys (never their secrets)")
def list_access_keys(
    ctx: CtxDep,
    page: PageDep,
    account_id: Annotated[str | None, Query(description="only this account's (operator)")] = None,
) -> c.ListOf[c.AccessKey]:
    items, total = svc.list_access_keys(ctx, page, account_id=account_id)
    return views.many(c.AccessKey, items, total, page)


@router.post(
    "/access-keys",
    status_code=201,
    response_model=c.IssuedAccessKey,
    summary="Issue an AccessKey for the cloud API facades (the secret is shown once)",
)
def create_access_key(ctx: CtxDep, body: c.AccessKeyCreate) -> c.IssuedAccessKey:
    issued = svc.create_access_key(ctx, account_id=body.account_id, description=body.description)
    return views.one(c.IssuedAccessKey, issued.key)


@router.delete("/access-keys/{key_id}", status_code=204, summary="Revoke an AccessKey")
def revoke_access_key(ctx: CtxDep, key_id: str) -> None:
    svc.revoke_access_key(ctx, key_id)
