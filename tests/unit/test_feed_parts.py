"""The pure parts of the per-host change feed: notification payloads, the hub's routing by
host, and benchmark 9's verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import fleet, stats
from havip.store.changes import PAYLOAD_LIMIT, RevisionHub, parse_payload, payloads

HOST_ID = "host-" + "x" * 17  # as ids.new_id("host") makes them


def test_a_payload_names_the_revision_and_the_hosts() -> None:
    assert payloads(7, ["host-b", "host-a", "host-a"]) == ["7:host-a,host-b"]
    assert parse_payload("7:host-a,host-b") == (7, ["host-a", "host-b"])
    assert payloads(7, []) == []


@pytest.mark.parametrize("hosts", [1, 300, 2_000, 20_000], ids=lambda n: f"{n}-hosts")
def test_payloads_stay_under_postgresqls_limit_and_name_every_host_once(hosts: int) -> None:
    wanted = [f"{HOST_ID[:-6]}{n:06d}" for n in range(hosts)]
    out = payloads(123456789, wanted)
    assert all(len(p.encode()) <= PAYLOAD_LIMIT < 8000 for p in out)
    named = [h for p in out for h in parse_payload(p)[1] or []]
    assert sorted(named) == sorted(wanted)
    assert {parse_payload(p)[0] for p in out} == {123456789}


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        pytest.param("12", (12, None), id="bare-revision-names-nobody"),
        pytest.param("12:", (12, []), id="no-hosts"),
    ],
)
def test_older_and_empty_payloads(payload: str, parsed: tuple[int, list[str] | None]) -> None:
    assert parse_payload(payload) == parsed


def test_an_unreadable_payload_raises() -> None:
    with pytest.raises(ValueError):
        parse_payload("not-a-number:host-a")


def test_the_hub_calls_only_the_subscribers_of_the_hosts_named() -> None:
    hub = RevisionHub()
    heard: dict[str, list[int | None]] = {"a": [], "b": [], "a2": []}
    stop_a = hub.subscribe("host-a", heard["a"].append)
    hub.subscribe("host-b", heard["b"].append)
    hub.subscribe("host-a", heard["a2"].append)
    assert hub.waiting == 3 and hub.subscribed.is_set()
    hub.publish(5, ["host-a", "host-z"])
    hub.publish(5, ["host-a"])  # the same news twice (in-process and poller): once
    hub.publish(4, ["host-a"])  # older news: dropped
    assert heard == {"a": [5], "b": [], "a2": [5]}
    hub.publish_all()
    assert heard == {"a": [5, None], "b": [None], "a2": [5, None]}
    stop_a()
    stop_a()  # twice is harmless
    hub.publish(6, ["host-a", "host-b"])
    assert heard == {"a": [5, None], "b": [None, 6], "a2": [5, None, 6]}
    assert hub.waiting == 2


def test_a_broken_subscriber_does_not_starve_the_others() -> None:
    hub = RevisionHub()
    heard: list[int | None] = []

    def broken(_revision: int | None) -> None:
        raise RuntimeError("boom")

    hub.subscribe("host-a", broken)
    hub.subscribe("host-a", heard.append)
    hub.publish(1, ["host-a"])
    assert heard == [1]


def _fleet(hosts: int, net: list[float], woken: list[int] | None = None, outside: int = 0) -> dict[str, Any]:
    woken = woken or [fleet.HOT_HOSTS] * len(net)
    return {"hosts": hosts, "net_ms": net, "woken": woken, "woken_outside": [outside] + [0] * (len(net) - 1)}


SAME = [100.0, 101.0, 99.0, 100.0, 102.0, 98.0, 100.0, 101.0] * 3


@pytest.mark.parametrize(
    ("large", "met", "undecided"),
    [
        pytest.param(SAME, True, False, id="same-cpu-met"),
        pytest.param([x * 2 for x in SAME], False, False, id="double-cpu-missed"),
        pytest.param([x * 0.5 for x in SAME], False, False, id="half-cpu-missed"),
        pytest.param([x * 1.25 for x in SAME], False, True, id="on-the-edge-not-shown"),
    ],
)
def test_the_cpu_verdict_is_the_ratio_interval_within_the_band(large: list[float], met: bool, undecided: bool) -> None:
    judged = fleet.judge(_fleet(100, SAME), _fleet(1000, large))
    target = judged["cpu_target"]
    assert (target["met"], target["undecided"]) == (met, undecided)
    assert ("by" in target) == (not met and not undecided)
    assert judged["ratio"]["low"] <= judged["ratio"]["estimate"] <= judged["ratio"]["high"]


@pytest.mark.parametrize(
    ("woken", "outside", "met"),
    [
        pytest.param(None, 0, True, id="exactly-the-vpc"),
        pytest.param([fleet.HOT_HOSTS - 1] + [fleet.HOT_HOSTS] * 23, 0, False, id="one-missing"),
        pytest.param(None, 1, False, id="one-outside"),
    ],
)
def test_the_wake_verdict_wants_exactly_the_vpcs_hosts(woken: list[int] | None, outside: int, met: bool) -> None:
    judged = fleet.judge(_fleet(100, SAME), _fleet(1000, SAME, woken, outside))
    assert judged["woken_target"]["met"] is met


def test_the_terminal_table_and_the_report_section_render() -> None:
    small, large = (_fleet(n, SAME) for n in (100, 1000))
    for f in (small, large):
        f.update(net=stats.summary(f["net_ms"]).as_dict(), idle_rate_ms_per_s=1.5, gross_ms=SAME, idle_ms=SAME)
    r = {"fleets": [small, large], **fleet.judge(small, large)}
    text = fleet.table(r)
    assert "| 1,000 | 24 | 10-10 | 0 |" in text and "**met**" in text
    section = fleet.section(r, out=None, rel=None)  # type: ignore[arg-type]  # writes no figure
    assert len(section.summary) == 2 and all(row.startswith("| #9 fleet |") for row in section.summary)
