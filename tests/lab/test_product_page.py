"""The product page's own configuration, unchanged timers (VRRPv2, advert_int 1), fails over each way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .labkit import Lab, build

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=1.0)


def test_product_page_config_fails_over_each_way(lab: Lab) -> None:
    assert lab.status()["vrrp_version"] == 2
    first = lab.status()["holder"]
    there = lab.failover("kill")
    back = lab.failover("kill")
    assert (there["old_holder"], back["new_holder"]) == (first, first)
    for result in (there, back):
        assert result["stale_answers_after_switch"] == 0
        assert result["rejoined_as_backup"] and result["holder_stayed"]
        # a crash is noticed after 3 adverts plus skew: seconds, not milliseconds, at advert_int 1
        assert result["garp_seen_ms"] > 1000
