"""A host agent's side of the API: desired state, its long poll, and claim reports."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from havip.api import create_app
from havip.api.routers import hosts
from havip.service.context import Settings
from havip.service.ports import UnitOfWork, UnitOfWorkFactory
from havip.store import Store

from .helpers import Caller, Net, serve, wait_until

pytestmark = pytest.mark.integration

T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)
"""An hour ago: reports ahead of the server clock are refused, and entries older than the retention
age (30 days before the newest, the API's own included) are dropped as the history is written."""


def at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass
class Pair:
    """A HaVip with members i1 (on h1) and i2 (on h2), and i3 on h1 that is not a member."""

    havip: str
    i1: str
    e1: str
    e2: str
    e3: str


@pytest.fixture
def pair(tenant: Caller, net: Net) -> Pair:
    i1 = net.instance(tenant, host="h1", device="tap1")
    i2 = net.instance(tenant, host="h2", device="tap2")
    i3 = net.instance(tenant, host="h1", device="tap3")
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100"})
    for inst in (i1, i2):
        tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    return Pair(
        havip=h["id"],
        i1=i1["id"],
        e1=i1["network_interfaces"][0]["id"],
        e2=i2["network_interfaces"][0]["id"],
        e3=i3["network_interfaces"][0]["id"],
    )


def report(agent: Caller, host: str, havip: str, eni: str, when: str, kind: str = "claim", **extra: Any) -> str:
    body = {"havip_id": havip, "interface_id": eni, "kind": kind, "at": when, **extra}
    outcome: str = agent.post(f"/v1/hosts/{host}/reports", body, status=200)["outcome"]
    return outcome


def test_desired_state_lists_what_the_host_needs(net: Net, pair: Pair) -> None:
    state = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert state["host"] == "h1"
    assert isinstance(state["revision"], int)
    assert state["vpcs"] == {net.vpc: "10.0.0.0/16"}
    assert state["subnets"] == [{"id": net.subnet, "vpc_id": net.vpc, "cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}]
    assert sorted(e["id"] for e in state["interfaces"]) == sorted([pair.e1, pair.e3])
    assert {e["device"] for e in state["interfaces"]} == {"tap1", "tap3"}
    [havip] = state["havips"]
    assert (havip["id"], havip["ip"], havip["binding_mode"]) == (pair.havip, "10.0.1.100", "explicit")
    assert havip["claimants"] == [pair.e1]
    assert (havip["holder_interface_id"], havip["holder_host"]) == (None, None)
    assert net.agent_h2.get("/v1/hosts/h2/desired-state")["havips"][0]["claimants"] == [pair.e2]


def test_a_claim_moves_the_holder_and_is_recorded(tenant: Caller, net: Net, pair: Pair) -> None:
    before = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(1), cause="garp-request", latency_us=850) == (
        "holder-changed"
    )
    view = tenant.get(f"/v1/havips/{pair.havip}")
    assert view["holder"] == {
        "interface_id": pair.e1,
        "instance_id": pair.i1,
        "host_id": net.h1,
        "since": at(1),
        "epoch": 1,
        "host_agent": "up",  # h1's agent polled its desired state above: within its lease
        "healthy": True,
    }
    [event] = tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "holder_changed"})["items"]
    assert (event["interface_id"], event["instance_id"], event["host_id"]) == (pair.e1, pair.i1, net.h1)
    assert (event["previous_interface_id"], event["cause"], event["latency_us"], event["at"]) == (
        None,
        "garp-request",
        850,
        at(1),
    )
    state = net.agent_h2.get("/v1/hosts/h2/desired-state")
    assert state["revision"] > before
    assert (state["havips"][0]["holder_interface_id"], state["havips"][0]["holder_host"]) == (pair.e1, "h1")


def test_failover_refresh_and_stale_claims(tenant: Caller, net: Net, pair: Pair) -> None:
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(1)) == "holder-changed"
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(2)) == "unchanged"
    assert report(net.agent_h2, "h2", pair.havip, pair.e2, at(3)) == "holder-changed"
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(2.5)) == "stale"
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(4), kind="probe-answer") == "stale"
    assert tenant.get(f"/v1/havips/{pair.havip}")["holder"]["interface_id"] == pair.e2
    events = tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "holder_changed"})["items"]
    assert [(e["previous_interface_id"], e["interface_id"]) for e in events] == [(pair.e1, pair.e2), (None, pair.e1)]


