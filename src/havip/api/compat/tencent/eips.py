"""Tencent VPC actions on EIPs (``Addresses``) and on asynchronous tasks.

EIPs come from the operator's EIP pools of the request's region. ``AllocateAddresses``
and ``ReleaseAddresses`` return a ``TaskId`` as Tencent's do; like every asynchronous
action here they have finished when they answer, and ``DescribeVpcTaskResult``
reports ``SUCCESS`` for the tasks of the caller's account this process remembers.
"""

from __future__ import annotations

from typing import Any

from havip.api.compat.call import Call
from havip.api.compat.tencent.common import filters, paging, record_task, tc_time
from havip.domain.errors import NotFound
from havip.domain.model import Eip
from havip.service import eips, lookups

STATUS = {"UNBIND": False, "BIND": True, "BIND_ENI": True}


def status_of(eip: Eip) -> str:
    if eip.havip_id:
        return "BIND"
    return "BIND_ENI" if eip.network_interface_id else "UNBIND"


def address_shape(eip: Eip) -> dict[str, Any]:
    return {
        "AddressId": eip.id,
        "AddressName": eip.name,
        "AddressStatus": status_of(eip),
        "AddressIp": eip.ip,
        "InstanceId": eip.havip_id or "",
        "InstanceType": "HAVIP" if eip.havip_id else "",
        "NetworkInterfaceId": eip.network_interface_id or "",
        "PrivateAddressIp": "",
        "CreatedTime": tc_time(eip.created_at),
        "IsArrears": False,
        "IsBlocked": False,
        "IsEipDirectConnection": False,
        "AddressType": "EIP",
        "CascadeRelease": False,
        "InternetServiceProvider": "BGP",
        "LocalBgp": False,
        "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
        "TagSet": [],
    }


def allocate_addresses(call: Call) -> dict[str, Any]:
    a = call.args
    count = a.integer("AddressCount", 1, 1, 20)
    token = a.text("ClientToken") if count == 1 else None
    name = a.text("AddressName", "") or ""
    ids = [eips.allocate(call.ctx, region=call.region, name=name, client_token=token).id for _ in range(count)]
    return {"AddressSet": ids, "TaskId": record_task(call, *ids)}


def describe_addresses(call: Call) -> dict[str, Any]:
    f = filters(
        call,
        {"address-id", "address-name", "address-ip", "address-status", "instance-id", "address-type"},
        ids_param="AddressIds",
    )
    statuses = set(f.get("address-status", []))
    targets = f.get("instance-id", [])
    if (statuses and not statuses & STATUS.keys()) or any(t != "EIP" for t in f.get("address-type", [])):
        return {"TotalCount": 0, "AddressSet": []}
    bound = {STATUS[s] for s in statuses if s in STATUS}
    found, total = lookups.eips(
        call.ctx,
        paging(call),
        region=call.region,
        ids=call.args.strings("AddressIds") or f.get("address-id", []),
        ips=f.get("address-ip", []),
        names=f.get("address-name", []),
        havip_ids=[t for t in targets if t.startswith("havip-")],
        network_interface_ids=[t for t in targets if t.startswith("eni-")],
        associated=bound.pop() if len(bound) == 1 else None,
    )
    return {"TotalCount": total, "AddressSet": [address_shape(e) for e in found]}


def release_addresses(call: Call) -> dict[str, Any]:
    ids = call.args.strings("AddressIds")
    if not ids:
        call.args.need("AddressIds")
    for eip_id in ids:
        eips.release(call.ctx, eip_id)
    return {"TaskId": record_task(call, *ids)}


def describe_vpc_task_result(call: Call) -> dict[str, Any]:
    task_id = call.args.need("TaskId")
    task = call.memory.tasks.get(task_id, call.ctx.now().timestamp())
    if task is None or task.account_id != (call.ctx.principal.account_id or ""):
        raise NotFound("VpcTask", task_id)
    return {
        "Status": "SUCCESS",
        "Output": "",
        "Result": [{"ResourceId": r, "Status": "SUCCESS"} for r in task.resource_ids],
    }
