"""Tencent VPC actions on VPCs, subnets, route tables and routes (a HaVip as next hop).

Enough of the VPC API for a script or Terraform to set up a HaVip from nothing.
Route tables are the VPCs' main tables; their routes are havip's route entries, with
``RouteItemId`` = the entry's ID and a stable integer ``RouteId`` derived from it.
``CreateRoutes`` takes ``GatewayType=HAVIP`` only; the routes of one request are
added in order and the first refusal stops the rest.
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.call import Call
from havip.api.compat.tencent.common import check_name, filters, paging, route_number, tc_time
from havip.api.compat.wire import Args
from havip.domain.errors import InvalidParameter, NotFound
from havip.domain.model import NextHopType, RouteEntry, RouteTable, Subnet, Vpc
from havip.service import lookups, network, routes
from havip.service.context import Ctx, Page

ALL = Page(limit=Page.MAX_LIMIT)
GATEWAY_TYPE = {NextHopType.HAVIP: "HAVIP", NextHopType.INSTANCE: "NORMAL_CVM", NextHopType.NETWORK_INTERFACE: "ENI"}

# ---------------------------------------------------------------- VPCs


def vpc_shape(vpc: Vpc) -> dict[str, Any]:
    return {
        "VpcId": vpc.id,
        "VpcName": vpc.name,
        "CidrBlock": vpc.cidr,
        "IsDefault": False,
        "EnableMulticast": False,
        "CreatedTime": tc_time(vpc.created_at),
        "DnsServerSet": [],
        "DomainName": "",
        "DhcpOptionsId": "",
        "EnableDhcp": True,
        "Ipv6CidrBlock": "",
        "TagSet": [],
        "AssistantCidrSet": [],
    }


def create_vpc(call: Call) -> dict[str, Any]:
    a = call.args
    vpc = network.create_vpc(
        call.ctx,
        cidr=a.need("CidrBlock"),
        name=check_name("VpcName", a.need("VpcName")) or "",
        region=call.region,
    )
    return {"Vpc": vpc_shape(vpc)}


def describe_vpcs(call: Call) -> dict[str, Any]:
    f = filters(call, {"vpc-id", "vpc-name", "cidr-block", "is-default"}, ids_param="VpcIds")
    if any(v.lower() == "true" for v in f.get("is-default", [])):  # havip has no default VPCs
        return {"TotalCount": 0, "VpcSet": []}
    vpcs, total = lookups.vpcs(
        call.ctx,
        paging(call),
        region=call.region,
        ids=call.args.strings("VpcIds") or f.get("vpc-id", []),
        names=f.get("vpc-name", []),
        cidrs=f.get("cidr-block", []),
    )
    return {"TotalCount": total, "VpcSet": [vpc_shape(v) for v in vpcs]}


def delete_vpc(call: Call) -> dict[str, Any]:
    network.delete_vpc(call.ctx, call.args.need("VpcId"))
    return {}


# ---------------------------------------------------------------- subnets


def subnet_shape(subnet: Subnet, counts: tuple[int, int], table_id: str) -> dict[str, Any]:
    return {
        "VpcId": subnet.vpc_id,
        "SubnetId": subnet.id,
        "SubnetName": subnet.name,
        "CidrBlock": subnet.cidr,
        "IsDefault": False,
        "EnableBroadcast": False,
        "Zone": subnet.zone,
        "RouteTableId": table_id,
        "CreatedTime": tc_time(subnet.created_at),
        "AvailableIpAddressCount": counts[1],
        "TotalIpAddressCount": counts[0],
        "Ipv6CidrBlock": "",
        "NetworkAclId": "",
        "IsRemoteVpcSnat": False,
        "TagSet": [],
        "CdcId": "",
        "IsCdcSubnet": 0,
    }


def _subnet_shapes(ctx: Ctx, subnets: list[Subnet]) -> list[dict[str, Any]]:
    counts = lookups.address_counts(ctx, subnets)
    tables, _ = lookups.route_tables(ctx, ALL, vpc_ids=sorted({s.vpc_id for s in subnets}))
    table_of = {t.vpc_id: t.id for t in tables}
    return [subnet_shape(s, counts[s.id], table_of.get(s.vpc_id, "")) for s in subnets]


def create_subnet(call: Call) -> dict[str, Any]:
    a = call.args
    subnet = network.create_subnet(
        call.ctx,
        vpc_id=a.need("VpcId"),
        cidr=a.need("CidrBlock"),
        name=check_name("SubnetName", a.need("SubnetName")) or "",
        zone=a.need("Zone"),
    )
    return {"Subnet": _subnet_shapes(call.ctx, [subnet])[0]}


def describe_subnets(call: Call) -> dict[str, Any]:
    f = filters(call, {"subnet-id", "vpc-id", "subnet-name", "zone", "cidr-block"}, ids_param="SubnetIds")
    subnets, total = lookups.subnets(
        call.ctx,
        paging(call),
        region=call.region,
        ids=call.args.strings("SubnetIds") or f.get("subnet-id", []),
        vpc_ids=f.get("vpc-id", []),
        zones=f.get("zone", []),
        names=f.get("subnet-name", []),
        cidrs=f.get("cidr-block", []),
    )
    return {"TotalCount": total, "SubnetSet": _subnet_shapes(call.ctx, subnets)}


def delete_subnet(call: Call) -> dict[str, Any]:
    network.delete_subnet(call.ctx, call.args.need("SubnetId"))
    return {}


# ---------------------------------------------------------------- route tables and routes


def route_shape(entry: RouteEntry) -> dict[str, Any]:
    return {
        "DestinationCidrBlock": entry.destination,
        "GatewayType": GATEWAY_TYPE[entry.next_hop_type],
        "GatewayId": entry.next_hop_id,
        "RouteId": route_number(entry.id),
        "RouteItemId": entry.id,
        "RouteDescription": entry.description,
        "Enabled": True,
        "RouteType": "USER",
        "RouteTableId": entry.route_table_id,
        "DestinationIpv6CidrBlock": "",
        "PublishedToVbc": False,
        "CreatedTime": tc_time(entry.created_at),
    }


def _table_shapes(ctx: Ctx, tables: list[RouteTable]) -> list[dict[str, Any]]:
    entries, _ = lookups.route_entries(ctx, table_ids=[t.id for t in tables] or lookups.NOTHING)
    subnets, _ = lookups.subnets(ctx, ALL, vpc_ids=[t.vpc_id for t in tables] or lookups.NOTHING)
    return [
        {
            "VpcId": t.vpc_id,
            "RouteTableId": t.id,
            "RouteTableName": t.name,
            "AssociationSet": [{"SubnetId": s.id, "RouteTableId": t.id} for s in subnets if s.vpc_id == t.vpc_id],
            "RouteSet": [route_shape(e) for e in entries if e.route_table_id == t.id],
            "Main": t.system,
            "CreatedTime": tc_time(t.created_at),
            "TagSet": [],
            "LocalCidrForCcn": [],
        }
        for t in tables
    ]


def describe_route_tables(call: Call) -> dict[str, Any]:
    f = filters(call, {"route-table-id", "vpc-id", "association.main"}, ids_param="RouteTableIds")
    if any(v.lower() == "false" for v in f.get("association.main", [])):  # only main tables here
        return {"TotalCount": 0, "RouteTableSet": []}
    tables, total = lookups.route_tables(
        call.ctx,
        paging(call),
        region=call.region,
        ids=call.args.strings("RouteTableIds") or f.get("route-table-id", []),
        vpc_ids=f.get("vpc-id", []),
    )
    return {"TotalCount": total, "RouteTableSet": _table_shapes(call.ctx, tables)}


def _routes(call: Call) -> tuple[str, list[Args]]:
    routes_ = call.args.objects("Routes", limit=100)
    if not routes_:
        raise InvalidParameter("Routes is required", code="MissingParameter.Routes")
    return call.args.need("RouteTableId"), routes_


def create_routes(call: Call) -> dict[str, Any]:
    table_id, items = _routes(call)
    for item in items:
        if item.need("GatewayType") != "HAVIP":
            raise InvalidParameter(
                f"GatewayType {item.text('GatewayType')!r} is not supported here; use HAVIP",
                code="InvalidParameter.NextHopType",
            )
    for item in items:
        routes.create_entry(
            call.ctx,
            route_table_id=table_id,
            destination=item.need("DestinationCidrBlock"),
            next_hop_type=NextHopType.HAVIP,
            next_hop_id=item.need("GatewayId"),
            description=item.text("RouteDescription", "") or "",
        )
    table = network.get_route_table(call.ctx, table_id)
    return {"TotalCount": 1, "RouteTableSet": _table_shapes(call.ctx, [table])}


def delete_routes(call: Call) -> dict[str, Any]:
    """Routes named by RouteItemId, RouteId, or DestinationCidrBlock (and GatewayId)."""
    table_id, items = _routes(call)
    entries, _ = lookups.route_entries(call.ctx, table_ids=[table_id])
    chosen: list[RouteEntry] = []
    for item in items:
        item_id, number = item.text("RouteItemId"), item.integer("RouteId", 0, 0, 2**53)
        destination, gateway = item.text("DestinationCidrBlock"), item.text("GatewayId")
        match = [
            e
            for e in entries
            if (item_id and e.id == item_id)
            or (number and route_number(e.id) == number)
            or (not item_id and not number and destination == e.destination and gateway in (None, e.next_hop_id))
        ]
        if not match:
            raise NotFound("RouteEntry", item_id or str(number or destination))
        chosen.extend(match)
    for entry in chosen:
        routes.delete_entry(call.ctx, entry.id, route_table_id=table_id)
    return {"RouteSet": [route_shape(e) for e in chosen]}
