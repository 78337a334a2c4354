"""The delete-dependency table (domain/dependencies.py): which dependent blocks which delete, in order."""

from __future__ import annotations

import pytest

from havip.domain.dependencies import (
    DELETE_BLOCKERS,
    Deletable,
    Dependent,
    check_deletable,
    dependents_of,
    first_blocker,
)
from havip.domain.errors import DependencyViolation, Kind

pytestmark = pytest.mark.unit

D = Dependent


def _none(kind: Deletable) -> dict[Dependent, int]:
    return dict.fromkeys(dependents_of(kind), 0)


@pytest.mark.parametrize(
    ("kind", "label", "present", "code", "message"),
    [
        pytest.param(
            Deletable.VPC,
            "vpc-1",
            {D.SUBNETS: 2},
            "DependencyViolation.VpcHasSubnets",
            "VPC vpc-1 still has 2 subnet(s); delete them first",
            id="vpc-subnets",
        ),
        pytest.param(
            Deletable.VPC,
            "vpc-1",
            {D.ROUTE_ENTRIES: 1},
            "DependencyViolation.VpcHasRouteEntries",
            "VPC vpc-1 still has 1 custom route entr(y/ies); delete them first",
            id="vpc-route-entries",
        ),
        pytest.param(
            Deletable.VPC,
            "vpc-1",
            {D.SUBNETS: 1, D.ROUTE_ENTRIES: 3},
            "DependencyViolation.VpcHasSubnets",
            "VPC vpc-1 still has 1 subnet(s); delete them first",
            id="vpc-subnets-checked-first",
        ),
        pytest.param(
            Deletable.SUBNET,
            "vsw-1",
            {D.NETWORK_INTERFACES: 3},
            "DependencyViolation.SubnetInUse",
            "subnet vsw-1 still has 3 network interface(s); delete them first",
            id="subnet-interfaces",
        ),
        pytest.param(
            Deletable.SUBNET,
            "vsw-1",
            {D.HAVIPS: 1},
            "DependencyViolation.SubnetInUse",
            "subnet vsw-1 still has 1 HaVip(s); delete them first",
            id="subnet-havips",
        ),
        pytest.param(
            Deletable.SUBNET,
            "vsw-1",
            {D.NETWORK_INTERFACES: 1, D.HAVIPS: 1},
            "DependencyViolation.SubnetInUse",
            "subnet vsw-1 still has 1 network interface(s); delete them first",
            id="subnet-interfaces-checked-first",
        ),
        pytest.param(
            Deletable.HOST,
            "hv-1",
            {D.NETWORK_INTERFACES: 4},
            "DependencyViolation.HostInUse",
            "host hv-1 still carries 4 network interface(s); move or delete them first",
            id="host-interfaces",
        ),
        pytest.param(
            Deletable.INSTANCE,
            "i-1",
            {D.HAVIP_MEMBERSHIPS: 2},
            "DependencyViolation.InstanceIsHaVipMember",
            "instance i-1 is associated with 2 HaVip(s); unassociate it first",
            id="instance-member",
        ),
        pytest.param(
            Deletable.INSTANCE,
            "i-1",
            {D.NEXT_HOP_OF: 1},
            "DependencyViolation.InstanceIsNextHop",
            "instance i-1 is the next hop of a route entry; delete it first",
            id="instance-next-hop",
        ),
        pytest.param(
            Deletable.INSTANCE,
            "i-1",
            {D.SECONDARY_INTERFACES: 2},
            "DependencyViolation.InstanceHasInterfaces",
            "instance i-1 still has 2 secondary network interface(s) attached; delete them first",
            id="instance-secondary-interfaces",
        ),
        pytest.param(
            Deletable.INSTANCE,
            "i-1",
            {D.NEXT_HOP_OF: 1, D.SECONDARY_INTERFACES: 1},
            "DependencyViolation.InstanceIsNextHop",
            "instance i-1 is the next hop of a route entry; delete it first",
            id="instance-next-hop-before-interfaces",
        ),
        pytest.param(
            Deletable.NETWORK_INTERFACE,
            "eni-1",
            {D.HAVIP_MEMBERSHIPS: 1},
            "DependencyViolation.InterfaceIsHaVipMember",
            "network interface eni-1 is associated with 1 HaVip(s); unassociate it first",
            id="interface-member",
        ),
        pytest.param(
            Deletable.NETWORK_INTERFACE,
            "eni-1",
            {D.EIPS: 1},
            "DependencyViolation.InterfaceHasEip",
            "network interface eni-1 has an associated EIP; unassociate it first",
            id="interface-eip",
        ),
        pytest.param(
            Deletable.NETWORK_INTERFACE,
            "eni-1",
            {D.NEXT_HOP_OF: 2},
            "DependencyViolation.InterfaceIsNextHop",
            "network interface eni-1 is the next hop of a route entry; delete it first",
            id="interface-next-hop",
        ),
        pytest.param(
            Deletable.NETWORK_INTERFACE,
            "eni-1",
            {D.HAVIP_MEMBERSHIPS: 1, D.EIPS: 1, D.NEXT_HOP_OF: 1},
            "DependencyViolation.InterfaceIsHaVipMember",
            "network interface eni-1 is associated with 1 HaVip(s); unassociate it first",
            id="interface-member-checked-first",
        ),
        pytest.param(
            Deletable.HAVIP,
            "havip-1",
            {D.MEMBERS: 2},
            "DependencyViolation.HaVipHasMembers",
            "HaVip havip-1 still has 2 associated member(s); unassociate them first",
            id="havip-members",
        ),
        pytest.param(
            Deletable.HAVIP,
            "havip-1",
            {D.EIPS: 1},
            "DependencyViolation.HaVipAssociatedWithEip",
            "HaVip havip-1 still has an associated EIP; unassociate it first",
            id="havip-eip",
        ),
        pytest.param(
            Deletable.HAVIP,
            "havip-1",
            {D.NEXT_HOP_OF: 3},
            "DependencyViolation.HaVipReferredByRouteEntry",
            "HaVip havip-1 is the next hop of 3 route entr(y/ies); delete them first",
            id="havip-route-entries",
        ),
        pytest.param(
            Deletable.HAVIP,
            "havip-1",
            {D.EIPS: 1, D.NEXT_HOP_OF: 1},
            "DependencyViolation.HaVipAssociatedWithEip",
            "HaVip havip-1 still has an associated EIP; unassociate it first",
            id="havip-eip-before-route-entries",
        ),
        pytest.param(
            Deletable.EIP_POOL,
            "eippool-1",
            {D.EIPS: 5},
            "DependencyViolation.PoolInUse",
            "EIP pool eippool-1 still has 5 allocated EIP(s)",
            id="pool-eips",
        ),
        pytest.param(
            Deletable.EIP,
            "eip-1",
            {D.ASSOCIATIONS: 1},
            "IncorrectEipStatus",
            "EIP eip-1 is associated; unassociate it before releasing it",
            id="eip-associated",
        ),
    ],
)
def test_first_blocker(kind: Deletable, label: str, present: dict[Dependent, int], code: str, message: str) -> None:
    error = first_blocker(kind, label, _none(kind) | present)
    assert isinstance(error, DependencyViolation)
    assert (error.code, error.message, error.kind) == (code, message, Kind.CONFLICT)
    with pytest.raises(DependencyViolation) as raised:
        check_deletable(kind, label, _none(kind) | present)
    assert (raised.value.code, raised.value.message) == (code, message)


@pytest.mark.parametrize("kind", list(Deletable), ids=str)
def test_nothing_depends_nothing_blocks(kind: Deletable) -> None:
    assert first_blocker(kind, "x-1", _none(kind)) is None
    check_deletable(kind, "x-1", _none(kind))


@pytest.mark.parametrize("kind", list(Deletable), ids=str)
def test_a_missing_count_is_a_programming_error_not_zero(kind: Deletable) -> None:
    counts = _none(kind)
    counts.pop(dependents_of(kind)[-1])
    with pytest.raises(ValueError, match="needs the counts of"):
        first_blocker(kind, "x-1", counts)


def test_every_kind_has_a_row_and_no_dependent_twice() -> None:
    assert set(DELETE_BLOCKERS) == set(Deletable)
    for kind in Deletable:
        assert len(set(dependents_of(kind))) == len(dependents_of(kind)), kind
