"""Every Alibaba VPC action havip serves, and ClientToken idempotency around them.

Creates pass ``ClientToken`` to the use case, which makes them idempotent in the
store (across replicas and restarts). Every other action that carries a token is
made idempotent here: a retry with the same token and the same parameters gets the
first answer again; the same token with other parameters is refused
(``IdempotentParameterMismatch``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from havip.api.compat.alibaba import eips, havips, network
from havip.api.compat.call import Call, Handler
from havip.domain.errors import InvalidParameter
from havip.service.common import check_client_token


@dataclass(frozen=True)
class Entry:
    handler: Handler
    token_in_store: bool = False  # the use case itself is idempotent by ClientToken


ACTIONS: dict[str, Entry] = {
    "CreateVpc": Entry(network.create_vpc, token_in_store=True),
    "DescribeVpcs": Entry(network.describe_vpcs),
    "DeleteVpc": Entry(network.delete_vpc),
    "CreateVSwitch": Entry(network.create_vswitch, token_in_store=True),
    "DescribeVSwitches": Entry(network.describe_vswitches),
    "DeleteVSwitch": Entry(network.delete_vswitch),
    "DescribeRouteTables": Entry(network.describe_route_tables),
    "CreateRouteEntry": Entry(network.create_route_entry, token_in_store=True),
    "DeleteRouteEntry": Entry(network.delete_route_entry),
    "DescribeRouteEntryList": Entry(network.describe_route_entry_list),
    "CreateHaVip": Entry(havips.create_havip, token_in_store=True),
    "DescribeHaVips": Entry(havips.describe_havips),
    "AssociateHaVip": Entry(havips.associate_havip),
    "UnassociateHaVip": Entry(havips.unassociate_havip),
    "ModifyHaVipAttribute": Entry(havips.modify_havip_attribute),
    "DeleteHaVip": Entry(havips.delete_havip),
    "AllocateEipAddress": Entry(eips.allocate_eip_address, token_in_store=True),
    "DescribeEipAddresses": Entry(eips.describe_eip_addresses),
    "AssociateEipAddress": Entry(eips.associate_eip_address),
    "UnassociateEipAddress": Entry(eips.unassociate_eip_address),
    "ReleaseEipAddress": Entry(eips.release_eip_address),
}


def _fingerprint(call: Call) -> str:
    values = {k: v for k, v in call.args.values.items() if k != "ClientToken"}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def run(call: Call, action: str, entry: Entry) -> dict[str, Any]:
    token = check_client_token(call.args.text("ClientToken"))
    if token is None or entry.token_in_store:
        return entry.handler(call)
    key = (call.ctx.principal.account_id or "", action, token)
    now = call.ctx.now().timestamp()
    fingerprint = _fingerprint(call)
    earlier = call.memory.answers.get(key, now)
    if earlier is not None:
        if earlier.get("fingerprint") != fingerprint:
            raise InvalidParameter(
                f"the ClientToken {token!r} was used for {action} with other parameters",
                code="InvalidParameter.ClientToken",
            )
        answer = earlier["answer"]
        assert isinstance(answer, dict)
        return answer
    body = entry.handler(call)
    call.memory.answers.put_new(key, {"fingerprint": fingerprint, "answer": body}, now)
    return body
