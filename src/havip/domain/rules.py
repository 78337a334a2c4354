"""Validation rules of the product: addresses, CIDRs, names, membership, route entries.

Pure functions over domain objects and values. Each raises a ``HavipError`` with a
stable code when a rule is broken and returns nothing (or the computed value) when
it holds. Called by the service layer; never by adapters directly.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Collection, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from havip.domain.errors import Conflict, InvalidParameter
from havip.domain.model import HaVip, HaVipMember, MemberType, Subnet

VPC_PREFIX_RANGE = (8, 28)
SUBNET_PREFIX_RANGE = (16, 29)
NAME_MAX = 128
DESCRIPTION_MAX = 256
_FORBIDDEN_PREFIXES = ("http://", "https://")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
RESERVED_DEVICE_PREFIX = "havip-"  # the agent's own devices (sinks); the agent refuses them too
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")  # Linux IFNAMSIZ - 1


def parse_ipv4(text: str, what: str = "IP address") -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError as exc:
        raise InvalidParameter(
            f"{what} {text!r} is not a valid IPv4 address", code="InvalidIpAddress.Malformed"
        ) from exc


def parse_cidr(text: str, what: str = "CIDR block") -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise InvalidParameter(
            f"{what} {text!r} is not a valid IPv4 network in CIDR notation "
            "(host bits must be zero, e.g. 172.17.16.0/24)",
            code="InvalidCidrBlock.Malformed",
        ) from exc


PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# RFC 5737: for examples and labs; never routed on the Internet
DOCUMENTATION_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
# ranges that are never public addresses (IANA special-purpose registry, the documentation ones aside)
NOT_PUBLIC_RANGES = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


def comparable_cidr(text: str) -> str:
    """``text`` as stored once valid (``10.0.0.0/8``); unchanged when it is not a valid network."""
    try:
        return str(ipaddress.IPv4Network(text, strict=True))
    except ValueError:
        return text


def check_vpc_cidr(cidr: str) -> str:
    net = parse_cidr(cidr, "VPC CIDR block")
    lo, hi = VPC_PREFIX_RANGE
    if not lo <= net.prefixlen <= hi:
        raise InvalidParameter(
            f"VPC CIDR block {cidr} must have a prefix length between /{lo} and /{hi}",
            code="InvalidCidrBlock.PrefixLength",
        )
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise InvalidParameter(
            f"VPC CIDR block {cidr} must be a private range (10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16 or a part of one)",
            code="InvalidCidrBlock.NotPrivate",
        )
    return str(net)


def check_subnet_cidr(cidr: str, vpc_cidr: str, siblings: Iterable[str]) -> str:
    """A subnet lies inside its VPC and overlaps no other subnet of that VPC."""
    net = parse_cidr(cidr, "subnet CIDR block")
    lo, hi = SUBNET_PREFIX_RANGE
    if not lo <= net.prefixlen <= hi:
        raise InvalidParameter(
            f"subnet CIDR block {cidr} must have a prefix length between /{lo} and /{hi}",
            code="InvalidCidrBlock.PrefixLength",
        )
    if not net.subnet_of(ipaddress.IPv4Network(vpc_cidr)):
        raise InvalidParameter(
            f"subnet CIDR block {cidr} is not inside the VPC's CIDR block {vpc_cidr}",
            code="InvalidCidrBlock.OutsideVpc",
        )
    for other in siblings:
        if net.overlaps(ipaddress.IPv4Network(other)):
            raise Conflict(
                f"subnet CIDR block {cidr} overlaps the existing subnet {other} of this VPC",
                code="InvalidCidrBlock.Overlap",
            )
    return str(net)


@dataclass(frozen=True)
class AddressRule:
    """Which addresses of every subnet a surface reserves: ``head`` from the start, ``tail`` from the end.

    The native API keeps one documented rule; each cloud facade follows its cloud's
    reference (see docs/compat.md). The count of usable addresses follows the same rule.
    """

    name: str
    head: int  # counting the network address
    tail: int  # counting the broadcast address
    words: str  # how a message names the reserved addresses


NATIVE_ADDRESSES = AddressRule(
    "native", 2, 3, "the network address, the gateway (first address) and the last three addresses"
)
# Alibaba: "the first IP address and the last three IP addresses of the vSwitch are reserved by the system".
ALIBABA_ADDRESSES = AddressRule("alibaba", 1, 3, "the first address and the last three addresses")
# Tencent: a /24 such as 10.0.0.0/24 offers 10.0.0.2-10.0.0.254 (network address, gateway, broadcast).
TENCENT_ADDRESSES = AddressRule(
    "tencent", 2, 1, "the network address, the gateway (first address) and the last address"
)


def reserved_addresses(subnet_cidr: str, rule: AddressRule = NATIVE_ADDRESSES) -> frozenset[ipaddress.IPv4Address]:
    """The addresses ``rule`` keeps out of use in the subnet (by default the native rule)."""
    net = ipaddress.IPv4Network(subnet_cidr)
    first = net.network_address
    last = net.broadcast_address
    return frozenset({first + i for i in range(rule.head)} | {last - i for i in range(rule.tail)})


def usable_count(subnet_cidr: str, rule: AddressRule = NATIVE_ADDRESSES) -> int:
    return ipaddress.IPv4Network(subnet_cidr).num_addresses - len(reserved_addresses(subnet_cidr, rule))


def gateway_address(subnet_cidr: str) -> str:
    return str(ipaddress.IPv4Network(subnet_cidr).network_address + 1)


def check_address(
    subnet: Subnet, ip: str, used: Collection[str], what: str = "IP address", rule: AddressRule = NATIVE_ADDRESSES
) -> str:
    """A given address must be inside the subnet, not reserved and not in use."""
    addr = parse_ipv4(ip, what)
    if addr not in ipaddress.IPv4Network(subnet.cidr):
        raise InvalidParameter(
            f"{what} {ip} is outside the subnet {subnet.id} ({subnet.cidr})",
            code="InvalidIpAddress.OutOfRange",
        )
    if addr in reserved_addresses(subnet.cidr, rule):
        raise InvalidParameter(
            f"{what} {ip} is reserved in subnet {subnet.cidr}: {rule.words} cannot be used",
            code="InvalidIpAddress.Reserved",
        )
    if str(addr) in used:
        raise Conflict(f"{what} {ip} is already in use in subnet {subnet.id}", code="InvalidIpAddress.AlreadyUsed")
    return str(addr)


def allocate_address(subnet: Subnet, used: Collection[str], rule: AddressRule = NATIVE_ADDRESSES) -> str:
    """The lowest free, non-reserved address of the subnet."""
    reserved = reserved_addresses(subnet.cidr, rule)
    for addr in ipaddress.IPv4Network(subnet.cidr).hosts():
        if addr not in reserved and str(addr) not in used:
            return str(addr)
    raise Conflict(f"subnet {subnet.id} ({subnet.cidr}) has no free address left", code="InsufficientIpAddresses")


def check_name(value: str, what: str = "name", max_len: int = NAME_MAX) -> str:
    return _check_text(value, what, max_len, "InvalidName.Malformed")


def check_description(value: str) -> str:
    return _check_text(value, "description", DESCRIPTION_MAX, "InvalidDescription.Malformed")


def _check_text(value: str, what: str, max_len: int, code: str) -> str:
    if len(value) > max_len:
        raise InvalidParameter(f"{what} is {len(value)} characters long; at most {max_len} are allowed", code=code)
    if value.lower().startswith(_FORBIDDEN_PREFIXES):
        raise InvalidParameter(f"{what} must not start with http:// or https://", code=code)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidParameter(f"{what} must not contain control characters", code=code)
    return value


def check_mac(mac: str) -> str:
    norm = mac.strip().lower().replace("-", ":")
    if not _MAC_RE.match(norm):
        raise InvalidParameter(f"MAC address {mac!r} is not of the form 00:16:3e:12:34:56", code="InvalidMac.Malformed")
    if int(norm[:2], 16) & 1:
        raise InvalidParameter(f"MAC address {mac} is a multicast address", code="InvalidMac.Multicast")
    if norm == "00:00:00:00:00:00":
        raise InvalidParameter("MAC address 00:00:00:00:00:00 is not usable", code="InvalidMac.Malformed")
    return norm


def check_device(device: str) -> str:
    if not _DEVICE_RE.match(device):
        raise InvalidParameter(
            f"device name {device!r} must be 1-15 characters of letters, digits, '_', '-' or '.'",
            code="InvalidDevice.Malformed",
        )
    if device == "lo" or device.startswith(RESERVED_DEVICE_PREFIX):
        raise InvalidParameter(
            f"device name {device!r} is reserved (the loopback, and {RESERVED_DEVICE_PREFIX}* for havip's own)",
            code="InvalidDevice.Reserved",
        )
    return device


def check_new_member(
    havip: HaVip,
    member_type: MemberType,
    member_id: str,
    member_subnet_ids: Collection[str],
    existing: Collection[HaVipMember],
) -> None:
    """Members share the HaVip's subnet, are all of one type, and are not duplicated.

    ``member_subnet_ids`` are the subnets the candidate has interfaces in (for an ENI,
    just its own subnet; for an instance, the subnets of all its interfaces).
    """
    if havip.subnet_id not in member_subnet_ids:
        raise InvalidParameter(
            f"{member_type.value} {member_id} has no network interface in the HaVip's subnet "
            f"{havip.subnet_id}; a HaVip can only be associated within its own subnet",
            code="InvalidMember.NotInSameSubnet",
        )
    if havip.member_type is not None and havip.member_type != member_type and existing:
        raise InvalidParameter(
            f"HaVip {havip.id} is associated with {havip.member_type.value}s; instances and "
            "network interfaces cannot be mixed",
            code="InvalidMember.MixedTypes",
        )
    if any(m.member_id == member_id for m in existing):
        raise Conflict(
            f"{member_type.value} {member_id} is already associated with HaVip {havip.id}",
            code="InvalidMember.AlreadyAssociated",
        )


def is_holder(havip: HaVip, member_type: MemberType, member_id: str) -> bool:
    if member_type is MemberType.INSTANCE:
        return havip.holder_instance_id == member_id
    return havip.holder_interface_id == member_id


def check_route_destination(destination: str, vpc_cidr: str, others: Iterable[str]) -> str:
    """A route entry's destination overlaps neither the VPC nor another entry."""
    net = parse_cidr(destination, "destination CIDR block")
    if net.overlaps(ipaddress.IPv4Network(vpc_cidr)):
        raise InvalidParameter(
            f"destination {destination} overlaps the VPC's CIDR block {vpc_cidr}; traffic inside "
            "the VPC is routed by the system routes",
            code="InvalidDestinationCidrBlock.OverlapsVpc",
        )
    for other in others:
        if net.overlaps(ipaddress.IPv4Network(other)):
            raise Conflict(
                f"destination {destination} overlaps the existing route entry for {other}",
                code="InvalidDestinationCidrBlock.Overlap",
            )
    return str(net)


