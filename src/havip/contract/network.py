"""Wire schemas of VPCs, subnets, route tables and route entries."""

from __future__ import annotations

from pydantic import Field

from havip.contract.common import Request, Resource, UtcDatetime
from havip.domain.model import NextHopType


class VpcCreate(Request):
    cidr: str
    name: str = ""
    description: str = ""
    region: str | None = None
    account_id: str | None = None  # the operator names the account; a tenant may omit it
    client_token: str | None = None


class VpcUpdate(Request):
    name: str | None = None
    description: str | None = None


class Vpc(Resource):
    id: str
    account_id: str
    region: str
    cidr: str
    name: str
    description: str
    created_at: UtcDatetime
    vni: int = Field(description="the VXLAN network identifier its traffic between hosts is carried in")


class SubnetCreate(Request):
    vpc_id: str
    cidr: str
    name: str = ""
    description: str = ""
    zone: str = ""
    client_token: str | None = None


class SubnetUpdate(Request):
    name: str | None = None
    description: str | None = None


class Subnet(Resource):
    id: str
    account_id: str
    region: str
    vpc_id: str
    cidr: str
    name: str
    description: str
    zone: str
    created_at: UtcDatetime


class RouteEntryCreate(Request):
    destination: str
    next_hop_type: NextHopType
    next_hop_id: str
    name: str = ""
    description: str = ""
    client_token: str | None = None


class RouteEntry(Resource):
    id: str
    account_id: str
    region: str
    route_table_id: str
    vpc_id: str
    destination: str
    next_hop_type: NextHopType
    next_hop_id: str
    name: str
    description: str
    created_at: UtcDatetime


class RouteTable(Resource):
    id: str
    account_id: str
    region: str
    vpc_id: str
    name: str
    system: bool
    created_at: UtcDatetime


class RouteTableDetail(RouteTable):
    entries: list[RouteEntry]
