"""Tencent VPC actions on HaVips, their EIP and their drift range (``HaVipAssociationSet``).

``CheckAssociate`` chooses the binding mode: true is ``explicit`` (only the drift
range may take the VIP), false (the API's default) is ``subnet`` (any interface of
the subnet may). ``InstanceId``/``NetworkInterfaceId`` show the current holder and
``State`` is ``AVAILABLE`` while someone holds the VIP, ``UNBIND`` otherwise. Delete
and the EIP actions are asynchronous in Tencent's API; here they finish before the
answer and ``DescribeVpcTaskResult`` reports them as ``SUCCESS``.
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.call import Call
from havip.api.compat.tencent.common import NEVER, check_name, filters, paging, record_task, tc_time
from havip.api.compat.wire import Args
from havip.domain.errors import InvalidParameter, NotFound
from havip.domain.model import BindingMode, MemberType
from havip.service import compute, eips, havips, lookups, network
from havip.service.context import Page
from havip.service.havips import HaVipView

INSTANCE_TYPES = {"CVM": MemberType.INSTANCE, "ENI": MemberType.NETWORK_INTERFACE}
INSTANCE_TYPE_NAME = {v: k for k, v in INSTANCE_TYPES.items()}
FILTERS = {
    "havip-id",
    "havip-name",
    "vpc-id",
    "subnet-id",
    "vip",
    "address-ip",
    "havip-association.instance-id",
    "havip-association.instance-type",
    "check-associate",
}


def shape(view: HaVipView) -> dict[str, Any]:
    h = view.havip
    return {
        "HaVipId": h.id,
        "HaVipName": h.name,
        "Vip": h.ip,
        "VpcId": h.vpc_id,
        "SubnetId": h.subnet_id,
        "NetworkInterfaceId": h.holder_interface_id or "",
        "InstanceId": h.holder_instance_id or "",
        "AddressIp": view.eips[0].ip if view.eips else "",  # "" (never null): Terraform polls it
        "State": "AVAILABLE" if h.holder_interface_id else "UNBIND",
        "CreatedTime": tc_time(h.created_at),
        "Business": "",
        "HaVipAssociationSet": [
            {"InstanceId": m.member_id, "HaVipId": h.id, "InstanceType": INSTANCE_TYPE_NAME[m.member_type]}
            for m in view.members
        ],
        "CheckAssociate": h.binding_mode is BindingMode.EXPLICIT,
        "CdcId": "",
        "FlushedTime": tc_time(h.holder_since) if h.holder_since else NEVER,
        "TagSet": [],
    }


def create_havip(call: Call) -> dict[str, Any]:
    a = call.args
    if a.objects("HaVipAssociationSet", limit=10):
        raise InvalidParameter(
            "HaVipAssociationSet is not accepted by CreateHaVip here; add the drift range with AssociateHaVipInstance",
            code="InvalidParameter.Unsupported",
        )
    vpc_id = a.need("VpcId")
    subnet_id = a.text("SubnetId")
    if subnet_id is None:
        eni_id = a.text("NetworkInterfaceId")
        if eni_id is None:
            raise InvalidParameter("give SubnetId (or NetworkInterfaceId)", code="MissingParameter.SubnetId")
        subnet_id = compute.get_interface(call.ctx, eni_id).subnet_id
    if network.get_subnet(call.ctx, subnet_id).vpc_id != vpc_id:
        raise NotFound("Subnet", f"{subnet_id} in {vpc_id}")
    view = havips.create_havip(
        call.ctx,
        subnet_id=subnet_id,
        ip=a.text("Vip"),
        name=check_name("HaVipName", a.need("HaVipName")) or "",
        binding_mode=BindingMode.EXPLICIT if a.boolean("CheckAssociate", False) else BindingMode.SUBNET,
        client_token=a.text("ClientToken"),
    )
    return {"HaVip": shape(view)}


def describe_havips(call: Call) -> dict[str, Any]:
    a = call.args
    page = paging(call)
    f = filters(call, FILTERS, ids_param="HaVipIds")
    query: dict[str, Any] = {
        "region": call.region,
        "name": f.get("havip-name"),
        "vpc_id": f.get("vpc-id"),
        "subnet_id": f.get("subnet-id"),
        "ip": f.get("vip"),
    }
    if "check-associate" in f:
        modes = {BindingMode.EXPLICIT if v.lower() == "true" else BindingMode.SUBNET for v in f["check-associate"]}
        query["binding_mode"] = sorted(modes)
    kinds = [INSTANCE_TYPES[t] for t in f.get("havip-association.instance-type", []) if t in INSTANCE_TYPES]
    if "havip-association.instance-type" in f and not kinds:
        return {"TotalCount": 0, "HaVipSet": []}
    views, total = lookups.havip_views(
        call.ctx,
        page,
        ids=a.strings("HaVipIds") or f.get("havip-id", []),
        member_ids=f.get("havip-association.instance-id", []),
        member_type=kinds[0] if len(kinds) == 1 else None,
        eip_ips=f.get("address-ip", []),
        **query,
    )
    return {"TotalCount": total, "HaVipSet": [shape(v) for v in views]}


def modify_havip_attribute(call: Call) -> dict[str, Any]:
    a = call.args
    havips.update_havip(call.ctx, a.need("HaVipId"), name=check_name("HaVipName", a.text("HaVipName")))
    return {}


def delete_havip(call: Call) -> dict[str, Any]:
    havip_id = call.args.need("HaVipId")
    havips.delete_havip(call.ctx, havip_id)
    record_task(call, havip_id)
    return {}


def associate_address_ip(call: Call) -> dict[str, Any]:
    a = call.args
    havip_id, address = a.need("HaVipId"), a.need("AddressIp")
    found, _ = lookups.eips(call.ctx, Page(limit=1), ips=[address])
    if not found:
        raise NotFound("Eip", address)
    eips.associate(call.ctx, found[0].id, havip_id=havip_id)
    record_task(call, havip_id)
    return {}


def disassociate_address_ip(call: Call) -> dict[str, Any]:
    havip_id = call.args.need("HaVipId")
    eips.unassociate(call.ctx, lookups.eip_of_havip(call.ctx, havip_id).id)
    record_task(call, havip_id)
    return {}


def _association(item: Args) -> tuple[str, MemberType, str]:
    instance_id = item.need("InstanceId")
    kind = item.text("InstanceType") or ("ENI" if instance_id.startswith("eni-") else "CVM")
    if kind not in INSTANCE_TYPES:
        raise InvalidParameter(f"InstanceType {kind!r} is not CVM or ENI", code="InvalidParameter.InstanceType")
    return item.need("HaVipId"), INSTANCE_TYPES[kind], instance_id


def associate_instance(call: Call) -> dict[str, Any]:
    """Add instances or ENIs to HaVips' drift ranges, in order; the first refusal stops the rest."""
    items = call.args.objects("HaVipAssociationSet", limit=10)
    if not items:
        raise InvalidParameter("HaVipAssociationSet is required", code="MissingParameter.HaVipAssociationSet")
    for havip_id, kind, member_id in [_association(i) for i in items]:
        havips.associate(call.ctx, havip_id, kind, member_id)
    return {}


def disassociate_instance(call: Call) -> dict[str, Any]:
    """Remove from drift ranges. Tencent has no Force: removing the holder clears the holder."""
    items = call.args.objects("HaVipAssociationSet", limit=10)
    if not items:
        raise InvalidParameter("HaVipAssociationSet is required", code="MissingParameter.HaVipAssociationSet")
    for havip_id, _kind, member_id in [_association(i) for i in items]:
        havips.unassociate(call.ctx, havip_id, member_id, force=True)
    return {}
