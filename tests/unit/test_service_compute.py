"""Hosts, instances and network interfaces over the in-memory store."""

from __future__ import annotations

import pytest

from havip.domain import rules
from havip.domain.errors import Conflict, DependencyViolation, HavipError, InvalidParameter
from havip.domain.model import MemberType
from havip.service import compute, havips, network
from havip.service.compute import Placement

from .builders import Cloud

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="unnamed"),
        pytest.param("web-1", id="short"),
        pytest.param("n" * rules.NAME_MAX, id="at-the-name-limit"),
    ],
)
def test_instance_gets_a_primary_interface(cloud: Cloud, name: str) -> None:
    subnet = cloud.network()
    inst, eni = compute.create_instance(cloud.tenant, subnet_id=subnet.id, name=name)
    assert (inst.name, eni.instance_id, eni.primary, eni.subnet_id) == (name, inst.id, True, subnet.id)
    assert len(eni.name) <= rules.NAME_MAX


def test_mac_is_unique(cloud: Cloud) -> None:
    subnet = cloud.network()
    compute.create_interface(cloud.tenant, subnet_id=subnet.id, mac="00:16:3E:00:00:01")
    with pytest.raises(Conflict) as info:
        compute.create_interface(cloud.tenant, subnet_id=subnet.id, mac="00-16-3e-00-00-01")
    assert info.value.code == "InvalidMac.AlreadyUsed"


def test_device_is_unique_per_host(cloud: Cloud) -> None:
    subnet = cloud.network()
    h1, _ = cloud.host("h1")
    h2, _ = cloud.host("h2")
    compute.create_interface(cloud.tenant, subnet_id=subnet.id, placement=Placement(h1.id, "tap0"))
    compute.create_interface(cloud.tenant, subnet_id=subnet.id, placement=Placement(h2.id, "tap0"))
    with pytest.raises(Conflict) as info:
        compute.create_interface(cloud.tenant, subnet_id=subnet.id, placement=Placement("h1", "tap0"))
    assert info.value.code == "InvalidDevice.AlreadyUsed"


def test_secondary_addresses_can_be_swapped(cloud: Cloud) -> None:
    subnet = cloud.network()
    eni = compute.create_interface(cloud.tenant, subnet_id=subnet.id, secondary_ips=["172.17.16.10", "172.17.16.11"])
    updated = compute.update_interface(cloud.tenant, eni.id, secondary_ips=["172.17.16.11", "172.17.16.12"])
    assert updated.secondary_ips == ["172.17.16.11", "172.17.16.12"]
    other = compute.create_interface(cloud.tenant, subnet_id=subnet.id, primary_ip="172.17.16.10")
    assert other.primary_ip == "172.17.16.10"  # released


@pytest.mark.parametrize(
    ("secondary", "error", "code"),
    [
        pytest.param(["172.17.16.9", "172.17.16.9"], InvalidParameter, "InvalidIpAddress.Duplicate", id="duplicate"),
        pytest.param(["PRIMARY"], InvalidParameter, "InvalidIpAddress.Duplicate", id="the-primary"),
        pytest.param(["172.17.16.254"], InvalidParameter, "InvalidIpAddress.Reserved", id="reserved"),
    ],
)
def test_secondary_addresses_refused(cloud: Cloud, secondary: list[str], error: type[HavipError], code: str) -> None:
    subnet = cloud.network()
    eni = compute.create_interface(cloud.tenant, subnet_id=subnet.id, secondary_ips=["172.17.16.20"])
    wanted = [eni.primary_ip if ip == "PRIMARY" else ip for ip in secondary]
    with pytest.raises(error) as info:
        compute.update_interface(cloud.tenant, eni.id, secondary_ips=wanted)
    assert info.value.code == code
    assert compute.get_interface(cloud.tenant, eni.id).secondary_ips == ["172.17.16.20"]


@pytest.mark.parametrize(
    ("member_type", "code"),
    [
        pytest.param(MemberType.INSTANCE, "DependencyViolation.InstanceIsHaVipMember", id="instance-member"),
        pytest.param(MemberType.NETWORK_INTERFACE, "DependencyViolation.InterfaceIsHaVipMember", id="eni-member"),
    ],
)
def test_members_cannot_be_deleted(cloud: Cloud, member_type: MemberType, code: str) -> None:
    subnet = cloud.network()
    inst, _ = cloud.instance(subnet)
    eni = compute.create_interface(cloud.tenant, subnet_id=subnet.id)
    havip_id = cloud.havip(subnet).havip.id
    member = inst.id if member_type is MemberType.INSTANCE else eni.id
    havips.associate(cloud.tenant, havip_id, member_type, member)
    with pytest.raises(DependencyViolation) as info:
        if member_type is MemberType.INSTANCE:
            compute.delete_instance(cloud.tenant, inst.id)
        else:
            compute.delete_interface(cloud.tenant, eni.id)
    assert info.value.code == code


def test_deleting_an_instance_frees_its_address(cloud: Cloud) -> None:
    subnet = cloud.network()
    inst, eni = cloud.instance(subnet)
    with pytest.raises(Conflict) as info:
        compute.delete_interface(cloud.tenant, eni.id)
    assert info.value.code == "Conflict.PrimaryInterface"
    compute.delete_instance(cloud.tenant, inst.id)
    assert cloud.instance(subnet, ip=eni.primary_ip)[1].primary_ip == eni.primary_ip


def test_subnet_in_use_cannot_be_deleted(cloud: Cloud) -> None:
    subnet = cloud.network()
    cloud.havip(subnet)
    with pytest.raises(DependencyViolation) as info:
        network.delete_subnet(cloud.tenant, subnet.id)
    assert info.value.code == "DependencyViolation.SubnetInUse"


def test_host_with_interfaces_cannot_be_deleted(cloud: Cloud) -> None:
    host, _ = cloud.host("h1")
    cloud.instance(cloud.network(), host)
    with pytest.raises(DependencyViolation) as info:
        compute.delete_host(cloud.operator, "h1")
    assert info.value.code == "DependencyViolation.HostInUse"
