"""Real keepalived failover through havip, each way, in every mode (VRRPv3, advert_int 0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .labkit import Lab, build

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1)


def masters(status: dict[str, object]) -> list[str]:
    return [i["name"] for i in status["instances"] if i["keepalived"] == "MASTER"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["kill", "service", "link", "freeze"])
def test_failover_each_way(lab: Lab, mode: str) -> None:
    for _ in range(2):  # there and back
        before = lab.status()
        old = before["holder"]
        assert old in ("i1", "i2") and masters(before) == [old]
        result = lab.failover(mode)
        assert (result["old_holder"], result["new_holder"]) == (old, {"i1": "i2", "i2": "i1"}[old])
        assert result["garp_seen_ms"] is not None and result["garp_seen_ms"] > 0
        assert result["route_switched_ms"] >= result["garp_seen_ms"]
        assert result["first_answer_ms"] is not None
        assert result["stale_answers_after_switch"] == 0
        assert result["rejoined_as_backup"] and result["holder_stayed"]
        after = lab.status()
        assert after["holder"] == result["new_holder"]
        assert masters(after) == [result["new_holder"]]
        event = next(e for e in after["events"] if e["kind"] == "holder_changed")
        assert (event["from"], event["to"]) == (old, result["new_holder"])
        assert event["latency_us"] is not None and event["latency_us"] >= 0


def test_status_json_fields(lab: Lab) -> None:
    st = lab.status()
    assert st["vip"] == "172.17.16.3"
    assert st["holder"] in ("i1", "i2")
    by_name = {i["name"]: i for i in st["instances"]}
    assert by_name["i1"]["address"] == "172.17.16.7" and by_name["i2"]["address"] == "172.17.16.13"
    assert by_name["client"]["role"] == "client" and by_name["i1"]["role"] == "member"
    assert all(i["namespace"].startswith(f"havip-{lab.spec.name}-") for i in st["instances"])
    assert isinstance(st["events"], list) and st["events"]
