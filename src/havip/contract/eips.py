"""Wire schemas of EIP pools and EIPs."""

from __future__ import annotations

from havip.contract.common import Request, Resource, UtcDatetime


class EipPoolCreate(Request):
    cidr: str
    name: str = ""
    region: str | None = None
    documentation_range: bool = False  # allow an RFC 5737 range (labs, tests)


class EipPool(Resource):
    id: str
    region: str
    cidr: str
    name: str
    created_at: UtcDatetime


class EipCreate(Request):
    region: str | None = None
    pool_id: str | None = None
    name: str = ""
    account_id: str | None = None
    client_token: str | None = None


class EipAssociate(Request):
    """Exactly one of the two."""

    havip_id: str | None = None
    network_interface_id: str | None = None


class Eip(Resource):
    id: str
    account_id: str
    region: str
    pool_id: str
    ip: str
    name: str
    havip_id: str | None
    network_interface_id: str | None
    created_at: UtcDatetime
