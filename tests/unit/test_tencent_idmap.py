"""The Tencent facade's id translation: stored ids out as Tencent's, Tencent's in as stored."""

from __future__ import annotations

import pytest

from havip.api.compat.tencent import idmap

SUFFIX = "a" * 16 + "1"


@pytest.mark.parametrize(
    ("stored", "tencent"),
    [
        pytest.param(f"vsw-{SUFFIX}", f"subnet-{SUFFIX}", id="subnet"),
        pytest.param(f"vtb-{SUFFIX}", f"rtb-{SUFFIX}", id="route-table"),
        pytest.param(f"i-{SUFFIX}", f"ins-{SUFFIX}", id="instance"),
        pytest.param(f"eni-{SUFFIX}", f"eni-{SUFFIX}", id="eni-unchanged"),
        pytest.param(f"vpc-{SUFFIX}", f"vpc-{SUFFIX}", id="vpc-unchanged"),
        pytest.param(f"havip-{SUFFIX}", f"havip-{SUFFIX}", id="havip-unchanged"),
    ],
)
def test_both_ways(stored: str, tencent: str) -> None:
    assert idmap.tencent_id(stored) == tencent
    assert idmap.stored_id(tencent) == stored
    assert idmap.stored_id(stored) == stored  # the stored form is accepted as it is


def test_answers_and_messages_are_translated_everywhere() -> None:
    body = {"SubnetSet": [{"SubnetId": f"vsw-{SUFFIX}", "Tags": []}], "TotalCount": 1, "Ok": True}
    assert idmap.outward(body) == {
        "SubnetSet": [{"SubnetId": f"subnet-{SUFFIX}", "Tags": []}],
        "TotalCount": 1,
        "Ok": True,
    }
    assert idmap.tencent_id(f"instance i-{SUFFIX} is in VPC x") == f"instance ins-{SUFFIX} is in VPC x"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"eni-{SUFFIX}", id="eni-is-not-i"),
        pytest.param(f"vsw-{SUFFIX}x", id="longer-suffix"),
        pytest.param("vsw-short", id="short-suffix"),
        pytest.param(f"my-i-{SUFFIX}", id="inside-a-word"),
    ],
)
def test_only_whole_ids_are_translated(text: str) -> None:
    assert idmap.tencent_id(text) == text


def test_parameters_are_translated_only_when_exactly_an_id() -> None:
    params = {"Filters": [{"Name": "subnet-id", "Values": [f"subnet-{SUFFIX}", f"name subnet-{SUFFIX}"]}]}
    assert idmap.inward(params) == {
        "Filters": [{"Name": "subnet-id", "Values": [f"vsw-{SUFFIX}", f"name subnet-{SUFFIX}"]}]
    }
