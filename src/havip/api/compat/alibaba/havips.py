"""Alibaba VPC actions on HaVips: Create, Describe, Associate, Unassociate, Modify, Delete.

Alibaba HaVips bind explicitly: only associated instances or ENIs may take the VIP
(binding mode ``explicit``). ``MasterInstanceId`` is the current holder, the member
that last announced the VIP. Alibaba documents these actions as asynchronous with
transient statuses; havip completes them before answering, so a client polling
``DescribeHaVips`` sees the final ``Available``/``InUse`` at once.
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.alibaba.common import iso, listed, no_tags, paging
from havip.api.compat.call import Call
from havip.domain.errors import InvalidParameter
from havip.domain.model import BindingMode, HaVipStatus, MemberType
from havip.service import havips, lookups
from havip.service.havips import HaVipView

INSTANCE_TYPES = {"EcsInstance": MemberType.INSTANCE, "NetworkInterface": MemberType.NETWORK_INTERFACE}
INSTANCE_TYPE_NAME = {v: k for k, v in INSTANCE_TYPES.items()}
STATUSES = frozenset(s.value for s in HaVipStatus)
FILTER_KEYS = {"VpcId": "vpc_id", "VSwitchId": "subnet_id", "Status": "status", "HaVipId": "id", "HaVipAddress": "ip"}


def member_type(name: str | None) -> MemberType:
    try:
        return INSTANCE_TYPES[name or "EcsInstance"]
    except KeyError as exc:
        raise InvalidParameter(
            f"InstanceType {name!r} is not supported; use EcsInstance or NetworkInterface",
            code="InvalidParameter.InstanceType",
        ) from exc


def master_of(view: HaVipView) -> str:
    """The holder as Alibaba names it: the instance, or the ENI when the members are ENIs."""
    h = view.havip
    if h.member_type is MemberType.NETWORK_INTERFACE:
        return h.holder_interface_id or ""
    return h.holder_instance_id or h.holder_interface_id or ""


def shape(view: HaVipView) -> dict[str, Any]:
    h = view.havip
    return {
        "HaVipId": h.id,
        "IpAddress": h.ip,
        "Status": h.status.value,
        "VpcId": h.vpc_id,
        "VSwitchId": h.subnet_id,
        "RegionId": h.region,
        "Name": h.name,
        "Description": h.description,
        "CreateTime": iso(h.created_at),
        "MasterInstanceId": master_of(view),
        "AssociatedInstanceType": INSTANCE_TYPE_NAME[h.member_type or MemberType.INSTANCE],
        # the SDK and Terraform read exactly these keys, the lower-case letter and the typo included
        "AssociatedInstances": {"associatedInstance": [m.member_id for m in view.members]},
        "AssociatedEipAddresses": {"associatedEipAddresse": [e.ip for e in view.eips]},
        "ChargeType": "PostPaid",
        "ResourceGroupId": "",
        "Tags": no_tags(),
    }


def create_havip(call: Call) -> dict[str, Any]:
    a = call.args
    view = havips.create_havip(
        call.ctx,
        subnet_id=a.need("VSwitchId"),
        ip=a.text("IpAddress"),
        name=a.text("Name", "") or "",
        description=a.text("Description", "") or "",
        binding_mode=BindingMode.EXPLICIT,
        client_token=a.text("ClientToken"),
    )
    return {"HaVipId": view.havip.id, "IpAddress": view.havip.ip}


def describe_havips(call: Call) -> dict[str, Any]:
    a = call.args
    page, number, size = paging(a)
    filters: dict[str, list[str]] = {}
    for flt in a.objects("Filter", limit=5):
        key = flt.need("Key")
        if key not in FILTER_KEYS:
            raise InvalidParameter(
                f"the filter key {key!r} is not supported; keys: {', '.join(FILTER_KEYS)}",
                code="InvalidParameter.Filter",
            )
        filters.setdefault(FILTER_KEYS[key], []).extend(flt.strings("Value", limit=5))
    if "status" in filters:  # a status havip does not have (Alibaba's transient ones) matches nothing
        filters["status"] = [s for s in filters["status"] if s in STATUSES]
        if not filters["status"]:
            return listed(0, number, size, "HaVips", "HaVip", [])
    ids = filters.pop("id", [])
    query: dict[str, Any] = {"region": call.region, **filters}
    views, total = lookups.havip_views(call.ctx, page, ids=ids, **query)
    return listed(total, number, size, "HaVips", "HaVip", [shape(v) for v in views])


def associate_havip(call: Call) -> dict[str, Any]:
    a = call.args
    kind = member_type(a.text("InstanceType"))
    havips.associate(call.ctx, a.need("HaVipId"), kind, a.need("InstanceId"))
    return {}


def unassociate_havip(call: Call) -> dict[str, Any]:
    a = call.args
    member_type(a.text("InstanceType"))  # refuse what Alibaba refuses, though the member's id is enough
    havips.unassociate(call.ctx, a.need("HaVipId"), a.need("InstanceId"), force=a.boolean("Force", False))
    return {}


def modify_havip_attribute(call: Call) -> dict[str, Any]:
    a = call.args
    havips.update_havip(call.ctx, a.need("HaVipId"), name=a.text("Name"), description=a.text("Description"))
    return {}


def delete_havip(call: Call) -> dict[str, Any]:
    havips.delete_havip(call.ctx, call.args.need("HaVipId"))
    return {}