def test_a_claim_from_a_non_member_is_refused_and_recorded(tenant: Caller, net: Net, pair: Pair) -> None:
    assert report(net.agent_h1, "h1", pair.havip, pair.e3, at(1), cause="garp-reply") == "refused"
    assert tenant.get(f"/v1/havips/{pair.havip}")["holder"] is None
    [event] = tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "claim_refused"})["items"]
    assert (event["interface_id"], event["reason"], event["cause"]) == (pair.e3, "not-a-member", "garp-reply")
    assert tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "holder_changed"})["total"] == 0


def test_split_brain_is_recorded(tenant: Caller, net: Net, pair: Pair) -> None:
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(1), kind="split-brain", others=[pair.e2]) == "recorded"
    [event] = tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "split_brain"})["items"]
    assert event["detail"] == {"others": pair.e2}


def test_subnet_mode_lets_any_interface_of_the_subnet_claim(tenant: Caller, net: Net, pair: Pair) -> None:
    tenant.patch(f"/v1/havips/{pair.havip}", {"binding_mode": "subnet"})
    assert report(net.agent_h1, "h1", pair.havip, pair.e3, at(1)) == "holder-changed"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param({"kind": "hello"}, 400, "InvalidParameter", id="unknown-kind"),
        pytest.param({"at": "yesterday"}, 400, "InvalidParameter", id="bad-time"),
        pytest.param({"latency_us": -1}, 400, "InvalidParameter", id="negative-latency"),
        pytest.param({"havip_id": "havip-nope"}, 404, "NotFound.HaVip", id="unknown-havip"),
        pytest.param({"interface_id": "eni-nope"}, 404, "NotFound.NetworkInterface", id="unknown-interface"),
    ],
)
def test_bad_reports(net: Net, pair: Pair, change: dict[str, Any], status: int, code: str) -> None:
    body = {"havip_id": pair.havip, "interface_id": pair.e1, "kind": "claim", "at": at(1), **change}
    net.agent_h1.fails("POST", "/v1/hosts/h1/reports", status, code, json=body)


def test_reports_to_an_unknown_host_are_404(operator: Caller, pair: Pair) -> None:
    body = {"havip_id": pair.havip, "interface_id": pair.e1, "kind": "claim", "at": at(1)}
    operator.fails("POST", "/v1/hosts/h9/reports", 404, "NotFound.Host", json=body)


