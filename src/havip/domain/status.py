"""The HaVip status machine and the rules for deleting a HaVip.

Available (no member) <-> InUse (one or more members); Deleting is entered only when
nothing depends on the HaVip any more. Creating exists for the cloud facades, whose
APIs show it; the native API creates synchronously.
"""

from __future__ import annotations

from havip.domain import dependencies
from havip.domain.dependencies import Deletable, Dependent
from havip.domain.errors import IncorrectStatus
from havip.domain.model import HaVip, HaVipStatus

_MUTABLE = frozenset({HaVipStatus.AVAILABLE, HaVipStatus.IN_USE})


def status_for(member_count: int) -> HaVipStatus:
    return HaVipStatus.IN_USE if member_count > 0 else HaVipStatus.AVAILABLE


def check_mutable(havip: HaVip, action: str) -> None:
    if havip.status not in _MUTABLE:
        raise IncorrectStatus(
            f"cannot {action} HaVip {havip.id}: its status is {havip.status.value}; "
            "only an Available or InUse HaVip can be changed",
            code="IncorrectStatus.HaVip",
        )


def check_deletable(havip: HaVip, members: int, eips: int, route_entries: int) -> None:
    """A HaVip may go when it is not in transition and nothing depends on it (``dependencies``)."""
    check_mutable(havip, "delete")
    dependencies.check_deletable(
        Deletable.HAVIP,
        havip.id,
        {Dependent.MEMBERS: members, Dependent.EIPS: eips, Dependent.NEXT_HOP_OF: route_entries},
    )
