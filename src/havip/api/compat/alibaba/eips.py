"""Alibaba VPC actions on EIPs: Allocate, Describe, Associate/Unassociate (HaVip or ENI), Release.

EIPs come from the operator's EIP pools of the request's region. An EIP associated
with a HaVip (``InstanceType=HaVip``) follows the HaVip's holder. ``EcsInstance``
targets are not served: associate the EIP with the instance's ENI or a HaVip.
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.alibaba.common import iso, listed, no_tags, paging
from havip.api.compat.call import Call
from havip.domain.errors import Conflict, InvalidParameter
from havip.domain.model import Eip
from havip.service import eips, lookups

TARGETS = ("HaVip", "NetworkInterface")
STATUSES = {"Available": False, "InUse": True}


def _target(eip: Eip) -> tuple[str, str]:
    if eip.havip_id:
        return eip.havip_id, "HaVip"
    if eip.network_interface_id:
        return eip.network_interface_id, "NetworkInterface"
    return "", ""


def shape(eip: Eip) -> dict[str, Any]:
    instance_id, instance_type = _target(eip)
    return {
        "AllocationId": eip.id,
        "IpAddress": eip.ip,
        "RegionId": eip.region,
        "Status": "InUse" if eip.associated else "Available",
        "InstanceId": instance_id,
        "InstanceType": instance_type,
        "InstanceRegionId": eip.region if instance_id else "",
        "Name": eip.name,
        "Description": "",
        "AllocationTime": iso(eip.created_at),
        "Bandwidth": "5",
        "InternetChargeType": "PayByTraffic",
        "ChargeType": "PostPaid",
        "ISP": "BGP",
        "Mode": "NAT",
        "Netmode": "public",
        "PrivateIpAddress": "",
        "ResourceGroupId": "",
        "DeletionProtection": False,
        "OperationLocks": {"LockReason": []},
        "SecurityProtectionTypes": {"SecurityProtectionType": []},
        "Tags": no_tags(),
    }


def _instance_type(name: str | None) -> str:
    if name not in TARGETS:
        raise InvalidParameter(
            f"InstanceType {name or 'EcsInstance'!r} is not supported here; use HaVip or NetworkInterface",
            code="InvalidParameter.InstanceType",
        )
    return name


def allocate_eip_address(call: Call) -> dict[str, Any]:
    a = call.args
    eip = eips.allocate(call.ctx, region=call.region, name=a.text("Name", "") or "", client_token=a.text("ClientToken"))
    return {"AllocationId": eip.id, "EipAddress": eip.ip, "OrderId": "", "ResourceGroupId": ""}


def describe_eip_addresses(call: Call) -> dict[str, Any]:
    a = call.args
    page, number, size = paging(a, max_size=100)
    status = a.text("Status")
    if status is not None and status not in STATUSES:  # transient statuses: havip never shows them
        return listed(0, number, size, "EipAddresses", "EipAddress", [])
    target_type, target_id = a.text("AssociatedInstanceType"), a.text("AssociatedInstanceId")
    if target_type is not None:
        _instance_type(target_type)
    found, total = lookups.eips(
        call.ctx,
        page,
        region=call.region,
        ids=a.strings("AllocationId", limit=50),
        ips=a.strings("EipAddress", limit=50),
        names=[n for n in [a.text("EipName")] if n],
        havip_ids=[target_id] if target_id and target_type == "HaVip" else [],
        network_interface_ids=[target_id] if target_id and target_type == "NetworkInterface" else [],
        associated=STATUSES[status] if status else None,
    )
    return listed(total, number, size, "EipAddresses", "EipAddress", [shape(e) for e in found])


def associate_eip_address(call: Call) -> dict[str, Any]:
    a = call.args
    target = a.need("InstanceId")
    if _instance_type(a.text("InstanceType")) == "HaVip":
        eips.associate(call.ctx, a.need("AllocationId"), havip_id=target)
    else:
        eips.associate(call.ctx, a.need("AllocationId"), network_interface_id=target)
    return {}


def unassociate_eip_address(call: Call) -> dict[str, Any]:
    a = call.args
    allocation = a.need("AllocationId")
    target = a.text("InstanceId")
    eip = eips.get_eip(call.ctx, allocation)
    if target is not None and target != _target(eip)[0]:
        raise Conflict(f"EIP {allocation} is not associated with {target}", code="IncorrectEipStatus")
    eips.unassociate(call.ctx, allocation)
    return {}


def release_eip_address(call: Call) -> dict[str, Any]:
    eips.release(call.ctx, call.args.need("AllocationId"))
    return {}
