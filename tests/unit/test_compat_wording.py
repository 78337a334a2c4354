"""Facade error messages speak the cloud's words, never havip's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from havip.api.compat import wording
from havip.domain import quotas
from havip.domain.errors import NotFound, QuotaExceeded
from havip.domain.quotas import Quota


def _quota_message() -> str:
    with pytest.raises(QuotaExceeded) as info:
        quotas.check(Quota.HAVIPS_PER_VPC, 2, 2, "creating a HaVip in VPC vpc-1")
    return info.value.message


@pytest.mark.parametrize(
    ("reword", "message", "expected"),
    [
        pytest.param(
            wording.alibaba,
            NotFound("Subnet", "vsw-1").message,
            "The specified VSwitch 'vsw-1' does not exist.",
            id="alibaba-vswitch-missing",
        ),
        pytest.param(
            wording.tencent,
            NotFound("Subnet", "vsw-1").message,
            "The specified subnet 'vsw-1' does not exist.",
            id="tencent-subnet-missing",
        ),
        pytest.param(
            wording.tencent,
            NotFound("Instance", "i-1").message,
            "The specified CVM instance 'i-1' does not exist.",
            id="tencent-cvm-missing",
        ),
        pytest.param(
            wording.alibaba,
            "HaVip address 172.17.16.0 is reserved in subnet 172.17.16.0/24",
            "HaVip address 172.17.16.0 is reserved in vSwitch 172.17.16.0/24",
            id="alibaba-subnet-word",
        ),
        pytest.param(wording.alibaba, "see network_interfaces", "see ENI", id="field-name"),
        pytest.param(wording.alibaba, "the SubnetId is required", "the SubnetId is required", id="parameter-kept"),
    ],
)
def test_messages_in_the_cloud_s_words(reword: Callable[[str], str], message: str, expected: str) -> None:
    assert reword(message) == expected


@pytest.mark.parametrize("reword", [wording.alibaba, wording.tencent], ids=["alibaba", "tencent"])
def test_quota_messages_name_no_havip_cli_or_quota_name(reword: Callable[[str], str]) -> None:
    said = reword(_quota_message())
    assert "havip quota set" not in said and "havips_per_vpc" not in said
    assert "the limit of 2" in said and "raise the limit" in said
