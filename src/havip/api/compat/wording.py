"""Error messages in each cloud's terms, rewritten at the facade's edge.

The use cases word their messages for havip's native API ("Subnet 'vsw-…' does not
exist", "the quota havips_per_vpc of 20", "an operator can raise it with 'havip quota
set'"). A cloud SDK user knows neither havip's resource names nor its CLI, so each
facade rewrites those few havip words into its cloud's (an Alibaba subnet is a
vSwitch; quotas are raised by asking for more). Codes never change here: only text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# havip's resource names (as ``NotFound`` spells them) in each cloud's words
ALIBABA_NAMES = {
    "Subnet": "VSwitch",
    "Vpc": "VPC",
    "Instance": "instance",
    "NetworkInterface": "ENI",
    "RouteTable": "route table",
    "RouteEntry": "route entry",
    "HaVip": "HaVip",
    "HaVipMember": "HaVip association",
    "Eip": "EIP",
    "EipPool": "EIP pool",
    "AccessKey": "AccessKey",
    "VpcTask": "task",
}
TENCENT_NAMES = {
    **ALIBABA_NAMES,
    "Subnet": "subnet",
    "Instance": "CVM instance",
    "NetworkInterface": "ENI",
}

_NOT_FOUND = re.compile(r"^([A-Za-z]+) '([^']*)' does not exist$")
_QUOTA_NAME = re.compile(r"the quota [a-z_]+ of (\d+)")
_RAISE = "; an operator can raise it with 'havip quota set'"
_ASK = "; ask the cloud's operator to raise the limit"
_INTERFACES = re.compile(r"\bnetwork_interfaces?\b")
_SUBNET = re.compile(r"\b([Ss])ubnet(s?)\b")


def _common(message: str, names: Mapping[str, str]) -> str:
    m = _NOT_FOUND.match(message)
    if m and m.group(1) in names:
        return f"The specified {names[m.group(1)]} {m.group(2)!r} does not exist."
    message = _QUOTA_NAME.sub(r"the limit of \1", message).replace(_RAISE, _ASK)
    return _INTERFACES.sub("ENI", message)


def alibaba(message: str) -> str:
    """A message in Alibaba's words: vSwitches, ENIs, no havip CLI."""
    message = _common(message, ALIBABA_NAMES)
    return _SUBNET.sub(
        lambda m: ("VSwitch" if m.group(1) == "S" else "vSwitch") + ("es" if m.group(2) else ""), message
    )


def tencent(message: str) -> str:
    """A message in Tencent's words: subnets, CVM instances, ENIs, no havip CLI."""
    return _common(message, TENCENT_NAMES)
