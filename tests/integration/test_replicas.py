"""Several ``havip serve`` replicas on one store, as real processes, on both engines.

PostgreSQL is the set-up for replicas (LISTEN/NOTIFY carries each commit to every
replica); two servers on one SQLite file also work, with the watch fed by a poller
(``Store.changes``), so the same tests run there with a looser latency bound.

A long poll counts as parked once the replica's ``havip_api_long_polls_waiting`` gauge
shows it: from then on only the change feed can wake it, so the latency measured from
the write's acknowledgement to the poll's answer is the feed's.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import pg
from .helpers import Caller, wait_until
from .processes import HAVIP, Replica, Replicas

pytestmark = pytest.mark.integration

WAKE_WITHIN = {"postgresql": 0.5, "sqlite": 1.0}
"""Seconds from a write's acknowledgement to the answer of a poll parked on another replica."""


@pytest.fixture
def replicas(db_url: str, tmp_path: Path) -> Iterator[Replicas]:
    with Replicas(db_url, tmp_path) as r:
        yield r


@dataclass
class Cloud:
    """Replicas a and b; a HaVip with member i1 on host h1, and i2 on h1 not yet a member."""

    a: Replica
    b: Replica
    tenant: dict[str, Caller]  # by replica name
    agent: dict[str, Caller]
    havip: str
    i2: str
    e2: str


@pytest.fixture
def cloud(replicas: Replicas) -> Cloud:
    a = replicas.start("a")
    creds = a.credentials()  # a bootstrapped the store: it holds the keys
    b = replicas.start("b")
    assert "operator_token" not in b.credentials(), "the second replica must find the store bootstrapped"
    operator = a.caller(creds["operator_token"])
    tenant = {r.name: r.caller(creds["tenant_token"]) for r in (a, b)}
    agent_token = operator.post("/v1/hosts", {"name": "h1"})["agent_key"]["token"]
    agent = {r.name: r.caller(agent_token) for r in (a, b)}
    vpc = tenant["a"].post("/v1/vpcs", {"cidr": "10.0.0.0/16"})
    subnet = tenant["b"].post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.0.1.0/24"})
    i1 = tenant["a"].post("/v1/instances", {"subnet_id": subnet["id"], "host": "h1", "device": "tap1"})
    i2 = tenant["b"].post("/v1/instances", {"subnet_id": subnet["id"], "host": "h1", "device": "tap2"})
    h = tenant["b"].post("/v1/havips", {"subnet_id": subnet["id"], "ip": "10.0.1.100"})
    tenant["a"].post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": i1["id"]}, status=200)
    return Cloud(a, b, tenant, agent, h["id"], i2["id"], i2["network_interfaces"][0]["id"])


class Poll:
    """One long poll in a thread: since a revision, on one replica."""

    def __init__(self, agent: Caller, since: int, wait: float = 30) -> None:
        self.answered_at: float | None = None
        self.body: dict[str, Any] | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                resp = agent.request(
                    "GET", "/v1/hosts/h1/desired-state", params={"since_revision": since, "wait": wait}
                )
                self.answered_at = time.monotonic()
                assert resp.status_code == 200, resp.text
                self.body = resp.json()
            except BaseException as exc:  # examined by the test
                self.error = exc

        self.thread = threading.Thread(target=run, name="long-poll")
        self.thread.start()

    def join(self) -> None:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the long poll did not end"


def revision(agent: Caller) -> int:
    return int(agent.get("/v1/hosts/h1/desired-state")["revision"])


def parked(replica: Replica, count: int = 1) -> None:
    wait_until(lambda: replica.metric("havip_api_long_polls_waiting") == count, timeout=30)


def claimants(state: dict[str, Any]) -> list[str]:
    [havip] = state["havips"]
    return list(havip["claimants"])


def test_two_replicas_serve_the_same_state(cloud: Cloud) -> None:
    for path in ("/v1/vpcs", "/v1/subnets", "/v1/instances", "/v1/havips", f"/v1/havips/{cloud.havip}"):
        assert cloud.tenant["a"].get(path) == cloud.tenant["b"].get(path), path
    # a rule checked on one replica counts what the other made
    cloud.tenant["a"].fails(
        "POST",
        "/v1/havips",
        409,
        "InvalidIpAddress.AlreadyUsed",
        json={"subnet_id": cloud.tenant["b"].get("/v1/subnets")["items"][0]["id"], "ip": "10.0.1.100"},
    )
    assert cloud.agent["a"].get("/v1/hosts/h1/desired-state") == cloud.agent["b"].get("/v1/hosts/h1/desired-state")


