"""Next-hop rules of route entries (domain/routing.py) and EIP target rules (domain/eips.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from havip.domain import eips, routing
from havip.domain.eips import EipTarget
from havip.domain.errors import Conflict, HavipError, IncorrectStatus, InvalidParameter, NotFound, QuotaExceeded
from havip.domain.model import Eip, HaVip, HaVipStatus, Instance, NetworkInterface, NextHopType

pytestmark = pytest.mark.unit

HAVIP = HaVip(id="havip-1", account_id="acc-1", region="local", vpc_id="vpc-1", subnet_id="vsw-1", ip="172.17.16.3")
INSTANCE = Instance(id="i-1", account_id="acc-1", region="local", vpc_id="vpc-1", subnet_id="vsw-1")
ENI = NetworkInterface(
    id="eni-1",
    account_id="acc-1",
    region="local",
    vpc_id="vpc-1",
    subnet_id="vsw-1",
    primary_ip="172.17.16.10",
    mac="02:00:00:00:00:01",
)
EIP = Eip(id="eip-1", account_id="acc-1", region="local", pool_id="eippool-1", ip="203.0.113.5")


def _outcome(call: Callable[[], object], error: type[HavipError] | None, code: str | None) -> None:
    if error is None:
        call()
        return
    with pytest.raises(error) as info:
        call()
    assert info.value.code == code, info.value.message


# ---------------------------------------------------------------- next hops


@pytest.mark.parametrize(
    ("kind", "hop", "vpc_id", "error", "code"),
    [
        pytest.param(NextHopType.HAVIP, HAVIP, "vpc-1", None, None, id="havip-available"),
        pytest.param(
            NextHopType.HAVIP, replace(HAVIP, status=HaVipStatus.IN_USE), "vpc-1", None, None, id="havip-in-use"
        ),
        pytest.param(
            NextHopType.HAVIP,
            replace(HAVIP, status=HaVipStatus.DELETING),
            "vpc-1",
            IncorrectStatus,
            "IncorrectStatus.HaVip",
            id="havip-deleting",
        ),
        pytest.param(
            NextHopType.HAVIP,
            replace(HAVIP, status=HaVipStatus.CREATING),
            "vpc-2",
            IncorrectStatus,
            "IncorrectStatus.HaVip",
            id="havip-status-checked-before-vpc",
        ),
        pytest.param(
            NextHopType.HAVIP, HAVIP, "vpc-2", InvalidParameter, "InvalidNextHop.VpcMismatch", id="havip-other-vpc"
        ),
        pytest.param(NextHopType.INSTANCE, INSTANCE, "vpc-1", None, None, id="instance"),
        pytest.param(
            NextHopType.INSTANCE,
            INSTANCE,
            "vpc-2",
            InvalidParameter,
            "InvalidNextHop.VpcMismatch",
            id="instance-other-vpc",
        ),
        pytest.param(NextHopType.NETWORK_INTERFACE, ENI, "vpc-1", None, None, id="interface"),
        pytest.param(
            NextHopType.NETWORK_INTERFACE,
            ENI,
            "vpc-2",
            InvalidParameter,
            "InvalidNextHop.VpcMismatch",
            id="interface-other-vpc",
        ),
    ],
)
def test_next_hop(
    kind: NextHopType,
    hop: routing.NextHop,
    vpc_id: str,
    error: type[HavipError] | None,
    code: str | None,
) -> None:
    _outcome(lambda: routing.check_next_hop(kind, hop, hop.id, vpc_id), error, code)


def test_next_hop_mismatch_message_names_the_hop_and_the_vpc() -> None:
    with pytest.raises(InvalidParameter) as info:
        routing.check_next_hop(NextHopType.INSTANCE, INSTANCE, "i-1", "vpc-2")
    assert info.value.message == "next hop i-1 is not in the route table's VPC vpc-2"


@pytest.mark.parametrize(
    ("kind", "hop"),
    [
        pytest.param(NextHopType.HAVIP, INSTANCE, id="havip-given-an-instance"),
        pytest.param(NextHopType.INSTANCE, ENI, id="instance-given-an-interface"),
        pytest.param(NextHopType.NETWORK_INTERFACE, HAVIP, id="interface-given-a-havip"),
    ],
)
def test_next_hop_of_the_wrong_class_is_a_programming_error(kind: NextHopType, hop: routing.NextHop) -> None:
    with pytest.raises(TypeError):
        routing.check_next_hop(kind, hop, hop.id, "vpc-1")


@pytest.mark.parametrize(
    ("kind", "cls", "counts"),
    [
        pytest.param(NextHopType.HAVIP, HaVip, True, id="havip"),
        pytest.param(NextHopType.INSTANCE, Instance, False, id="instance"),
        pytest.param(NextHopType.NETWORK_INTERFACE, NetworkInterface, False, id="interface"),
    ],
)
def test_next_hop_table(kind: NextHopType, cls: type[routing.NextHop], counts: bool) -> None:
    assert set(routing.NEXT_HOPS) == set(NextHopType)
    assert routing.NEXT_HOPS[kind].kind is cls
    assert routing.counts_toward_havip_quota(kind) is counts


H, V, N = NextHopType.HAVIP, NextHopType.INSTANCE, NextHopType.NETWORK_INTERFACE


@pytest.mark.parametrize(
    ("existing", "limit", "ok"),
    [
        pytest.param([], 5, True, id="empty-table"),
        pytest.param([H, H, H, H], 5, True, id="the-fifth"),
        pytest.param([H, H, H, H, H], 5, False, id="the-sixth"),
        pytest.param([H, V, N, V, N, V], 2, True, id="other-next-hops-not-counted"),
        pytest.param([H, H, V], 2, False, id="full-with-others"),
        pytest.param([], 0, False, id="quota-zero"),
    ],
)
def test_havip_route_quota(existing: list[NextHopType], limit: int, ok: bool) -> None:
    _outcome(
        lambda: routing.check_havip_route_quota(existing, limit, "rtb-1"),
        None if ok else QuotaExceeded,
        None if ok else "QuotaExceeded.havip_routes_per_table",
    )


# ---------------------------------------------------------------- EIP targets


@pytest.mark.parametrize(
    ("havip_id", "eni_id", "target"),
    [
        pytest.param("havip-1", None, EipTarget.HAVIP, id="havip"),
        pytest.param(None, "eni-1", EipTarget.NETWORK_INTERFACE, id="interface"),
        pytest.param(None, None, None, id="neither"),
        pytest.param("havip-1", "eni-1", None, id="both"),
    ],
)
def test_target_of(havip_id: str | None, eni_id: str | None, target: EipTarget | None) -> None:
    if target is not None:
        assert eips.target_of(havip_id, eni_id) is target
        return
    with pytest.raises(InvalidParameter) as info:
        eips.target_of(havip_id, eni_id)
    assert info.value.code == "InvalidParameter"


@pytest.mark.parametrize(
    ("eip", "associable"),
    [
        pytest.param(EIP, True, id="free"),
        pytest.param(replace(EIP, havip_id="havip-1"), False, id="on-a-havip"),
        pytest.param(replace(EIP, network_interface_id="eni-1"), False, id="on-an-interface"),
    ],
)
def test_associate_and_unassociate_need_the_opposite_state(eip: Eip, associable: bool) -> None:
    _outcome(lambda: eips.check_associable(eip), None if associable else Conflict, "IncorrectEipStatus")
    _outcome(lambda: eips.check_unassociable(eip), Conflict if associable else None, "IncorrectEipStatus")


@pytest.mark.parametrize(
    ("havip", "eips_of_havip", "limit", "error", "code"),
    [
        pytest.param(HAVIP, 0, 1, None, None, id="free-havip"),
        pytest.param(replace(HAVIP, status=HaVipStatus.IN_USE), 0, 1, None, None, id="in-use-havip"),
        pytest.param(replace(HAVIP, account_id="acc-2"), 0, 1, NotFound, "NotFound.HaVip", id="another-account"),
        pytest.param(
            replace(HAVIP, account_id="acc-2", status=HaVipStatus.DELETING),
            0,
            1,
            NotFound,
            "NotFound.HaVip",
            id="account-checked-before-status",
        ),
        pytest.param(
            replace(HAVIP, status=HaVipStatus.DELETING),
            0,
            1,
            IncorrectStatus,
            "IncorrectStatus.HaVip",
            id="deleting",
        ),
        pytest.param(HAVIP, 1, 1, QuotaExceeded, "QuotaExceeded.eips_per_havip", id="already-has-its-eip"),
        pytest.param(HAVIP, 1, 2, None, None, id="quota-raised"),
        pytest.param(
            replace(HAVIP, region="other"), 0, 1, InvalidParameter, "InvalidRegionId.Mismatch", id="other-region"
        ),
        pytest.param(
            replace(HAVIP, region="other"),
            1,
            1,
            QuotaExceeded,
            "QuotaExceeded.eips_per_havip",
            id="quota-checked-before-region",
        ),
    ],
)
def test_havip_target(
    havip: HaVip, eips_of_havip: int, limit: int, error: type[HavipError] | None, code: str | None
) -> None:
    _outcome(lambda: eips.check_havip_target(EIP, havip, eips_of_havip=eips_of_havip, limit=limit), error, code)


@pytest.mark.parametrize(
    ("eni", "eips_of_interface", "error", "code"),
    [
        pytest.param(ENI, 0, None, None, id="free-interface"),
        pytest.param(replace(ENI, account_id="acc-2"), 0, NotFound, "NotFound.NetworkInterface", id="another-account"),
        pytest.param(ENI, 1, Conflict, "IncorrectEipStatus", id="already-has-an-eip"),
        pytest.param(
            replace(ENI, account_id="acc-2"), 1, NotFound, "NotFound.NetworkInterface", id="account-checked-first"
        ),
    ],
)
def test_interface_target(
    eni: NetworkInterface, eips_of_interface: int, error: type[HavipError] | None, code: str | None
) -> None:
    _outcome(lambda: eips.check_interface_target(EIP, eni, eips_of_interface=eips_of_interface), error, code)