_HOST_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,63}$")
POOL_PREFIX_RANGE = (16, 30)


def check_host_name(name: str) -> str:
    if not _HOST_RE.match(name):
        raise InvalidParameter(
            "host name must be 1-63 characters of letters, digits, '-', '_' or '.'", code="InvalidName.Malformed"
        )
    return name


# never a host's unicast address on an underlay: "this network", loopback, link-local, multicast and the rest of
# class E, the limited broadcast
_NOT_UNDERLAY_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)


def check_underlay(address: str) -> str:
    """A host's underlay address: a unicast IPv4 address another host can send a tunnel's packets to.

    Returns its canonical form. Uniqueness among hosts is the service's to check (it needs the store)."""
    try:
        addr = ipaddress.IPv4Address(address.strip())
    except ValueError as exc:
        raise InvalidParameter(
            f"underlay address {address!r} is not a valid IPv4 address (e.g. 192.0.2.11)",
            code="InvalidUnderlay.Malformed",
        ) from exc
    if clash := next((r for r in _NOT_UNDERLAY_RANGES if addr in r), None):
        raise InvalidParameter(
            f"underlay address {addr} is in {clash}, which holds no host's unicast address "
            "(this network, loopback, link-local, multicast, reserved or broadcast)",
            code="InvalidUnderlay.NotUnicast",
        )
    return str(addr)


