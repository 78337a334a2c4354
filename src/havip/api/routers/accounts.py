"""Routes of accounts, API keys and quotas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import accounts as svc

router = APIRouter(prefix="/v1", tags=["accounts"], responses=ERROR_RESPONSES)


@router.get("/accounts", response_model=c.ListOf[c.Account], summary="List accounts")
def list_accounts(ctx: CtxDep, page: PageDep) -> c.ListOf[c.Account]:
    items, total = svc.list_accounts(ctx, page)
    return views.many(c.Account, items, total, page)


@router.post("/accounts", status_code=201, response_model=c.AccountCreated, summary="Create an account (operator)")
def create_account(ctx: CtxDep, body: c.AccountCreate) -> c.AccountCreated:
    account, key = svc.create_account(ctx, body.name)
    return c.AccountCreated(account=views.one(c.Account, account), key=views.issued_key(key))


@router.get("/accounts/{account_id}", response_model=c.Account, summary="Show an account")
def get_account(ctx: CtxDep, account_id: str) -> c.Account:
    return views.one(c.Account, svc.get_account(ctx, account_id))


@router.post(
    "/accounts/{account_id}/keys",
    status_code=201,
    response_model=c.IssuedKey,
    summary="Issue another tenant key for an account (operator)",
)
def create_key(ctx: CtxDep, account_id: str, body: c.KeyCreate) -> c.IssuedKey:
    return views.issued_key(svc.create_account_key(ctx, account_id, body.description))


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key (operator)")
def revoke_key(ctx: CtxDep, key_id: str) -> None:
    svc.revoke_key(ctx, key_id)


@router.get("/quotas", response_model=c.QuotaList, tags=["quotas"], summary="Show an account's quotas and usage")
def list_quotas(ctx: CtxDep, account_id: Annotated[str | None, Query()] = None) -> c.QuotaList:
    return c.QuotaList(items=[views.quota(q) for q in svc.list_quotas(ctx, account_id)])


@router.put(
    "/quotas/{account_id}/{name}", response_model=c.Quota, tags=["quotas"], summary="Set one quota of an account"
)
def set_quota(ctx: CtxDep, account_id: str, name: str, body: c.QuotaSet) -> c.Quota:
    return views.quota(svc.set_quota(ctx, account_id, name, body.value))
