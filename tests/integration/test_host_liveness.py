"""Host liveness on both engines: an agent's long poll is its heartbeat (version, applied
revision), it bumps no revision, and an agent silent past its lease shows as down (issue 12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from havip.api.app import create_app
from havip.domain.agents import HEARTBEAT_EVERY
from havip.service.accounts import Bootstrap
from havip.service.context import Settings
from havip.store import Store

from .helpers import Caller

pytestmark = pytest.mark.integration

LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(store: Store, clock: Clock) -> Iterator[TestClient]:
    app = create_app(store.uow, Settings(agent_lease=LEASE), clock=clock, changes=store.changes)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def operator(http: TestClient, boot: Bootstrap) -> Caller:
    return Caller(http, boot.operator_token)


@pytest.fixture
def host(operator: Caller) -> dict[str, Any]:
    created = operator.ok("POST", "/v1/hosts", 201, json={"name": "hv-1"})
    assert created["host"]["agent"] == {
        "state": "never-seen",
        "last_seen_at": None,
        "version": None,
        "applied_revision": None,
        "in_sync": False,
    }
    return {"id": created["host"]["id"], "agent": Caller(operator.http, created["agent_key"]["token"])}


def poll(host: dict[str, Any], **params: Any) -> dict[str, Any]:
    return host["agent"].get(f"/v1/hosts/{host['id']}/desired-state", params=params)  # type: ignore[no-any-return]


def test_a_poll_marks_the_agent_up_and_in_sync_without_bumping_the_revision(
    operator: Caller, host: dict[str, Any], clock: Clock
) -> None:
    revision = poll(host)["revision"]
    poll(host, agent_version="0.1.0", applied_revision=revision)
    assert poll(host)["revision"] == revision  # the heartbeat woke nobody
    agent = operator.get(f"/v1/hosts/{host['id']}")["agent"]
    assert agent == {
        "state": "up",
        "last_seen_at": clock.now.isoformat().replace("+00:00", "Z"),
        "version": "0.1.0",
        "applied_revision": revision,
        "in_sync": True,
    }
    listed = operator.get("/v1/hosts")["items"]
    assert [h["agent"]["state"] for h in listed] == ["up"]


def test_a_change_the_agent_has_not_applied_is_out_of_sync(
    operator: Caller, host: dict[str, Any], boot: Bootstrap
) -> None:
    revision = poll(host)["revision"]
    poll(host, agent_version="0.1.0", applied_revision=revision)
    operator.ok(
        "POST", "/v1/vpcs", 201, json={"cidr": "10.0.0.0/16", "account_id": boot.account.id}
    )  # a write that does not change this host's desired state
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["in_sync"] is True
    operator.ok("PATCH", f"/v1/hosts/{host['id']}", 200, json={"underlay": "192.0.2.10"})  # one that does
    agent = operator.get(f"/v1/hosts/{host['id']}")["agent"]
    assert agent["state"] == "up"
    assert agent["in_sync"] is False


def test_silence_past_the_lease_shows_down(operator: Caller, host: dict[str, Any], clock: Clock) -> None:
    revision = poll(host)["revision"]
    poll(host, agent_version="0.1.0", applied_revision=revision)
    clock.advance(LEASE)
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["state"] == "up"
    clock.advance(1)
    agent = operator.get(f"/v1/hosts/{host['id']}")["agent"]
    assert (agent["state"], agent["in_sync"]) == ("down", False)
    poll(host, agent_version="0.1.0", applied_revision=revision)  # it comes back
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["state"] == "up"


def test_writes_are_spaced_unless_the_agent_says_something_new(
    operator: Caller, host: dict[str, Any], clock: Clock
) -> None:
    revision = poll(host)["revision"]
    poll(host, agent_version="0.1.0", applied_revision=revision)
    first = operator.get(f"/v1/hosts/{host['id']}")["agent"]["last_seen_at"]
    clock.advance(HEARTBEAT_EVERY / 2)
    poll(host, agent_version="0.1.0", applied_revision=revision)
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["last_seen_at"] == first  # not written again
    clock.advance(HEARTBEAT_EVERY)
    poll(host, agent_version="0.1.0", applied_revision=revision)
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["last_seen_at"] != first


def test_an_operator_reading_the_state_is_not_the_agent(operator: Caller, host: dict[str, Any]) -> None:
    operator.get(f"/v1/hosts/{host['id']}/desired-state", params={"agent_version": "9.9.9", "applied_revision": 1})
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["state"] == "never-seen"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"agent_version": "1.0 beta"}, "InvalidParameter.AgentVersion"),
        ({"agent_version": "x" * 65}, "InvalidParameter.AgentVersion"),
        ({"applied_revision": -1}, None),
    ],
    ids=["space-in-version", "long-version", "negative-revision"],
)
def test_a_bad_heartbeat_is_refused_and_records_nothing(
    operator: Caller, host: dict[str, Any], params: dict[str, Any], code: str | None
) -> None:
    host["agent"].fails("GET", f"/v1/hosts/{host['id']}/desired-state", 400, code, params=params)
    assert operator.get(f"/v1/hosts/{host['id']}")["agent"]["state"] == "never-seen"