VNI_RANGE = (1, 2**24 - 1)
"""The VXLAN network identifiers (24 bits; 0 is not used)."""
FIRST_VNI = 1000
"""Where the control plane starts allocating VNIs (below it: left for an operator's own tunnels)."""


def next_vni(highest: int | None, used: Callable[[], Collection[int]]) -> int:
    """The VNI of a new VPC: one above the highest in use (``FIRST_VNI`` for the first VPC).

    Once the top of the range is taken, the lowest free VNI from ``FIRST_VNI`` up (then
    from 1), which ``used`` (every VNI in use; called only then; a set is used as it is)
    tells."""
    lo, hi = VNI_RANGE
    if highest is None or highest < FIRST_VNI:
        return FIRST_VNI
    if highest < hi:
        return highest + 1
    given = used()
    taken = given if isinstance(given, AbstractSet | range) else set(given)
    free = next((v for v in itertools.chain(range(FIRST_VNI, hi + 1), range(lo, FIRST_VNI)) if v not in taken), None)
    if free is None:
        raise Conflict("every VNI (1 to 16777215) is in use; no VPC can be created", code="InsufficientVni")
    return free


_AGENT_VERSION_RE = re.compile(r"^[A-Za-z0-9.+_-]{1,64}$")


def check_agent_version(version: str) -> str:
    """The version an agent reports about itself: a short version string (PEP 440 or semver)."""
    if not _AGENT_VERSION_RE.match(version):
        raise InvalidParameter(
            "agent_version must be 1-64 characters of letters, digits, '.', '+', '_' or '-'",
            code="InvalidParameter.AgentVersion",
        )
    return version


