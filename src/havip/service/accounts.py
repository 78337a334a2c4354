"""Accounts, credentials and quotas.

``bootstrap`` makes a fresh store usable with zero set-up: an operator key and a
default account with a tenant key. Secrets are returned once and stored only as
SHA-256 hashes (they are 256-bit random tokens, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from havip.domain import ids, quotas, rules
from havip.domain.errors import Conflict, InvalidParameter, NotFound, Unauthenticated
from havip.domain.model import Account, ApiKey, QuotaOverride, Role
from havip.service.context import Ctx, Page, Principal, require_operator, require_tenant_or_operator
from havip.service.ports import UnitOfWork, UnitOfWorkFactory

DEFAULT_ACCOUNT_NAME = "default"


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once


@dataclass(frozen=True)
class QuotaView:
    name: str
    description: str
    default: int
    value: int
    used: int | None  # usage where it is one number per account


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(
    uow: UnitOfWork, role: Role, account_id: str | None = None, host_id: str | None = None, description: str = ""
) -> IssuedKey:
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=ids.new_id("key"),
        role=role,
        secret_hash=_hash(secret),
        account_id=account_id,
        host_id=host_id,
        description=description,
    )
    uow.api_keys.add(key)
    return IssuedKey(key, f"{key.id}.{secret}")


def authenticate(uow_factory: UnitOfWorkFactory, token: str) -> Principal:
    key_id, _, secret = token.partition(".")
    if not secret:
        raise Unauthenticated(
            "the API key is malformed; expected '<key id>.<secret>'", code="Unauthenticated.Malformed"
        )
    with uow_factory() as uow:
        key = uow.api_keys.get(key_id)
        if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
            raise Unauthenticated("the API key is unknown, revoked or wrong", code="Unauthenticated.InvalidKey")
        return Principal(role=key.role, key_id=key.id, account_id=key.account_id, host_id=key.host_id)


@dataclass(frozen=True)
class Bootstrap:
    operator_token: str | None
    account: Account
    tenant_token: str | None


def bootstrap(uow_factory: UnitOfWorkFactory) -> Bootstrap:
    """Create the operator key and the default account if the store has none yet.

    Tokens are ``None`` when they already existed (their secrets cannot be recovered).
    """
    with uow_factory(write=True) as uow:
        op_token = None
        if not uow.api_keys.count(role=Role.OPERATOR):
            op_token = issue_key(uow, Role.OPERATOR, description="local operator key (bootstrap)").token
        found = uow.accounts.find(name=DEFAULT_ACCOUNT_NAME, limit=1)
        tenant_token = None
        if found:
            account = found[0]
        else:
            account = Account(id=ids.new_id("account"), name=DEFAULT_ACCOUNT_NAME)
            uow.accounts.add(account)
            tenant_token = issue_key(uow, Role.TENANT, account.id, description="default account key").token
        uow.commit()
        return Bootstrap(op_token, account, tenant_token)


def create_account(ctx: Ctx, name: str) -> tuple[Account, IssuedKey]:
    require_operator(ctx)
    rules.check_name(name, "account name")
    with ctx.uow(write=True) as uow:
        if uow.accounts.count(name=name):
            raise Conflict(f"an account named {name!r} already exists", code="InvalidName.Duplicate")
        account = Account(id=ids.new_id("account"), name=name, created_at=ctx.now())
        uow.accounts.add(account)
        key = issue_key(uow, Role.TENANT, account.id, description=f"first key of {name}")
        uow.commit()
        return account, key


def list_accounts(ctx: Ctx, page: Page) -> tuple[list[Account], int]:
    require_tenant_or_operator(ctx)
    filters: dict[str, Any] = {} if ctx.principal.is_operator else {"id": ctx.principal.account_id}
    with ctx.uow() as uow:
        return uow.accounts.find(limit=page.limit, offset=page.offset, **filters), uow.accounts.count(**filters)


def get_account(ctx: Ctx, account_id: str) -> Account:
    require_tenant_or_operator(ctx)
    if not ctx.principal.is_operator and account_id != ctx.principal.account_id:
        raise NotFound("Account", account_id)
    with ctx.uow() as uow:
        account = uow.accounts.get(account_id)
        if account is None:
            raise NotFound("Account", account_id)
        return account


def create_account_key(ctx: Ctx, account_id: str, description: str = "") -> IssuedKey:
    require_operator(ctx)
    rules.check_description(description)
    with ctx.uow(write=True) as uow:
        if uow.accounts.get(account_id) is None:
            raise NotFound("Account", account_id)
        issued = issue_key(uow, Role.TENANT, account_id, description=description)
        uow.commit()
        return issued


def revoke_key(ctx: Ctx, key_id: str) -> None:
    require_operator(ctx)
    with ctx.uow(write=True) as uow:
        key = uow.api_keys.get(key_id)
        if key is None:
            raise NotFound("ApiKey", key_id)
        if key.id == ctx.principal.key_id:
            raise Conflict("an operator cannot revoke the key it is using", code="Conflict.OwnKey")
        uow.api_keys.remove(key)
        uow.commit()


def quota_limits(uow: UnitOfWork, account_id: str) -> dict[str, int]:
    return {o.name: o.value for o in uow.quota_overrides.find(account_id=account_id, order_by="name")}


def limit_of(uow: UnitOfWork, account_id: str, quota: quotas.Quota) -> int:
    return quotas.effective(quota, quota_limits(uow, account_id))


def list_quotas(ctx: Ctx, account_id: str | None = None) -> list[QuotaView]:
    require_tenant_or_operator(ctx)
    acc = account_id or ctx.principal.account_id
    if acc is None:
        raise InvalidParameter("name the account whose quotas to show", code="MissingParameter.AccountId")
    if not ctx.principal.is_operator and acc != ctx.principal.account_id:
        raise NotFound("Account", acc)
    with ctx.uow() as uow:
        if uow.accounts.get(acc) is None:
            raise NotFound("Account", acc)
        overrides = quota_limits(uow, acc)
        used = {quotas.Quota.HAVIPS_PER_ACCOUNT: uow.havips.count(account_id=acc)}
        return [
            QuotaView(q.value, spec.description, spec.default, quotas.effective(q, overrides), used.get(q))
            for q, spec in quotas.SPECS.items()
        ]


def set_quota(ctx: Ctx, account_id: str, name: str, value: int) -> QuotaView:
    require_operator(ctx)
    quota = quotas.parse_quota(name)
    quotas.check_value(value)
    with ctx.uow(write=True) as uow:
        if uow.accounts.get(account_id) is None:
            raise NotFound("Account", account_id)
        found = uow.quota_overrides.find(account_id=account_id, name=quota.value, limit=1)
        if found:
            found[0].value = value
        else:
            uow.quota_overrides.add(QuotaOverride(ids.new_id("quota"), account_id, quota.value, value))
        uow.commit()
    spec = quotas.SPECS[quota]
    return QuotaView(quota.value, spec.description, spec.default, value, None)