def test_a_watch_on_one_replica_wakes_at_once_on_a_change_through_the_other(cloud: Cloud, engine: str) -> None:
    for watcher, writer, member in (("b", "a", cloud.i2), ("a", "b", None)):
        since = revision(cloud.agent[watcher])
        poll = Poll(cloud.agent[watcher], since)
        parked(getattr(cloud, watcher))
        if member is not None:
            path = f"/v1/havips/{cloud.havip}/members"
            cloud.tenant[writer].post(path, {"member_type": "instance", "member_id": member}, status=200)
        else:
            cloud.tenant[writer].delete(f"/v1/havips/{cloud.havip}/members/{cloud.i2}", status=200)
        acknowledged = time.monotonic()
        poll.join()
        assert poll.error is None and poll.body is not None and poll.answered_at is not None, poll.error
        assert poll.body["revision"] > since
        assert (cloud.e2 in claimants(poll.body)) is (member is not None)
        late = poll.answered_at - acknowledged
        print(f"watch on {watcher} woke {late:.4f}s after the write through {writer} ({engine})")
        assert late < WAKE_WITHIN[engine], f"woke {late:.3f}s after the write's acknowledgement"


def test_a_watch_resumes_from_its_revision_after_its_replica_dies(cloud: Cloud, engine: str) -> None:
    since = revision(cloud.agent["a"])
    doomed = Poll(cloud.agent["a"], since)
    parked(cloud.a)
    cloud.a.kill()
    doomed.join()
    assert isinstance(doomed.error, httpx.TransportError), doomed.error  # the agent sees its replica go
    # a change through the surviving replica while the agent is away ...
    path = f"/v1/havips/{cloud.havip}/members"
    cloud.tenant["b"].post(path, {"member_type": "instance", "member_id": cloud.i2}, status=200)
    # ... is what the agent gets at once when it resumes from its revision on that replica
    resumed = cloud.agent["b"].get("/v1/hosts/h1/desired-state", params={"since_revision": since, "wait": 30})
    assert resumed["revision"] > since and cloud.e2 in claimants(resumed)
    # the restarted replica serves the same store, and its watch hears the other replica's writes
    cloud.a.start()
    since = resumed["revision"]
    poll = Poll(cloud.agent["a"], since)
    parked(cloud.a)
    cloud.tenant["b"].delete(f"{path}/{cloud.i2}", status=200)
    acknowledged = time.monotonic()
    poll.join()
    assert poll.body is not None and poll.answered_at is not None, poll.error
    assert poll.body["revision"] > since and cloud.e2 not in claimants(poll.body)
    assert poll.answered_at - acknowledged < WAKE_WITHIN[engine]


def test_many_watches_on_two_replicas_all_wake_on_one_change(cloud: Cloud) -> None:
    since = revision(cloud.agent["a"])
    polls = [Poll(cloud.agent[name], since) for name in ("a", "b") for _ in range(10)]
    parked(cloud.a, 10)
    parked(cloud.b, 10)
    cloud.tenant["a"].patch(f"/v1/havips/{cloud.havip}", {"name": "renamed"})
    for poll in polls:
        poll.join()
        assert poll.error is None and poll.body is not None, poll.error
        assert poll.body["revision"] > since
    assert cloud.a.metric("havip_api_long_polls_waiting") == cloud.b.metric("havip_api_long_polls_waiting") == 0


# ---------------------------------------------------------------- starting together on an empty store


@pytest.fixture
def empty_db_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all (not made from the migrated template)."""
    if engine == "sqlite":
        yield "sqlite:///" + str(tmp_path / "empty.db")
        return
    cluster: pg.PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


def test_concurrent_db_upgrades_migrate_an_empty_store_once(empty_db_url: str) -> None:
    runs = [
        subprocess.Popen(
            [str(HAVIP), "db", "upgrade", "--db", empty_db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        outputs.append(out.strip())
    migrated = [o for o in outputs if "migrated from an empty database to" in o]
    assert len(migrated) == 1, outputs
    head = migrated[0].rsplit(" ", 1)[1]
    assert sum(o.endswith(f": already at migration {head}") for o in outputs) == 2, outputs
    show = subprocess.run(
        [str(HAVIP), "db", "show", "--db", empty_db_url], capture_output=True, text=True, timeout=60, check=True
    )
    assert show.stdout.strip().endswith(f"migration {head}")


def test_replicas_started_together_on_an_empty_store_bootstrap_it_once(empty_db_url: str, tmp_path: Path) -> None:
    with Replicas(empty_db_url, tmp_path) as group:
        started = [threading.Thread(target=group.start, args=(name,)) for name in ("a", "b", "c")]
        for t in started:
            t.start()
        for t in started:
            t.join(timeout=120)
        assert [r.running for r in group.all] == [True, True, True], [r.log_tail() for r in group.all]
        issued = [r.credentials() for r in group.all if "operator_token" in r.credentials()]
        assert len(issued) == 1, "exactly one replica bootstrapped the store"
        operator = issued[0]["operator_token"]
        for replica in group.all:
            accounts = replica.caller(operator).get("/v1/accounts")
            assert [a["name"] for a in accounts["items"]] == ["default"]
