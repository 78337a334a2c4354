"""What must be gone before a resource may be deleted: one table, one function.

``DELETE_BLOCKERS`` lists, for each kind of resource, the kinds of thing that depend on
it, in the order they are checked, with the error each one raises (its stable code and
its message). ``first_blocker`` takes how many of each dependent exist and returns the
error of the first one that is present, or ``None`` when the resource may go.

Callers: the service layer's delete use cases, which count the dependents in the store
and raise what this returns; ``status.check_deletable`` for a HaVip; and
``scripts/gen_errors_doc.py``, which lists the codes of this table. Pure: it counts
nothing itself and touches no store.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from havip.domain.errors import DependencyViolation


class Deletable(enum.StrEnum):
    """The kinds of resource whose delete checks what depends on them."""

    VPC = "vpc"
    SUBNET = "subnet"
    HOST = "host"
    INSTANCE = "instance"
    NETWORK_INTERFACE = "network_interface"
    HAVIP = "havip"
    EIP_POOL = "eip_pool"
    EIP = "eip"


class Dependent(enum.StrEnum):
    """What may depend on a resource; the caller gives a count of each."""

    SUBNETS = "subnets"
    ROUTE_ENTRIES = "route_entries"  # entries of the resource's route tables
    NEXT_HOP_OF = "next_hop_of"  # route entries whose next hop the resource is
    NETWORK_INTERFACES = "network_interfaces"
    SECONDARY_INTERFACES = "secondary_interfaces"  # an instance's interfaces other than its primary
    HAVIPS = "havips"
    HAVIP_MEMBERSHIPS = "havip_memberships"  # HaVips the resource is an associated member of
    MEMBERS = "members"  # a HaVip's associated instances or interfaces
    EIPS = "eips"
    ASSOCIATIONS = "associations"  # an EIP's HaVip or interface (0 or 1)


@dataclass(frozen=True, kw_only=True)
class Blocker:
    """One row: while any ``dependent`` exists, the delete is refused with ``code``.

    ``message`` is a template: ``{label}`` is the resource (its id, a host's name),
    ``{n}`` how many dependents there are.
    """

    dependent: Dependent
    code: str
    message: str

    def error(self, label: str, n: int) -> DependencyViolation:
        return DependencyViolation(self.message.format(label=label, n=n), code=self.code)


DELETE_BLOCKERS: Mapping[Deletable, tuple[Blocker, ...]] = {
    Deletable.VPC: (
        Blocker(
            dependent=Dependent.SUBNETS,
            code="DependencyViolation.VpcHasSubnets",
            message="VPC {label} still has {n} subnet(s); delete them first",
        ),
        Blocker(
            dependent=Dependent.ROUTE_ENTRIES,
            code="DependencyViolation.VpcHasRouteEntries",
            message="VPC {label} still has {n} custom route entr(y/ies); delete them first",
        ),
    ),
    Deletable.SUBNET: (
        Blocker(
            dependent=Dependent.NETWORK_INTERFACES,
            code="DependencyViolation.SubnetInUse",
            message="subnet {label} still has {n} network interface(s); delete them first",
        ),
        Blocker(
            dependent=Dependent.HAVIPS,
            code="DependencyViolation.SubnetInUse",
            message="subnet {label} still has {n} HaVip(s); delete them first",
        ),
    ),
    Deletable.HOST: (
        Blocker(
            dependent=Dependent.NETWORK_INTERFACES,
            code="DependencyViolation.HostInUse",
            message="host {label} still carries {n} network interface(s); move or delete them first",
        ),
    ),
    Deletable.INSTANCE: (
        Blocker(
            dependent=Dependent.HAVIP_MEMBERSHIPS,
            code="DependencyViolation.InstanceIsHaVipMember",
            message="instance {label} is associated with {n} HaVip(s); unassociate it first",
        ),
        Blocker(
            dependent=Dependent.NEXT_HOP_OF,
            code="DependencyViolation.InstanceIsNextHop",
            message="instance {label} is the next hop of a route entry; delete it first",
        ),
        Blocker(
            dependent=Dependent.SECONDARY_INTERFACES,
            code="DependencyViolation.InstanceHasInterfaces",
            message="instance {label} still has {n} secondary network interface(s) attached; delete them first",
        ),
    ),
    Deletable.NETWORK_INTERFACE: (
        Blocker(
            dependent=Dependent.HAVIP_MEMBERSHIPS,
            code="DependencyViolation.InterfaceIsHaVipMember",
            message="network interface {label} is associated with {n} HaVip(s); unassociate it first",
        ),
        Blocker(
            dependent=Dependent.EIPS,
            code="DependencyViolation.InterfaceHasEip",
            message="network interface {label} has an associated EIP; unassociate it first",
        ),
        Blocker(
            dependent=Dependent.NEXT_HOP_OF,
            code="DependencyViolation.InterfaceIsNextHop",
            message="network interface {label} is the next hop of a route entry; delete it first",
        ),
    ),
    Deletable.HAVIP: (
        Blocker(
            dependent=Dependent.MEMBERS,
            code="DependencyViolation.HaVipHasMembers",
            message="HaVip {label} still has {n} associated member(s); unassociate them first",
        ),
        Blocker(
            dependent=Dependent.EIPS,
            code="DependencyViolation.HaVipAssociatedWithEip",
            message="HaVip {label} still has an associated EIP; unassociate it first",
        ),
        Blocker(
            dependent=Dependent.NEXT_HOP_OF,
            code="DependencyViolation.HaVipReferredByRouteEntry",
            message="HaVip {label} is the next hop of {n} route entr(y/ies); delete them first",
        ),
    ),
    Deletable.EIP_POOL: (
        Blocker(
            dependent=Dependent.EIPS,
            code="DependencyViolation.PoolInUse",
            message="EIP pool {label} still has {n} allocated EIP(s)",
        ),
    ),
    Deletable.EIP: (
        Blocker(
            dependent=Dependent.ASSOCIATIONS,
            code="IncorrectEipStatus",  # the clouds' code for "release an associated EIP"
            message="EIP {label} is associated; unassociate it before releasing it",
        ),
    ),
}


def dependents_of(kind: Deletable) -> tuple[Dependent, ...]:
    """What the caller must count before deleting a resource of ``kind``, in checking order."""
    return tuple(b.dependent for b in DELETE_BLOCKERS[kind])


def first_blocker(kind: Deletable, label: str, counts: Mapping[Dependent, int]) -> DependencyViolation | None:
    """The error of the first dependent (in table order) that exists, or ``None``.

    ``counts`` must give every dependent of ``kind`` (``dependents_of``): a missing one is
    a programming error (``ValueError``), never read as zero. Counts of other dependents are
    ignored.
    """
    missing = [d.value for d in dependents_of(kind) if d not in counts]
    if missing:
        raise ValueError(f"deleting a {kind.value} needs the counts of {', '.join(missing)}")
    for blocker in DELETE_BLOCKERS[kind]:
        if n := counts[blocker.dependent]:
            return blocker.error(label, n)
    return None


def check_deletable(kind: Deletable, label: str, counts: Mapping[Dependent, int]) -> None:
    """Raise ``first_blocker``'s error, if there is one."""
    if (error := first_blocker(kind, label, counts)) is not None:
        raise error
