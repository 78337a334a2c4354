"""AccessKeys: the credentials of the cloud API facades (Alibaba and Tencent).

An AccessKey is an ID and a secret of one account; the official SDKs, Terraform and
scripts sign every request with the secret (HMAC), and the facades check the
signature with the same secret, so the secret is stored as issued
(docs/adr/0003-access-key-secrets.md). It is returned once, by ``create_access_key``.

Who may: a tenant manages its own account's keys; the operator those of any account
(naming it); agents none. Another account's key answers NotFound. ``signing_key``
is what the facades call before they trust a request: the secret to verify with and
the tenant principal the request then acts as, exactly as a tenant API key would.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from havip.domain import ids, rules
from havip.domain.errors import NotFound, Unauthenticated
from havip.domain.model import AccessKey, Role
from havip.service.context import Ctx, Page, Principal, acting_account, get_owned, scope_filters
from havip.service.ports import UnitOfWorkFactory

SECRET_LENGTH = 30
_SECRET_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class IssuedAccessKey:
    key: AccessKey
    secret: str  # shown once


@dataclass(frozen=True)
class SigningKey:
    """What a facade needs to check one request: the secret, and who the signer is."""

    secret: str
    principal: Principal


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def create_access_key(ctx: Ctx, *, account_id: str | None = None, description: str = "") -> IssuedAccessKey:
    acc = acting_account(ctx, account_id)
    rules.check_description(description)
    with ctx.uow(write=True) as uow:
        if uow.accounts.get(acc) is None:
            raise NotFound("Account", acc)
        key = AccessKey(ids.new_id("access_key"), acc, new_secret(), description, ctx.now())
        uow.access_keys.add(key)
        uow.commit()
        return IssuedAccessKey(key, key.secret)


def list_access_keys(ctx: Ctx, page: Page, account_id: str | None = None) -> tuple[list[AccessKey], int]:
    f = scope_filters(ctx, account_id)
    with ctx.uow() as uow:
        return uow.access_keys.find(limit=page.limit, offset=page.offset, **f), uow.access_keys.count(**f)


def revoke_access_key(ctx: Ctx, key_id: str) -> None:
    """Delete the key: requests signed with it fail from the next one on."""
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        key = get_owned(ctx, uow.access_keys, "AccessKey", key_id)
        uow.access_keys.remove(key)
        uow.commit()


def signing_key(uow_factory: UnitOfWorkFactory, access_key_id: str) -> SigningKey:
    """The secret of an AccessKey and the tenant it signs for; unknown or revoked keys are refused."""
    with uow_factory() as uow:
        key = uow.access_keys.get(access_key_id) if access_key_id else None
        if key is None:
            raise Unauthenticated(
                f"the AccessKey ID {access_key_id!r} is unknown or revoked", code="Unauthenticated.UnknownAccessKey"
            )
        return SigningKey(key.secret, Principal(role=Role.TENANT, key_id=key.id, account_id=key.account_id))
