"""Alibaba VPC actions on VPCs, vSwitches, route tables and route entries.

Each handler reads its parameters, calls the use cases the native API calls, and
shapes the answer with the keys the SDK's models read. A VPC's vRouter is the VPC
itself (``common.vrouter_id``); route tables and entries are havip's, with the
custom entries only (the system routes of a VPC are implicit here).
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.alibaba.common import (
    NEXT_HOP_NAME,
    iso,
    listed,
    next_hop,
    no_tags,
    paging,
    vpc_of_vrouter,
    vrouter_id,
)
from havip.api.compat.call import Call
from havip.domain.errors import InvalidParameter, NotFound
from havip.domain.model import RouteEntry, RouteTable, Subnet, Vpc
from havip.service import lookups, network, routes
from havip.service.context import Ctx, Page

DEFAULT_VPC_CIDR = "172.16.0.0/12"  # Alibaba's default when CidrBlock is not given
ALL = Page(limit=Page.MAX_LIMIT)


def _one(value: str | None) -> list[str]:
    return [value] if value is not None else []


# ---------------------------------------------------------------- VPCs


def create_vpc(call: Call) -> dict[str, Any]:
    a = call.args
    vpc = network.create_vpc(
        call.ctx,
        cidr=a.text("CidrBlock", DEFAULT_VPC_CIDR) or DEFAULT_VPC_CIDR,
        name=a.text("VpcName", "") or "",
        description=a.text("Description", "") or "",
        region=call.region,
        client_token=a.text("ClientToken"),
    )
    tables, _ = lookups.route_tables(call.ctx, ALL, vpc_ids=[vpc.id])
    return {
        "VpcId": vpc.id,
        "VRouterId": vrouter_id(vpc.id),
        "RouteTableId": tables[0].id if tables else "",
        "ResourceGroupId": "",
    }


def _vpc(ctx: Ctx, vpc: Vpc) -> dict[str, Any]:
    subnets, _ = lookups.subnets(ctx, ALL, vpc_ids=[vpc.id])
    tables, _ = lookups.route_tables(ctx, ALL, vpc_ids=[vpc.id])
    return {
        "VpcId": vpc.id,
        "RegionId": vpc.region,
        "Status": "Available",
        "VpcName": vpc.name,
        "CreationTime": iso(vpc.created_at),
        "CidrBlock": vpc.cidr,
        "VRouterId": vrouter_id(vpc.id),
        "Description": vpc.description,
        "IsDefault": False,
        "VSwitchIds": {"VSwitchId": [s.id for s in subnets]},
        "RouterTableIds": {"RouterTableIds": [t.id for t in tables]},
        "UserCidrs": {"UserCidr": []},
        "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "NatGatewayIds": {"NatGatewayIds": []},
        "EnabledIpv6": False,
        "Ipv6CidrBlock": "",
        "ResourceGroupId": "",
        "Tags": no_tags(),
    }


def describe_vpcs(call: Call) -> dict[str, Any]:
    a = call.args
    page, number, size = paging(a)
    if a.boolean("IsDefault", False):  # havip has no default VPCs
        return listed(0, number, size, "Vpcs", "Vpc", [])
    vpcs, total = lookups.vpcs(
        call.ctx, page, region=call.region, ids=a.strings("VpcId", limit=20), names=_one(a.text("VpcName"))
    )
    return listed(total, number, size, "Vpcs", "Vpc", [_vpc(call.ctx, v) for v in vpcs])


def delete_vpc(call: Call) -> dict[str, Any]:
    network.delete_vpc(call.ctx, call.args.need("VpcId"))
    return {}


# ---------------------------------------------------------------- vSwitches


def create_vswitch(call: Call) -> dict[str, Any]:
    a = call.args
    subnet = network.create_subnet(
        call.ctx,
        vpc_id=a.need("VpcId"),
        cidr=a.need("CidrBlock"),
        name=a.text("VSwitchName", "") or "",
        description=a.text("Description", "") or "",
        zone=a.text("ZoneId", "") or "",
        client_token=a.text("ClientToken"),
    )
    return {"VSwitchId": subnet.id}


def _vswitch(subnet: Subnet, free: int, table: RouteTable | None) -> dict[str, Any]:
    return {
        "VSwitchId": subnet.id,
        "VpcId": subnet.vpc_id,
        "Status": "Available",
        "CidrBlock": subnet.cidr,
        "ZoneId": subnet.zone,
        "AvailableIpAddressCount": free,
        "Description": subnet.description,
        "VSwitchName": subnet.name,
        "CreationTime": iso(subnet.created_at),
        "IsDefault": False,
        "ResourceGroupId": "",
        "NetworkAclId": "",
        "EnabledIpv6": False,
        "Ipv6CidrBlock": "",
        "ShareType": "",
        "RouteTable": {"RouteTableId": table.id if table else "", "RouteTableType": "System"},
        "Tags": no_tags(),
    }


def describe_vswitches(call: Call) -> dict[str, Any]:
    a = call.args
    page, number, size = paging(a)
    subnets, total = lookups.subnets(
        call.ctx,
        page,
        region=call.region,
        ids=a.strings("VSwitchId", limit=20),
        vpc_ids=a.strings("VpcId", limit=1),
        zones=_one(a.text("ZoneId")),
        names=_one(a.text("VSwitchName")),
    )
    counts = lookups.address_counts(call.ctx, subnets)
    tables, _ = lookups.route_tables(call.ctx, ALL, vpc_ids=sorted({s.vpc_id for s in subnets}))
    table_of = {t.vpc_id: t for t in tables}
    items = [_vswitch(s, counts[s.id][1], table_of.get(s.vpc_id)) for s in subnets]
    return listed(total, number, size, "VSwitches", "VSwitch", items)


def delete_vswitch(call: Call) -> dict[str, Any]:
    network.delete_subnet(call.ctx, call.args.need("VSwitchId"))
    return {}


# ---------------------------------------------------------------- route tables and entries


def _entry(entry: RouteEntry) -> dict[str, Any]:
    """An entry as DescribeRouteTables shows it."""
    return {
        "RouteTableId": entry.route_table_id,
        "RouteEntryId": entry.id,
        "RouteEntryName": entry.name,
        "Description": entry.description,
        "DestinationCidrBlock": entry.destination,
        "Type": "Custom",
        "Status": "Available",
        "InstanceId": entry.next_hop_id,
        "NextHopType": NEXT_HOP_NAME[entry.next_hop_type],
        "NextHops": {"NextHop": []},
    }


def describe_route_tables(call: Call) -> dict[str, Any]:
    a = call.args
    page, number, size = paging(a)
    router = a.text("VRouterId") or a.text("RouterId")
    table_id = a.text("RouteTableId")
    tables, total = lookups.route_tables(
        call.ctx,
        page,
        region=call.region,
        ids=[table_id] if table_id else [],
        vpc_ids=[vpc_of_vrouter(router)] if router else [],
    )
    entries, _ = lookups.route_entries(call.ctx, table_ids=[t.id for t in tables] or lookups.NOTHING)
    subnets, _ = lookups.subnets(call.ctx, ALL, vpc_ids=[t.vpc_id for t in tables]) if tables else ([], 0)
    items = [
        {
            "RouteTableId": t.id,
            "VRouterId": vrouter_id(t.vpc_id),
            "RouteTableType": "System" if t.system else "Custom",
            "CreationTime": iso(t.created_at),
            "Status": "Available",
            "ResourceGroupId": "",
            "VSwitchIds": {"VSwitchId": [s.id for s in subnets if s.vpc_id == t.vpc_id]},
            "RouteEntrys": {"RouteEntry": [_entry(e) for e in entries if e.route_table_id == t.id]},
        }
        for t in tables
    ]
    return listed(total, number, size, "RouteTables", "RouteTable", items)


def create_route_entry(call: Call) -> dict[str, Any]:
    a = call.args
    if a.has("NextHopList") or a.boolean("DryRun", False):
        raise InvalidParameter(
            "NextHopList (ECMP) and DryRun are not supported here; give NextHopType and NextHopId",
            code="InvalidParameter.Unsupported",
        )
    entry = routes.create_entry(
        call.ctx,
        route_table_id=a.need("RouteTableId"),
        destination=a.need("DestinationCidrBlock"),
        next_hop_type=next_hop(a.need("NextHopType")),
        next_hop_id=a.need("NextHopId"),
        name=a.text("RouteEntryName", "") or "",
        description=a.text("Description", "") or "",
        client_token=a.text("ClientToken"),
    )
    return {"RouteEntryId": entry.id}


def delete_route_entry(call: Call) -> dict[str, Any]:
    """By RouteEntryId, or by RouteTableId and DestinationCidrBlock (and NextHopId)."""
    a = call.args
    entry_id = a.text("RouteEntryId")
    table_id = a.text("RouteTableId")
    if entry_id is None:
        destination = a.need("DestinationCidrBlock")
        found, _ = lookups.route_entries(
            call.ctx,
            table_ids=[a.need("RouteTableId")],
            destination=destination,
            next_hop_id=a.text("NextHopId"),
        )
        if not found:
            raise NotFound("RouteEntry", f"{table_id}/{destination}")
        entry_id = found[0].id
    routes.delete_entry(call.ctx, entry_id, route_table_id=table_id)
    return {}


def _listed_entry(entry: RouteEntry) -> dict[str, Any]:
    """An entry as DescribeRouteEntryList shows it."""
    hop = NEXT_HOP_NAME[entry.next_hop_type]
    return {
        "RouteTableId": entry.route_table_id,
        "RouteEntryId": entry.id,
        "RouteEntryName": entry.name,
        "Description": entry.description,
        "DestinationCidrBlock": entry.destination,
        "Type": "Custom",
        "Status": "Available",
        "IpVersion": "ipv4",
        "Origin": "",
        "GmtModified": iso(entry.created_at),
        "NextHops": {
            "NextHop": [
                {
                    "NextHopType": hop,
                    "NextHopId": entry.next_hop_id,
                    "Enabled": 1,
                    "Weight": 0,
                    "NextHopRegionId": entry.region,
                    "NextHopRelatedInfo": {"InstanceId": "", "InstanceType": "", "RegionId": ""},
                }
            ]
        },
    }


def describe_route_entry_list(call: Call) -> dict[str, Any]:
    a = call.args
    size = a.integer("MaxResult", 50, 1, 100)
    offset = a.integer("NextToken", 0, 0, 10_000_000)
    hop_type = a.text("NextHopType")
    entry_id = a.text("RouteEntryId")
    if a.text("RouteEntryType", "Custom") != "Custom":  # havip keeps the system routes implicit
        return {"RouteEntrys": {"RouteEntry": []}, "NextToken": "", "TotalCount": 0}
    entries, total = lookups.route_entries(
        call.ctx,
        Page(limit=size, offset=offset),
        table_ids=[a.need("RouteTableId")],
        ids=[entry_id] if entry_id else [],
        destination=a.text("DestinationCidrBlock"),
        next_hop_type=next_hop(hop_type) if hop_type else None,
        next_hop_id=a.text("NextHopId"),
    )
    more = offset + len(entries) < total
    return {
        "RouteEntrys": {"RouteEntry": [_listed_entry(e) for e in entries]},
        "NextToken": str(offset + len(entries)) if more else "",
        "TotalCount": total,
    }
