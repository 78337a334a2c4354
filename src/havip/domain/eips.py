"""Which targets an EIP may be associated with, and when it may change.

An EIP is associated with exactly one target at a time: a HaVip (it follows the
holder) or a network interface. ``target_of`` picks the target a request names;
``check_havip_target`` and ``check_interface_target`` hold for the loaded target, in
the order the rules are checked; ``check_associable``/``check_unassociable`` for the
EIP itself. Releasing an associated EIP is refused by the delete table
(``dependencies``).

Called by ``service.eips``. Pure: the caller loads the objects and counts the EIPs.
"""

from __future__ import annotations

import enum

from havip.domain import quotas, status
from havip.domain.errors import Conflict, InvalidParameter, NotFound
from havip.domain.model import Eip, HaVip, NetworkInterface
from havip.domain.quotas import Quota


class EipTarget(enum.StrEnum):
    HAVIP = "havip"
    NETWORK_INTERFACE = "network_interface"


def target_of(havip_id: str | None, network_interface_id: str | None) -> EipTarget:
    """The kind of target a request names: exactly one of a HaVip or an interface."""
    if (havip_id is None) == (network_interface_id is None):
        raise InvalidParameter("associate an EIP with exactly one of a HaVip or a network interface")
    return EipTarget.HAVIP if havip_id is not None else EipTarget.NETWORK_INTERFACE


def check_associable(eip: Eip) -> None:
    """An EIP is associated only while it is free."""
    if eip.associated:
        raise Conflict(f"EIP {eip.id} is already associated; unassociate it first", code="IncorrectEipStatus")


def check_unassociable(eip: Eip) -> None:
    if not eip.associated:
        raise Conflict(f"EIP {eip.id} is not associated", code="IncorrectEipStatus")


def check_havip_target(eip: Eip, havip: HaVip, *, eips_of_havip: int, limit: int) -> None:
    """The HaVip is the EIP's account's (an operator acts for one account at a time), can
    be changed, has room under ``eips_per_havip`` (``limit``) and is in the EIP's region."""
    if havip.account_id != eip.account_id:
        raise NotFound("HaVip", havip.id)
    status.check_mutable(havip, "associate an EIP with")
    quotas.check(Quota.EIPS_PER_HAVIP, limit, eips_of_havip, f"associating EIP {eip.id} with HaVip {havip.id}")
    if havip.region != eip.region:
        raise InvalidParameter("the EIP and the HaVip must be in one region", code="InvalidRegionId.Mismatch")


def check_interface_target(eip: Eip, eni: NetworkInterface, *, eips_of_interface: int) -> None:
    """The interface is the EIP's account's and has no EIP yet (one per interface)."""
    if eni.account_id != eip.account_id:
        raise NotFound("NetworkInterface", eni.id)
    if eips_of_interface:
        raise Conflict(f"network interface {eni.id} already has an EIP", code="IncorrectEipStatus")