def batch(agent: Caller, host: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = agent.post(f"/v1/hosts/{host}/reports/batch", {"reports": bodies}, status=200)[
        "results"
    ]
    return results


def claim(havip: str, eni: str, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"havip_id": havip, "interface_id": eni, "kind": "claim", "at": at(seconds), **extra}


def test_a_batch_applies_its_reports_in_order_and_refuses_each_bad_one_alone(
    tenant: Caller, net: Net, pair: Pair
) -> None:
    before = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    results = batch(
        net.agent_h1,
        "h1",
        [
            claim(pair.havip, pair.e1, 1, cause="garp-request", latency_us=400),
            claim("havip-nope", pair.e1, 1),
            claim(pair.havip, pair.e2, 2),  # i2's interface is on h2: not h1's to report
            claim(pair.havip, pair.e1, 2),
            claim(pair.havip, pair.e3, 3),  # not a member
            {**claim(pair.havip, pair.e1, 0), "at": "2999-01-01T00:00:00Z"},  # from the future
        ],
    )
    assert results == [
        {"outcome": "holder-changed"},
        {"error": {"code": "NotFound.HaVip", "message": results[1]["error"]["message"]}},
        {"error": {"code": "Forbidden.InterfaceNotOnHost", "message": results[2]["error"]["message"]}},
        {"outcome": "unchanged"},
        {"outcome": "refused"},
        {"error": {"code": results[5]["error"]["code"], "message": results[5]["error"]["message"]}},
    ]
    assert results[5]["error"]["code"].startswith("InvalidParameter")
    assert "havip-nope" in results[1]["error"]["message"]
    view = tenant.get(f"/v1/havips/{pair.havip}")
    assert (view["holder"]["interface_id"], view["holder"]["since"]) == (pair.e1, at(1))
    kinds = [e["kind"] for e in tenant.get(f"/v1/havips/{pair.havip}/events")["items"]]
    assert sorted(k for k in kinds if k != "associated") == ["claim_refused", "holder_changed"], kinds
    after = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    assert after == before + 1, "one transaction, one revision"


def test_a_batch_with_no_change_leaves_the_revision(net: Net, pair: Pair) -> None:
    before = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    assert batch(net.agent_h1, "h1", [claim("havip-nope", pair.e1, 1)])[0]["error"]["code"] == "NotFound.HaVip"
    assert net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"] == before


@pytest.mark.parametrize(
    ("reports", "status", "code"),
    [
        pytest.param(0, 400, "InvalidParameter", id="empty"),
        pytest.param(1001, 400, "InvalidParameter", id="too-many"),
    ],
)
def test_batch_size_is_bounded(net: Net, pair: Pair, reports: int, status: int, code: str) -> None:
    body = {"reports": [claim(pair.havip, pair.e1, 1)] * reports}
    net.agent_h1.fails("POST", "/v1/hosts/h1/reports/batch", status, code, json=body)


def test_a_batch_for_another_hosts_agent_is_refused_whole(tenant: Caller, net: Net, pair: Pair) -> None:
    body = {"reports": [claim(pair.havip, pair.e1, 1)]}
    net.agent_h2.fails("POST", "/v1/hosts/h1/reports/batch", 403, None, json=body)
    assert tenant.get(f"/v1/havips/{pair.havip}")["holder"] is None


# ---------------------------------------------------------------- the long poll


class CountingUow:
    """The store's unit-of-work factory, counting the units of work opened."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.opened = 0

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        self.opened += 1
        return self.inner(write=write)


def test_long_poll_without_since_revision_answers_at_once(net: Net, pair: Pair) -> None:
    started = time.monotonic()
    net.agent_h1.get("/v1/hosts/h1/desired-state", params={"wait": 30})
    assert time.monotonic() - started < 5


def test_long_poll_with_an_old_revision_answers_at_once(tenant: Caller, net: Net, pair: Pair) -> None:
    old = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    tenant.patch(f"/v1/havips/{pair.havip}", {"name": "renamed"})
    started = time.monotonic()
    state = net.agent_h1.get("/v1/hosts/h1/desired-state", params={"since_revision": old, "wait": 30})
    assert time.monotonic() - started < 5
    assert state["revision"] > old


def test_long_poll_waits_when_nothing_changes(net: Net, pair: Pair) -> None:
    current = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    started = time.monotonic()
    answer = net.agent_h1.request("GET", "/v1/hosts/h1/desired-state", params={"since_revision": current, "wait": 0.4})
    assert time.monotonic() - started >= 0.4
    assert (answer.status_code, answer.content) == (304, b""), "nothing new: the agent keeps the state it has"
    assert net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"] == current


def test_long_poll_returns_early_when_a_change_happens(store: Store, tenant: Caller, net: Net, pair: Pair) -> None:
    spare = net.instance(tenant)["id"]
    counting = CountingUow(store.uow)
    with serve(create_app(counting, Settings(), changes=store.changes)) as live, live.client() as http:
        agent = Caller(http, net.agent_h1.token)
        current = agent.get("/v1/hosts/h1/desired-state")["revision"]
        answers: list[tuple[float, Any]] = []

        def poll() -> None:
            started = time.monotonic()
            body = agent.get("/v1/hosts/h1/desired-state", params={"since_revision": current, "wait": 30})
            answers.append((time.monotonic() - started, body))

        poller = threading.Thread(target=poll)
        baseline = counting.opened
        poller.start()
        wait_until(lambda: counting.opened >= baseline + 2)  # authenticated and read the revision once
        assert not answers
        tenant.post(f"/v1/havips/{pair.havip}/members", {"member_type": "instance", "member_id": spare}, status=200)
        poller.join(timeout=30)
    [(elapsed, state)] = answers
    assert elapsed < 10
    assert state["revision"] > current


def test_a_waiting_long_poll_reads_the_store_once_not_in_a_loop(store: Store, net: Net, pair: Pair) -> None:
    counting = CountingUow(store.uow)
    with serve(create_app(counting, Settings(), changes=store.changes)) as live, live.client() as http:
        agent = Caller(http, net.agent_h1.token)
        current = agent.get("/v1/hosts/h1/desired-state")["revision"]
        started_feed: list[int | None] = []
        stop = store.changes.subscribe("any-host", started_feed.append)
        wait_until(lambda: None in started_feed)  # the feed's first "look again" is behind us
        before = counting.opened
        started = time.monotonic()
        answer = agent.request("GET", "/v1/hosts/h1/desired-state", params={"since_revision": current, "wait": 1.0})
        stop()
        assert time.monotonic() - started >= 1.0
    assert answer.status_code == 304
    # authenticate, read the revision, (wait on the feed,) read it again and answer 304 (no desired-state
    # read): 3, where polling made ~20
    assert counting.opened - before == 3


class DeafFeed:
    """A revision feed that lost its source: it never calls back."""

    def subscribe(self, host_id: str, callback: Callable[[int | None], None]) -> Callable[[], None]:
        return lambda: None


def test_a_long_poll_whose_feed_is_deaf_still_sees_a_change_at_the_recheck(
    store: Store, tenant: Caller, net: Net, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hosts, "RECHECK", 0.3)
    app = create_app(store.uow, Settings(), changes=DeafFeed())
    with serve(app) as live, live.client() as http:
        agent = Caller(http, net.agent_h1.token)
        current = agent.get("/v1/hosts/h1/desired-state")["revision"]
        answers: list[tuple[float, Any]] = []

        def poll() -> None:
            body = agent.get("/v1/hosts/h1/desired-state", params={"since_revision": current, "wait": 20})
            answers.append((time.monotonic(), body))

        poller = threading.Thread(target=poll)
        poller.start()
        wait_until(lambda: app.state.metrics.registry.get_sample_value("havip_api_long_polls_waiting") == 1)
        tenant.patch(f"/v1/havips/{pair.havip}", {"name": "renamed"})
        changed = time.monotonic()
        poller.join(timeout=30)
    [(answered, state)] = answers
    assert state["revision"] > current
    assert answered - changed < 3  # the recheck after 0.3 s, not the end of the 20 s wait


def test_many_waiting_agents_do_not_block_other_requests(store: Store, net: Net, pair: Pair) -> None:
    current = net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"]
    waiting = 50  # more than the threadpool's 40 workers
    counting = CountingUow(store.uow)
    with serve(create_app(counting, Settings(), changes=store.changes)) as live:
        done: list[int] = []

        def poll() -> None:
            with live.client() as http:
                answer = Caller(http, net.agent_h1.token).request(
                    "GET", "/v1/hosts/h1/desired-state", params={"since_revision": current, "wait": 4}
                )
                done.append(answer.status_code)

        pollers = [threading.Thread(target=poll) for _ in range(waiting)]
        for t in pollers:
            t.start()
        # every poller authenticated and looked at the revision at least once
        wait_until(lambda: counting.opened >= 2 * waiting)
        with live.client() as http:
            started = time.monotonic()
            assert Caller(http, net.agent_h1.token).get("/v1/hosts/h1/desired-state")["host"] == "h1"
            assert time.monotonic() - started < 2
        for t in pollers:
            t.join(timeout=30)
        assert done == [304] * waiting


def test_a_report_from_the_future_is_refused_and_changes_nothing(tenant: Caller, net: Net, pair: Pair) -> None:
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    net.agent_h1.fails(
        "POST",
        "/v1/hosts/h1/reports",
        400,
        "InvalidParameter.FutureReport",
        json={"havip_id": pair.havip, "interface_id": pair.e1, "kind": "claim", "at": future.isoformat()},
    )
    assert tenant.get(f"/v1/havips/{pair.havip}")["holder"] is None


def test_claims_are_ordered_by_their_epochs_and_a_tie_is_a_split_brain(tenant: Caller, net: Net, pair: Pair) -> None:
    """A claim with a higher epoch wins even when its time is older (clocks never order claims);
    a lower one is stale; the holder's own epoch from another host is one split brain with both
    claimants, won by the lower host name (h1)."""
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(10), epoch=5) == "holder-changed"
    assert report(net.agent_h2, "h2", pair.havip, pair.e2, at(1), epoch=6) == "holder-changed"
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(20), epoch=4) == "stale"
    holder = tenant.get(f"/v1/havips/{pair.havip}")["holder"]
    assert (holder["interface_id"], holder["epoch"]) == (pair.e2, 6)
    assert report(net.agent_h1, "h1", pair.havip, pair.e1, at(21), epoch=6) == "holder-changed"
    [split] = tenant.get(f"/v1/havips/{pair.havip}/events", params={"kind": "split_brain"})["items"]
    assert (split["interface_id"], split["previous_interface_id"]) == (pair.e1, pair.e2)
    holder = tenant.get(f"/v1/havips/{pair.havip}")["holder"]
    assert (holder["interface_id"], holder["epoch"]) == (pair.e1, 7), "a tie won: the next epoch, never the same"
    state = net.agent_h2.get("/v1/hosts/h2/desired-state")
    assert state["havips"][0]["epoch"] == 7
