"""Wire schemas of accounts, API keys and quotas."""

from __future__ import annotations

from pydantic import BaseModel, Field

from havip.contract.common import Request, Resource, UtcDatetime
from havip.domain.model import Role


class AccountCreate(Request):
    name: str


class Account(Resource):
    id: str
    name: str
    created_at: UtcDatetime


class KeyCreate(Request):
    description: str = ""


class IssuedKey(BaseModel):
    """A new credential; ``token`` (``<key id>.<secret>``) is shown only this once."""

    id: str
    token: str


class AccountCreated(BaseModel):
    account: Account
    key: IssuedKey


class Quota(Resource):
    name: str
    description: str
    default: int
    value: int = Field(description="the limit in force for the account")
    used: int | None = Field(description="current usage, where it is one number per account")


class QuotaList(BaseModel):
    items: list[Quota]


class QuotaSet(Request):
    value: int


__all__ = [
    "Account",
    "AccountCreate",
    "AccountCreated",
    "IssuedKey",
    "KeyCreate",
    "Quota",
    "QuotaList",
    "QuotaSet",
    "Role",
]