def check_secondary_ips(primary_ip: str, wanted: Iterable[str]) -> list[str]:
    """Secondary addresses: valid, distinct from each other and from the primary address."""
    out = [parse_ipv4(ip, "secondary IP address").compressed for ip in wanted]
    if len(set(out)) != len(out) or primary_ip in out:
        raise InvalidParameter(
            "secondary IP addresses must be distinct from each other and from the primary IP",
            code="InvalidIpAddress.Duplicate",
        )
    return out


def check_pool_cidr(cidr: str, others: Iterable[str], documentation_range: bool = False) -> str:
    """An EIP pool: /16 to /30, public addresses only, overlapping no other pool.

    The RFC 5737 documentation ranges are refused unless ``documentation_range`` (the
    operator's override for labs and tests, which cannot own public addresses).
    """
    net = parse_cidr(cidr, "EIP pool CIDR block")
    if clash := next((r for r in NOT_PUBLIC_RANGES if net.overlaps(r)), None):
        raise InvalidParameter(
            f"EIP pool {cidr} overlaps {clash}, which holds no public addresses; an EIP pool must be a public range",
            code="InvalidCidrBlock.NotPublic",
        )
    if (doc := next((r for r in DOCUMENTATION_RANGES if net.overlaps(r)), None)) and not documentation_range:
        raise InvalidParameter(
            f"EIP pool {cidr} overlaps the documentation range {doc} (RFC 5737), which is not routed on the "
            "Internet; for a lab, the operator allows it with documentation_range=true "
            "('havip eip-pool create --documentation-range')",
            code="InvalidCidrBlock.Documentation",
        )
    lo, hi = POOL_PREFIX_RANGE
    if not lo <= net.prefixlen <= hi:
        raise InvalidParameter(
            f"an EIP pool's prefix length must be between /{lo} and /{hi}", code="InvalidCidrBlock.PrefixLength"
        )
    for other in others:
        if net.overlaps(ipaddress.IPv4Network(other)):
            raise Conflict(f"EIP pool {cidr} overlaps the pool {other}", code="InvalidCidrBlock.Overlap")
    return str(net)


def free_pool_address(pool_cidr: str, used: Collection[str]) -> str | None:
    """The lowest unused host address of an EIP pool (no gateway or broadcast reservation)."""
    return next((str(a) for a in ipaddress.IPv4Network(pool_cidr).hosts() if str(a) not in used), None)
