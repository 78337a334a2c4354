"""Who may claim a HaVip by ARP announcement (domain/claims.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from havip.domain.claims import (
    ClaimOrder,
    ClaimReason,
    Outcome,
    ReportKind,
    clear_holder,
    judge_report,
    may_claim,
    set_holder,
)
from havip.domain.errors import InvalidParameter
from havip.domain.model import BindingMode, HaVip, HaVipMember, HaVipStatus, MemberType, NetworkInterface

pytestmark = pytest.mark.unit

INST, ENI = MemberType.INSTANCE, MemberType.NETWORK_INTERFACE


def _havip(mode: BindingMode = BindingMode.EXPLICIT, state: HaVipStatus = HaVipStatus.IN_USE) -> HaVip:
    return HaVip("havip-1", "acc-1", "local", "vpc-1", "vsw-1", "172.17.16.3", binding_mode=mode, status=state)


def _eni(
    ident: str = "eni-1", instance: str | None = "i-1", subnet: str = "vsw-1", vpc: str = "vpc-1"
) -> NetworkInterface:
    return NetworkInterface(
        ident, "acc-1", "local", vpc, subnet, "172.17.16.7", "00:16:3e:00:00:01", instance_id=instance
    )


def _members(member_type: MemberType, *member_ids: str) -> list[HaVipMember]:
    return [HaVipMember(f"hvm-{i}", "havip-1", member_type, i, "acc-1") for i in member_ids]


@pytest.mark.parametrize(
    ("havip", "eni", "members", "allowed", "reason"),
    [
        pytest.param(_havip(), _eni(), _members(INST, "i-1"), True, ClaimReason.MEMBER, id="explicit-instance-member"),
        pytest.param(
            _havip(), _eni(), _members(INST, "i-9", "i-1"), True, ClaimReason.MEMBER, id="explicit-second-instance"
        ),
        pytest.param(
            _havip(), _eni(instance=None), _members(ENI, "eni-1"), True, ClaimReason.MEMBER, id="explicit-eni-member"
        ),
        pytest.param(
            _havip(), _eni(), _members(INST, "i-2"), False, ClaimReason.NOT_A_MEMBER, id="explicit-other-instance"
        ),
        pytest.param(
            _havip(), _eni(), _members(ENI, "eni-2"), False, ClaimReason.NOT_A_MEMBER, id="explicit-other-eni"
        ),
        pytest.param(
            _havip(),
            _eni(ident="eni-2", instance="i-1"),
            _members(ENI, "eni-1"),
            False,
            ClaimReason.NOT_A_MEMBER,
            id="explicit-eni-member-other-nic-of-same-instance",
        ),
        pytest.param(
            _havip(), _eni(instance=None), _members(INST, "i-1"), False, ClaimReason.NOT_A_MEMBER, id="unattached-eni"
        ),
        pytest.param(
            _havip(BindingMode.EXPLICIT, HaVipStatus.AVAILABLE),
            _eni(),
            [],
            False,
            ClaimReason.NO_MEMBERS,
            id="explicit-no-members",
        ),
        pytest.param(
            _havip(), _eni(subnet="vsw-2"), _members(INST, "i-1"), False, ClaimReason.NOT_IN_SUBNET, id="other-subnet"
        ),
        pytest.param(
            _havip(),
            _eni(subnet="vsw-2", vpc="vpc-2"),
            _members(INST, "i-1"),
            False,
            ClaimReason.OTHER_VPC,
            id="other-vpc",
        ),
        pytest.param(
            _havip(BindingMode.SUBNET, HaVipStatus.AVAILABLE),
            _eni(),
            [],
            True,
            ClaimReason.SUBNET_MODE,
            id="subnet-mode-no-members",
        ),
        pytest.param(
            _havip(BindingMode.SUBNET),
            _eni(),
            _members(INST, "i-2"),
            True,
            ClaimReason.SUBNET_MODE,
            id="subnet-mode-non-member",
        ),
        pytest.param(
            _havip(BindingMode.SUBNET),
            _eni(subnet="vsw-2"),
            [],
            False,
            ClaimReason.NOT_IN_SUBNET,
            id="subnet-mode-other-subnet",
        ),
        pytest.param(
            _havip(BindingMode.SUBNET),
            _eni(subnet="vsw-2", vpc="vpc-2"),
            [],
            False,
            ClaimReason.OTHER_VPC,
            id="subnet-mode-other-vpc",
        ),
        pytest.param(
            _havip(state=HaVipStatus.DELETING),
            _eni(),
            _members(INST, "i-1"),
            False,
            ClaimReason.HAVIP_DELETING,
            id="deleting-explicit-member",
        ),
        pytest.param(
            _havip(BindingMode.SUBNET, HaVipStatus.DELETING),
            _eni(),
            [],
            False,
            ClaimReason.HAVIP_DELETING,
            id="deleting-subnet-mode",
        ),
    ],
)
def test_may_claim(
    havip: HaVip, eni: NetworkInterface, members: list[HaVipMember], allowed: bool, reason: ClaimReason
) -> None:
    decision = may_claim(havip, eni, members)
    assert decision.allowed is allowed
    assert bool(decision) is allowed
    assert decision.reason is reason


NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _member_pair() -> list[HaVipMember]:
    return [HaVipMember("m1", "havip-1", ENI, "eni-1", "acc-1"), HaVipMember("m2", "havip-1", ENI, "eni-2", "acc-1")]


@pytest.mark.parametrize(
    ("holder", "since", "kind", "claimant", "at", "outcome"),
    [
        pytest.param(None, None, ReportKind.CLAIM, "eni-1", NOW, Outcome.HOLDER_CHANGED, id="first-claim"),
        pytest.param("eni-1", NOW, ReportKind.CLAIM, "eni-1", NOW, Outcome.UNCHANGED, id="refresh-is-a-no-op"),
        pytest.param("eni-1", NOW, ReportKind.CLAIM, "eni-2", NOW, Outcome.HOLDER_CHANGED, id="takeover"),
        pytest.param(
            "eni-1",
            NOW,
            ReportKind.CLAIM,
            "eni-2",
            NOW - dt.timedelta(seconds=1),
            Outcome.STALE,
            id="older-than-holder",
        ),
        pytest.param("eni-1", NOW, ReportKind.PROBE_ANSWER, "eni-2", NOW, Outcome.STALE, id="probe-never-outranks"),
        pytest.param(
            None, None, ReportKind.PROBE_ANSWER, "eni-2", NOW, Outcome.HOLDER_CHANGED, id="probe-finds-holder"
        ),
        pytest.param("eni-1", NOW, ReportKind.CLAIM, "eni-9", NOW, Outcome.REFUSED, id="non-member"),
        pytest.param(None, None, ReportKind.REFUSED, "eni-1", NOW, Outcome.REFUSED, id="data-plane-refused"),
        pytest.param("eni-1", NOW, ReportKind.SPLIT_BRAIN, "eni-2", NOW, Outcome.RECORDED, id="split-brain"),
    ],
)
def test_judge_report(
    holder: str | None, since: dt.datetime | None, kind: ReportKind, claimant: str, at: dt.datetime, outcome: Outcome
) -> None:
    havip = _havip()
    havip.holder_interface_id, havip.holder_since = holder, since
    verdict = judge_report(havip, _eni(claimant), _member_pair(), kind, at, NOW)
    assert verdict.outcome is outcome
    if outcome is Outcome.REFUSED and kind is ReportKind.CLAIM:
        assert verdict.reason == ClaimReason.NOT_A_MEMBER.value


def test_judge_report_refuses_the_future_and_clamps_small_skew() -> None:
    havip = _havip()
    with pytest.raises(InvalidParameter, match="ahead of the control plane"):
        judge_report(havip, _eni("eni-1"), _member_pair(), ReportKind.CLAIM, NOW + dt.timedelta(minutes=1), NOW)
    verdict = judge_report(havip, _eni("eni-1"), _member_pair(), ReportKind.CLAIM, NOW + dt.timedelta(seconds=2), NOW)
    assert verdict.at == NOW


def test_set_and_clear_holder() -> None:
    havip = _havip()
    eni = _eni("eni-1")
    set_holder(havip, eni, "host-1", NOW)
    assert (havip.holder_interface_id, havip.holder_host_id, havip.holder_since) == ("eni-1", "host-1", NOW)
    assert clear_holder(havip) == ("eni-1", eni.instance_id)
    assert (havip.holder_interface_id, havip.holder_instance_id, havip.holder_since) == (None, None, None)


@pytest.mark.parametrize(
    ("epoch", "claimant_host", "outcome", "contested"),
    [
        pytest.param(8, "h2", Outcome.HOLDER_CHANGED, False, id="higher-epoch-wins-even-if-older"),
        pytest.param(6, "h0", Outcome.STALE, False, id="lower-epoch-is-stale"),
        pytest.param(7, "h0", Outcome.HOLDER_CHANGED, True, id="tie-lower-host-wins"),
        pytest.param(7, "h2", Outcome.STALE, True, id="tie-higher-host-loses"),
    ],
)
def test_claims_are_ordered_by_epoch_never_by_clock(
    epoch: int, claimant_host: str, outcome: Outcome, contested: bool
) -> None:
    havip = _havip()
    havip.holder_interface_id, havip.holder_since, havip.epoch = "eni-1", NOW, 7
    older = NOW - dt.timedelta(hours=1)  # a host whose clock runs an hour behind: no matter
    order = ClaimOrder(epoch, claimant_host, "h1")
    verdict = judge_report(havip, _eni("eni-2"), _member_pair(), ReportKind.CLAIM, older, NOW, order)
    assert (verdict.outcome, verdict.contested) == (outcome, contested)


def test_an_epoch_only_grows() -> None:
    havip = _havip()
    set_holder(havip, _eni("eni-1"), "host-1", NOW, epoch=5)
    assert havip.epoch == 5
    set_holder(havip, _eni("eni-2"), "host-2", NOW)  # a claim without an epoch (a heal): the next one
    assert havip.epoch == 6
    set_holder(havip, _eni("eni-1"), "host-1", NOW, epoch=3)  # never backwards
    assert havip.epoch == 7


def test_a_claim_from_the_holders_own_host_is_ordered_by_that_hosts_time() -> None:
    """One agent's reports arrive in the order it made them: its epoch may lag the store's
    (the store numbered a heal) and the claim still moves the holder."""
    havip = _havip()
    havip.holder_interface_id, havip.holder_since, havip.epoch = "eni-1", NOW - dt.timedelta(seconds=1), 3
    order = ClaimOrder(2, "h1", "h1", same_host=True)
    verdict = judge_report(havip, _eni("eni-2"), _member_pair(), ReportKind.CLAIM, NOW, NOW, order)
    assert (verdict.outcome, verdict.contested) == (Outcome.HOLDER_CHANGED, False)
