"""Validation rules of the domain (domain/rules.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from havip.domain import rules
from havip.domain.errors import Conflict, HavipError, InvalidParameter
from havip.domain.model import HaVip, HaVipMember, MemberType, Subnet

pytestmark = pytest.mark.unit

SUBNET = Subnet(id="vsw-1", account_id="acc-1", region="local", vpc_id="vpc-1", cidr="172.17.16.0/24")
SMALL = Subnet(id="vsw-2", account_id="acc-1", region="local", vpc_id="vpc-1", cidr="172.17.17.0/29")


def _raises(call: Callable[[], object], error: type[HavipError], code: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert info.value.code == code, info.value.message


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("subnet", "ip"),
    [
        pytest.param(SUBNET, "172.17.16.0", id="24-network"),
        pytest.param(SUBNET, "172.17.16.1", id="24-gateway"),
        pytest.param(SUBNET, "172.17.16.253", id="24-last-but-two"),
        pytest.param(SUBNET, "172.17.16.254", id="24-last-but-one"),
        pytest.param(SUBNET, "172.17.16.255", id="24-broadcast"),
        pytest.param(SMALL, "172.17.17.0", id="29-network"),
        pytest.param(SMALL, "172.17.17.1", id="29-gateway"),
        pytest.param(SMALL, "172.17.17.5", id="29-last-but-two"),
        pytest.param(SMALL, "172.17.17.6", id="29-last-but-one"),
        pytest.param(SMALL, "172.17.17.7", id="29-broadcast"),
    ],
)
def test_reserved_address_refused(subnet: Subnet, ip: str) -> None:
    _raises(lambda: rules.check_address(subnet, ip, set()), InvalidParameter, "InvalidIpAddress.Reserved")


@pytest.mark.parametrize(
    ("subnet", "ip"),
    [
        pytest.param(SUBNET, "172.17.16.3", id="24-product-page-vip"),
        pytest.param(SUBNET, "172.17.16.2", id="24-first-usable"),
        pytest.param(SUBNET, "172.17.16.252", id="24-last-usable"),
        pytest.param(SMALL, "172.17.17.2", id="29-first-usable"),
        pytest.param(SMALL, "172.17.17.4", id="29-last-usable"),
    ],
)
def test_usable_address_allowed(subnet: Subnet, ip: str) -> None:
    assert rules.check_address(subnet, ip, {"172.17.16.7"}) == ip


@pytest.mark.parametrize(
    ("ip", "used", "error", "code"),
    [
        pytest.param("172.17.17.3", set(), InvalidParameter, "InvalidIpAddress.OutOfRange", id="outside-subnet"),
        pytest.param("10.0.0.3", set(), InvalidParameter, "InvalidIpAddress.OutOfRange", id="outside-vpc"),
        pytest.param("172.17.16.3", {"172.17.16.3"}, Conflict, "InvalidIpAddress.AlreadyUsed", id="already-used"),
        pytest.param("172.17.16", set(), InvalidParameter, "InvalidIpAddress.Malformed", id="three-octets"),
        pytest.param("172.17.16.256", set(), InvalidParameter, "InvalidIpAddress.Malformed", id="octet-too-big"),
        pytest.param("172.17.16.3/32", set(), InvalidParameter, "InvalidIpAddress.Malformed", id="with-prefix"),
        pytest.param("vip", set(), InvalidParameter, "InvalidIpAddress.Malformed", id="word"),
        pytest.param("::1", set(), InvalidParameter, "InvalidIpAddress.Malformed", id="ipv6"),
    ],
)
def test_address_refused(ip: str, used: set[str], error: type[HavipError], code: str) -> None:
    _raises(lambda: rules.check_address(SUBNET, ip, used), error, code)


@pytest.mark.parametrize(
    ("subnet", "used", "expected"),
    [
        pytest.param(SUBNET, set(), "172.17.16.2", id="empty-24"),
        pytest.param(SUBNET, {"172.17.16.2", "172.17.16.4"}, "172.17.16.3", id="fills-a-hole"),
        pytest.param(SMALL, {"172.17.17.2", "172.17.17.3"}, "172.17.17.4", id="last-usable-of-29"),
    ],
)
def test_allocation_picks_lowest_free_non_reserved(subnet: Subnet, used: set[str], expected: str) -> None:
    assert rules.allocate_address(subnet, used) == expected


def test_allocation_fails_when_full() -> None:
    full = {"172.17.17.2", "172.17.17.3", "172.17.17.4"}
    _raises(lambda: rules.allocate_address(SMALL, full), Conflict, "InsufficientIpAddresses")


@pytest.mark.parametrize(
    ("rule", "reserved", "usable"),
    [
        pytest.param(rules.NATIVE_ADDRESSES, {"0", "1", "253", "254", "255"}, 251, id="native"),
        pytest.param(rules.ALIBABA_ADDRESSES, {"0", "253", "254", "255"}, 252, id="alibaba"),
        pytest.param(rules.TENCENT_ADDRESSES, {"0", "1", "255"}, 253, id="tencent"),
    ],
)
def test_each_surface_reserves_its_cloud_s_addresses(rule: rules.AddressRule, reserved: set[str], usable: int) -> None:
    assert {str(a).rsplit(".", 1)[1] for a in rules.reserved_addresses(SUBNET.cidr, rule)} == reserved
    assert rules.usable_count(SUBNET.cidr, rule) == usable
    for last in reserved:
        _raises(
            functools.partial(rules.check_address, SUBNET, f"172.17.16.{last}", set(), rule=rule),
            InvalidParameter,
            "InvalidIpAddress.Reserved",
        )
    first_free = min(set(range(256)) - {int(x) for x in reserved})
    assert rules.allocate_address(SUBNET, set(), rule) == f"172.17.16.{first_free}"


def test_gateway_is_the_first_address() -> None:
    assert rules.gateway_address("172.17.16.0/24") == "172.17.16.1"


# ---------------------------------------------------------------- CIDRs


@pytest.mark.parametrize(
    "cidr",
    ["127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "240.0.0.0/8", "198.18.0.0/15", "192.0.2.0/24", "100.64.0.0/10"],
)
def test_vpc_cidr_outside_the_three_private_ranges_is_refused(cidr: str) -> None:
    _raises(lambda: rules.check_vpc_cidr(cidr), InvalidParameter, "InvalidCidrBlock.NotPrivate")


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "172.16.0.0/12", "172.31.0.0/16", "192.168.0.0/16", "192.168.5.0/24"])
def test_vpc_cidr_inside_a_private_range_is_allowed(cidr: str) -> None:
    assert rules.check_vpc_cidr(cidr) == cidr


@pytest.mark.parametrize(
    "cidr",
    [
        "10.1.0.0/24",
        "172.16.0.0/24",
        "192.168.1.0/24",
        "127.0.0.0/24",
        "169.254.1.0/24",
        "100.64.0.0/24",
        "224.0.0.0/24",
        "240.0.0.0/24",
        "198.18.0.0/24",
        "0.0.0.0/24",
    ],
)
def test_eip_pool_must_be_public(cidr: str) -> None:
    _raises(
        lambda: rules.check_pool_cidr(cidr, [], documentation_range=True),
        InvalidParameter,
        "InvalidCidrBlock.NotPublic",
    )


@pytest.mark.parametrize("cidr", ["192.0.2.0/24", "198.51.100.0/26", "203.0.113.0/28", "203.0.0.0/16"])
def test_documentation_pool_needs_the_override(cidr: str) -> None:
    _raises(lambda: rules.check_pool_cidr(cidr, []), InvalidParameter, "InvalidCidrBlock.Documentation")
    assert rules.check_pool_cidr(cidr, [], documentation_range=True) == cidr


def test_public_pool_is_allowed() -> None:
    assert rules.check_pool_cidr("8.8.4.0/24", []) == "8.8.4.0/24"


@pytest.mark.parametrize(
    "cidr",
    [
        pytest.param("10.0.0.0/8", id="widest-8"),
        pytest.param("172.16.0.0/12", id="172-16-12"),
        pytest.param("192.168.0.0/16", id="192-168-16"),
        pytest.param("172.17.0.0/16", id="part-of-172-16"),
        pytest.param("192.168.1.0/28", id="narrowest-28"),
    ],
)
def test_vpc_cidr_allowed(cidr: str) -> None:
    assert rules.check_vpc_cidr(cidr) == cidr


@pytest.mark.parametrize(
    ("cidr", "code"),
    [
        pytest.param("10.0.0.0/7", "InvalidCidrBlock.PrefixLength", id="wider-than-8"),
        pytest.param("192.168.1.0/29", "InvalidCidrBlock.PrefixLength", id="narrower-than-28"),
        pytest.param("8.8.0.0/16", "InvalidCidrBlock.NotPrivate", id="public"),
        pytest.param("100.64.0.0/16", "InvalidCidrBlock.NotPrivate", id="carrier-grade-nat"),
        pytest.param("172.17.0.1/16", "InvalidCidrBlock.Malformed", id="host-bits-set"),
        pytest.param("172.17.0.0", "InvalidCidrBlock.PrefixLength", id="no-prefix-is-a-32"),
        pytest.param("172.17.0.0/33", "InvalidCidrBlock.Malformed", id="prefix-too-long"),
        pytest.param("vpc", "InvalidCidrBlock.Malformed", id="word"),
    ],
)
def test_vpc_cidr_refused(cidr: str, code: str) -> None:
    _raises(lambda: rules.check_vpc_cidr(cidr), InvalidParameter, code)


@pytest.mark.parametrize(
    ("cidr", "siblings"),
    [
        pytest.param("172.17.0.0/16", [], id="whole-vpc-16"),
        pytest.param("172.17.16.0/29", [], id="narrowest-29"),
        pytest.param("172.17.16.0/24", ["172.17.17.0/24", "172.17.15.0/24"], id="between-neighbours"),
    ],
)
def test_subnet_cidr_allowed(cidr: str, siblings: list[str]) -> None:
    assert rules.check_subnet_cidr(cidr, "172.17.0.0/16", siblings) == cidr


@pytest.mark.parametrize(
    ("cidr", "siblings", "error", "code"),
    [
        pytest.param("172.16.0.0/15", [], InvalidParameter, "InvalidCidrBlock.PrefixLength", id="wider-than-16"),
        pytest.param("172.17.16.0/30", [], InvalidParameter, "InvalidCidrBlock.PrefixLength", id="narrower-than-29"),
        pytest.param("172.18.16.0/24", [], InvalidParameter, "InvalidCidrBlock.OutsideVpc", id="outside-vpc"),
        pytest.param("10.0.0.0/24", [], InvalidParameter, "InvalidCidrBlock.OutsideVpc", id="other-range"),
        pytest.param("172.17.16.0/24", ["172.17.16.0/24"], Conflict, "InvalidCidrBlock.Overlap", id="same"),
        pytest.param("172.17.16.0/25", ["172.17.16.0/24"], Conflict, "InvalidCidrBlock.Overlap", id="inside-sibling"),
        pytest.param("172.17.0.0/16", ["172.17.16.0/24"], Conflict, "InvalidCidrBlock.Overlap", id="around-sibling"),
        pytest.param("172.17.16.1/24", [], InvalidParameter, "InvalidCidrBlock.Malformed", id="host-bits-set"),
    ],
)
def test_subnet_cidr_refused(cidr: str, siblings: list[str], error: type[HavipError], code: str) -> None:
    _raises(lambda: rules.check_subnet_cidr(cidr, "172.17.0.0/16", siblings), error, code)


# ---------------------------------------------------------------- names and descriptions


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("web-vip", id="plain"),
        pytest.param("x" * rules.NAME_MAX, id="at-limit"),
        pytest.param("高可用虚拟IP", id="chinese"),
        pytest.param("see http://example", id="url-not-at-start"),
    ],
)
def test_name_allowed(value: str) -> None:
    assert rules.check_name(value) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("x" * (rules.NAME_MAX + 1), id="over-limit"),
        pytest.param("http://vip", id="http"),
        pytest.param("HTTPS://vip", id="https-any-case"),
        pytest.param("web\nvip", id="newline"),
        pytest.param("web\x00vip", id="nul"),
        pytest.param("web\x7fvip", id="del"),
    ],
)
def test_name_refused(value: str) -> None:
    _raises(lambda: rules.check_name(value), InvalidParameter, "InvalidName.Malformed")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("d" * rules.DESCRIPTION_MAX, True, id="at-limit"),
        pytest.param("d" * (rules.DESCRIPTION_MAX + 1), False, id="over-limit"),
        pytest.param("http://docs", False, id="http"),
        pytest.param("tab\there", False, id="control-char"),
        pytest.param("主备切换", True, id="chinese"),
    ],
)
def test_description(value: str, ok: bool) -> None:
    if ok:
        assert rules.check_description(value) == value
    else:
        _raises(lambda: rules.check_description(value), InvalidParameter, "InvalidDescription.Malformed")


def test_name_limit_can_be_narrowed() -> None:
    _raises(lambda: rules.check_name("abcd", "zone", max_len=3), InvalidParameter, "InvalidName.Malformed")


# ---------------------------------------------------------------- MACs and devices


@pytest.mark.parametrize(
    ("mac", "normalised"),
    [
        pytest.param("00:16:3e:12:34:56", "00:16:3e:12:34:56", id="canonical"),
        pytest.param("00:16:3E:AB:CD:EF", "00:16:3e:ab:cd:ef", id="upper-case"),
        pytest.param("00-16-3e-12-34-56", "00:16:3e:12:34:56", id="dashes"),
        pytest.param(" 02:00:00:00:00:01 ", "02:00:00:00:00:01", id="locally-administered-padded"),
    ],
)
def test_mac_allowed(mac: str, normalised: str) -> None:
    assert rules.check_mac(mac) == normalised


@pytest.mark.parametrize(
    ("mac", "code"),
    [
        pytest.param("01:00:5e:00:00:01", "InvalidMac.Multicast", id="multicast"),
        pytest.param("ff:ff:ff:ff:ff:ff", "InvalidMac.Multicast", id="broadcast"),
        pytest.param("00:00:00:00:00:00", "InvalidMac.Malformed", id="zero"),
        pytest.param("00:16:3e:12:34", "InvalidMac.Malformed", id="five-octets"),
        pytest.param("00163e123456", "InvalidMac.Malformed", id="no-separators"),
        pytest.param("00:16:3e:12:34:5g", "InvalidMac.Malformed", id="not-hex"),
    ],
)
def test_mac_refused(mac: str, code: str) -> None:
    _raises(lambda: rules.check_mac(mac), InvalidParameter, code)


@pytest.mark.parametrize(
    ("device", "ok"),
    [
        pytest.param("tap0", True, id="tap"),
        pytest.param("v" * 15, True, id="ifnamsiz-minus-one"),
        pytest.param("v" * 16, False, id="too-long"),
        pytest.param("", False, id="empty"),
        pytest.param("eth 0", False, id="space"),
        pytest.param("eth/0", False, id="slash"),
    ],
)
def test_device(device: str, ok: bool) -> None:
    if ok:
        assert rules.check_device(device) == device
    else:
        _raises(lambda: rules.check_device(device), InvalidParameter, "InvalidDevice.Malformed")


@pytest.mark.parametrize("device", ["lo", "havip-s20000", "havip-x"])
def test_reserved_devices(device: str) -> None:
    _raises(lambda: rules.check_device(device), InvalidParameter, "InvalidDevice.Reserved")


# ---------------------------------------------------------------- route destinations


@pytest.mark.parametrize(
    ("destination", "others"),
    [
        pytest.param("10.0.0.0/24", [], id="outside-vpc"),
        pytest.param("10.0.1.0/24", ["10.0.0.0/24", "10.0.2.0/24"], id="between-entries"),
    ],
)
def test_route_destination_allowed(destination: str, others: list[str]) -> None:
    assert rules.check_route_destination(destination, "172.17.0.0/16", others) == destination


@pytest.mark.parametrize(
    ("destination", "others", "error", "code"),
    [
        pytest.param(
            "172.17.16.0/24", [], InvalidParameter, "InvalidDestinationCidrBlock.OverlapsVpc", id="inside-vpc"
        ),
        pytest.param(
            "172.17.0.0/16", [], InvalidParameter, "InvalidDestinationCidrBlock.OverlapsVpc", id="the-vpc-itself"
        ),
        pytest.param("10.0.0.0/24", ["10.0.0.0/24"], Conflict, "InvalidDestinationCidrBlock.Overlap", id="same"),
        pytest.param("10.0.0.0/16", ["10.0.5.0/24"], Conflict, "InvalidDestinationCidrBlock.Overlap", id="around"),
        pytest.param("10.0.0.1/24", [], InvalidParameter, "InvalidCidrBlock.Malformed", id="host-bits-set"),
    ],
)
def test_route_destination_refused(destination: str, others: list[str], error: type[HavipError], code: str) -> None:
    _raises(lambda: rules.check_route_destination(destination, "172.17.0.0/16", others), error, code)


# ---------------------------------------------------------------- members


def _havip(member_type: MemberType | None = None) -> HaVip:
    return HaVip(
        id="havip-1",
        account_id="acc-1",
        region="local",
        vpc_id="vpc-1",
        subnet_id="vsw-1",
        ip="172.17.16.3",
        member_type=member_type,
    )


def _member(member_type: MemberType, member_id: str) -> HaVipMember:
    return HaVipMember(f"hvm-{member_id}", "havip-1", member_type, member_id, "acc-1")


INST, ENI = MemberType.INSTANCE, MemberType.NETWORK_INTERFACE


@pytest.mark.parametrize(
    ("havip", "member_type", "member_id", "subnets", "existing"),
    [
        pytest.param(_havip(), INST, "i-1", {"vsw-1"}, [], id="first-instance"),
        pytest.param(_havip(), ENI, "eni-1", {"vsw-1"}, [], id="first-eni"),
        pytest.param(_havip(), INST, "i-1", {"vsw-9", "vsw-1"}, [], id="instance-with-one-nic-in-subnet"),
        pytest.param(_havip(INST), INST, "i-2", {"vsw-1"}, [_member(INST, "i-1")], id="second-instance"),
        pytest.param(_havip(INST), ENI, "eni-1", {"vsw-1"}, [], id="type-free-again-after-last-left"),
    ],
)
def test_member_allowed(
    havip: HaVip, member_type: MemberType, member_id: str, subnets: set[str], existing: list[HaVipMember]
) -> None:
    rules.check_new_member(havip, member_type, member_id, subnets, existing)


@pytest.mark.parametrize(
    ("havip", "member_type", "member_id", "subnets", "existing", "error", "code"),
    [
        pytest.param(
            _havip(), INST, "i-1", {"vsw-9"}, [], InvalidParameter, "InvalidMember.NotInSameSubnet", id="cross-subnet"
        ),
        pytest.param(
            _havip(), INST, "i-1", set(), [], InvalidParameter, "InvalidMember.NotInSameSubnet", id="no-interface"
        ),
        pytest.param(
            _havip(INST),
            ENI,
            "eni-1",
            {"vsw-1"},
            [_member(INST, "i-1")],
            InvalidParameter,
            "InvalidMember.MixedTypes",
            id="eni-after-instance",
        ),
        pytest.param(
            _havip(ENI),
            INST,
            "i-1",
            {"vsw-1"},
            [_member(ENI, "eni-1")],
            InvalidParameter,
            "InvalidMember.MixedTypes",
            id="instance-after-eni",
        ),
        pytest.param(
            _havip(INST),
            INST,
            "i-1",
            {"vsw-1"},
            [_member(INST, "i-1")],
            Conflict,
            "InvalidMember.AlreadyAssociated",
            id="duplicate",
        ),
    ],
)
def test_member_refused(
    havip: HaVip,
    member_type: MemberType,
    member_id: str,
    subnets: set[str],
    existing: list[HaVipMember],
    error: type[HavipError],
    code: str,
) -> None:
    _raises(lambda: rules.check_new_member(havip, member_type, member_id, subnets, existing), error, code)


@pytest.mark.parametrize(
    ("member_type", "member_id", "expected"),
    [
        pytest.param(INST, "i-1", True, id="holding-instance"),
        pytest.param(INST, "i-2", False, id="other-instance"),
        pytest.param(ENI, "eni-1", True, id="holding-eni"),
        pytest.param(ENI, "eni-2", False, id="other-eni"),
    ],
)
def test_is_holder(member_type: MemberType, member_id: str, expected: bool) -> None:
    havip = _havip()
    havip.holder_instance_id, havip.holder_interface_id = "i-1", "eni-1"
    assert rules.is_holder(havip, member_type, member_id) is expected


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("", "InvalidUnderlay.Malformed"),
        ("192.0.2", "InvalidUnderlay.Malformed"),
        ("fe80::1", "InvalidUnderlay.Malformed"),
        ("0.0.0.0", "InvalidUnderlay.NotUnicast"),
        ("127.0.0.53", "InvalidUnderlay.NotUnicast"),
        ("169.254.0.1", "InvalidUnderlay.NotUnicast"),
        ("224.0.0.18", "InvalidUnderlay.NotUnicast"),
        ("255.255.255.255", "InvalidUnderlay.NotUnicast"),
    ],
)
def test_an_underlay_must_be_a_unicast_ipv4_address(address: str, code: str) -> None:
    _raises(lambda: rules.check_underlay(address), InvalidParameter, code)


def test_an_underlay_is_kept_in_its_canonical_form() -> None:
    assert rules.check_underlay(" 192.0.2.11 ") == "192.0.2.11"
    assert rules.check_underlay("10.255.0.1") == "10.255.0.1"


def test_vnis_count_up_from_1000_and_fill_gaps_only_at_the_top() -> None:
    def unused() -> list[int]:
        raise AssertionError("the VNIs in use are read only at the top of the range")

    assert rules.next_vni(None, unused) == rules.FIRST_VNI == 1000
    assert rules.next_vni(1000, unused) == 1001
    top = rules.VNI_RANGE[1]
    assert top == 16_777_215
    assert rules.next_vni(top, lambda: [1000, 1001, top]) == 1002
    assert rules.next_vni(top, lambda: range(1000, top + 1)) == 1
    _raises(lambda: rules.next_vni(top, lambda: range(1, top + 1)), Conflict, "InsufficientVni")
