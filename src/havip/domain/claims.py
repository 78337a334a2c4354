"""Who may claim a HaVip, and what a claim does to its holder.

``may_claim`` is the single authority the data plane and the control plane both ask:
the agent calls it on every gratuitous ARP before switching a route, the control
plane calls it again before recording a holder. It returns a decision with a reason
rather than raising, so callers can count and report refusals.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from havip.domain.model import BindingMode, HaVip, HaVipMember, HaVipStatus, MemberType, NetworkInterface


class ClaimReason(enum.StrEnum):
    MEMBER = "member"  # allowed: an associated instance or interface
    SUBNET_MODE = "subnet-mode"  # allowed: any interface of the subnet
    NOT_IN_SUBNET = "not-in-subnet"
    NOT_A_MEMBER = "not-a-member"
    NO_MEMBERS = "no-members"
    HAVIP_DELETING = "havip-deleting"
    OTHER_VPC = "other-vpc"


@dataclass(frozen=True)
class ClaimDecision:
    allowed: bool
    reason: ClaimReason

    def __bool__(self) -> bool:
        return self.allowed


def may_claim(havip: HaVip, interface: NetworkInterface, members: Collection[HaVipMember]) -> ClaimDecision:
    """Whether ``interface`` may take ``havip`` by announcing it.

    The interface must be in the HaVip's subnet. In ``subnet`` mode that suffices; in
    ``explicit`` mode the interface itself (ENI members) or its instance (instance
    members) must be associated with the HaVip.
    """
    if havip.status in (HaVipStatus.DELETING, HaVipStatus.CREATING):
        return ClaimDecision(False, ClaimReason.HAVIP_DELETING)
    if interface.vpc_id != havip.vpc_id:
        return ClaimDecision(False, ClaimReason.OTHER_VPC)
    if interface.subnet_id != havip.subnet_id:
        return ClaimDecision(False, ClaimReason.NOT_IN_SUBNET)
    if havip.binding_mode is BindingMode.SUBNET:
        return ClaimDecision(True, ClaimReason.SUBNET_MODE)
    if not members:
        return ClaimDecision(False, ClaimReason.NO_MEMBERS)
    for m in members:
        if m.member_type is MemberType.NETWORK_INTERFACE and m.member_id == interface.id:
            return ClaimDecision(True, ClaimReason.MEMBER)
        if m.member_type is MemberType.INSTANCE and interface.instance_id == m.member_id:
            return ClaimDecision(True, ClaimReason.MEMBER)
    return ClaimDecision(False, ClaimReason.NOT_A_MEMBER)


def is_current_holder(havip: HaVip, interface: NetworkInterface) -> bool:
    return havip.holder_interface_id == interface.id
