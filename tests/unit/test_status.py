"""The HaVip status machine and the delete rules (domain/status.py)."""

from __future__ import annotations

import pytest

from havip.domain import status
from havip.domain.errors import DependencyViolation, IncorrectStatus
from havip.domain.model import HaVip, HaVipStatus

pytestmark = pytest.mark.unit


def _havip(state: HaVipStatus = HaVipStatus.AVAILABLE) -> HaVip:
    return HaVip("havip-1", "acc-1", "local", "vpc-1", "vsw-1", "172.17.16.3", status=state)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param(0, HaVipStatus.AVAILABLE, id="no-members"),
        pytest.param(1, HaVipStatus.IN_USE, id="one-member"),
        pytest.param(10, HaVipStatus.IN_USE, id="ten-members"),
    ],
)
def test_status_for(members: int, expected: HaVipStatus) -> None:
    assert status.status_for(members) is expected


@pytest.mark.parametrize(
    ("members", "eips", "routes", "code"),
    [
        pytest.param(1, 0, 0, "DependencyViolation.HaVipHasMembers", id="members"),
        pytest.param(0, 1, 0, "DependencyViolation.HaVipAssociatedWithEip", id="eip"),
        pytest.param(0, 0, 1, "DependencyViolation.HaVipReferredByRouteEntry", id="route-entry"),
        pytest.param(2, 1, 3, "DependencyViolation.HaVipHasMembers", id="all-members-first"),
    ],
)
def test_delete_refused_while_something_depends(members: int, eips: int, routes: int, code: str) -> None:
    with pytest.raises(DependencyViolation) as info:
        status.check_deletable(_havip(HaVipStatus.IN_USE), members, eips, routes)
    assert info.value.code == code


def test_delete_allowed_when_nothing_depends() -> None:
    status.check_deletable(_havip(), 0, 0, 0)


@pytest.mark.parametrize(
    ("state", "mutable"),
    [
        pytest.param(HaVipStatus.AVAILABLE, True, id="available"),
        pytest.param(HaVipStatus.IN_USE, True, id="in-use"),
        pytest.param(HaVipStatus.DELETING, False, id="deleting"),
        pytest.param(HaVipStatus.CREATING, False, id="creating"),
    ],
)
def test_mutable(state: HaVipStatus, mutable: bool) -> None:
    if mutable:
        status.check_mutable(_havip(state), "modify")
    else:
        with pytest.raises(IncorrectStatus) as info:
            status.check_mutable(_havip(state), "modify")
        assert info.value.code == "IncorrectStatus.HaVip"


def test_deleting_havip_cannot_be_deleted_again() -> None:
    with pytest.raises(IncorrectStatus):
        status.check_deletable(_havip(HaVipStatus.DELETING), 0, 0, 0)
