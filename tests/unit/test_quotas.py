"""Per-account quotas with the product page's defaults (domain/quotas.py)."""

from __future__ import annotations

import pytest

from havip.domain import quotas
from havip.domain.errors import InvalidParameter, QuotaExceeded
from havip.domain.quotas import Quota

pytestmark = pytest.mark.unit

DEFAULTS = [
    pytest.param(Quota.HAVIPS_PER_ACCOUNT, 5, id="havips_per_account"),
    pytest.param(Quota.HAVIPS_PER_VPC, 5, id="havips_per_vpc"),
    pytest.param(Quota.HAVIPS_PER_MEMBER, 5, id="havips_per_member"),
    pytest.param(Quota.MEMBERS_PER_HAVIP, 10, id="members_per_havip"),
    pytest.param(Quota.EIPS_PER_HAVIP, 1, id="eips_per_havip"),
    pytest.param(Quota.HAVIP_ROUTES_PER_TABLE, 5, id="havip_routes_per_table"),
]


def test_every_quota_has_a_default() -> None:
    assert set(quotas.SPECS) == set(Quota)


@pytest.mark.parametrize(("quota", "default"), DEFAULTS)
def test_default_is_the_product_pages(quota: Quota, default: int) -> None:
    assert quotas.effective(quota, {}) == default


@pytest.mark.parametrize(("quota", "default"), DEFAULTS)
def test_reaching_the_limit_passes(quota: Quota, default: int) -> None:
    quotas.check(quota, quotas.effective(quota, {}), used=default - 1, what="adding one")


@pytest.mark.parametrize(("quota", "default"), DEFAULTS)
def test_one_over_the_limit_fails_with_its_code(quota: Quota, default: int) -> None:
    with pytest.raises(QuotaExceeded) as info:
        quotas.check(quota, quotas.effective(quota, {}), used=default, what="adding one")
    assert info.value.code == f"QuotaExceeded.{quota.value}"
    assert info.value.quota == quota.value
    assert info.value.limit == default


@pytest.mark.parametrize(
    ("used", "adding", "ok"),
    [
        pytest.param(3, 2, True, id="several-up-to-the-limit"),
        pytest.param(4, 2, False, id="several-past-the-limit"),
        pytest.param(5, 0, True, id="adding-nothing-at-the-limit"),
    ],
)
def test_adding_several(used: int, adding: int, ok: bool) -> None:
    if ok:
        quotas.check(Quota.HAVIPS_PER_VPC, 5, used, "x", adding=adding)
    else:
        with pytest.raises(QuotaExceeded):
            quotas.check(Quota.HAVIPS_PER_VPC, 5, used, "x", adding=adding)


@pytest.mark.parametrize(("quota", "default"), DEFAULTS)
def test_override_raises_the_limit(quota: Quota, default: int) -> None:
    overrides = {quota.value: default + 3}
    limit = quotas.effective(quota, overrides)
    assert limit == default + 3
    quotas.check(quota, limit, used=default, what="adding one")
    with pytest.raises(QuotaExceeded):
        quotas.check(quota, limit, used=default + 3, what="adding one")


def test_override_of_another_quota_does_not_apply() -> None:
    assert quotas.effective(Quota.HAVIPS_PER_VPC, {Quota.HAVIPS_PER_ACCOUNT.value: 50}) == 5


def test_override_can_lower_to_zero() -> None:
    with pytest.raises(QuotaExceeded):
        quotas.check(Quota.EIPS_PER_HAVIP, quotas.effective(Quota.EIPS_PER_HAVIP, {"eips_per_havip": 0}), 0, "x")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("havips_per_region", id="unknown"),
        pytest.param("HAVIPS_PER_ACCOUNT", id="wrong-case"),
        pytest.param("", id="empty"),
    ],
)
def test_unknown_quota_name(name: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        quotas.parse_quota(name)
    assert info.value.code == "InvalidQuota.Unknown"


def test_known_quota_name() -> None:
    assert quotas.parse_quota("members_per_havip") is Quota.MEMBERS_PER_HAVIP


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param(0, True, id="zero"),
        pytest.param(quotas.MAX_VALUE, True, id="max"),
        pytest.param(-1, False, id="negative"),
        pytest.param(quotas.MAX_VALUE + 1, False, id="over-max"),
    ],
)
def test_quota_value(value: int, ok: bool) -> None:
    if ok:
        assert quotas.check_value(value) == value
    else:
        with pytest.raises(InvalidParameter) as info:
            quotas.check_value(value)
        assert info.value.code == "InvalidQuota.Value"
