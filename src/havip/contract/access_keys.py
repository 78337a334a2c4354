"""Wire schemas of AccessKeys, the credentials of the Alibaba and Tencent API facades."""

from __future__ import annotations

from pydantic import Field

from havip.contract.common import Request, Resource, UtcDatetime


class AccessKeyCreate(Request):
    account_id: str | None = Field(None, description="the account (operator only; a tenant's own otherwise)")
    description: str = ""


class AccessKey(Resource):
    """An AccessKey as listed: never with its secret."""

    id: str = Field(description="the AccessKey ID (Alibaba AccessKeyId, Tencent SecretId)")
    account_id: str
    description: str
    created_at: UtcDatetime


class IssuedAccessKey(AccessKey):
    """A new AccessKey with its secret, shown only this once."""

    secret: str = Field(description="the AccessKey secret (Alibaba AccessKeySecret, Tencent SecretKey)")


__all__ = ["AccessKey", "AccessKeyCreate", "IssuedAccessKey"]
