"""A HaVip's history on the real stores: refusals merge (also under racing reports), retention by
count and age, and migration 0008 on existing rows — on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from havip.api import create_app
from havip.domain.history import Retention
from havip.service.accounts import Bootstrap
from havip.service.context import Settings
from havip.store import Store
from havip.store.migrate import _config

from . import pg
from .helpers import Caller, LiveServer, Net
from .processes import Replicas
from .races import outcomes, race

pytestmark = pytest.mark.integration


def iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def parsed(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def report(agent: Caller, havip: str, eni: str, when: dt.datetime, kind: str = "claim", cause: str = "garp") -> str:
    body = {"havip_id": havip, "interface_id": eni, "kind": kind, "at": iso(when), "cause": cause}
    outcome: str = agent.post("/v1/hosts/h1/reports", body, status=200)["outcome"]
    return outcome


class Vip:
    """A HaVip with members e1 (on h1) and e2 (on h2), and e3 on h1 that is not a member.

    ``at(ms)``: ``ms`` milliseconds after the set-up (the associations): the agents' clocks are
    the server's here, and a report more than 5 s ahead of it is refused, so floods are dense."""

    def __init__(self, tenant: Caller, net: Net) -> None:
        i1 = net.instance(tenant, host="h1", device="tap1")
        i2 = net.instance(tenant, host="h2", device="tap2")
        i3 = net.instance(tenant, host="h1", device="tap3")
        self.id = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100"})["id"]
        for inst in (i1, i2):
            body = {"member_type": "instance", "member_id": inst["id"]}
            tenant.post(f"/v1/havips/{self.id}/members", body, status=200)
        self.e1, self.e2, self.e3 = (i["network_interfaces"][0]["id"] for i in (i1, i2, i3))
        self.t0 = dt.datetime.now(dt.UTC)

    def at(self, ms: float) -> dt.datetime:
        return self.t0 + dt.timedelta(milliseconds=ms)


@pytest.fixture
def vip(tenant: Caller, net: Net) -> Vip:
    return Vip(tenant, net)


def history(tenant: Caller, havip: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = tenant.get(f"/v1/havips/{havip}/events", params=params)["items"]
    return items


def test_a_flood_is_one_entry_and_the_failover_stays_on_the_first_page(tenant: Caller, net: Net, vip: Vip) -> None:
    for i in range(30):
        assert report(net.agent_h1, vip.id, vip.e3, vip.at(i), "refused") == "refused"
    assert report(net.agent_h1, vip.id, vip.e1, vip.at(30)) == "holder-changed"
    for i in range(31, 41):
        report(net.agent_h1, vip.id, vip.e3, vip.at(i), "refused")
    page = history(tenant, vip.id, limit=3)  # newest first
    assert [(e["kind"], e["count"]) for e in page] == [
        ("claim_refused", 10),
        ("holder_changed", 1),
        ("claim_refused", 30),
    ]
    flood = page[2]
    assert [parsed(flood[k]) for k in ("at", "first_seen", "last_seen")] == [vip.at(0), vip.at(0), vip.at(29)]
    assert (flood["interface_id"], flood["cause"], flood["reason"]) == (vip.e3, "garp", "not-a-member")
    assert [parsed(page[1][k]) for k in ("first_seen", "last_seen")] == [vip.at(30), vip.at(30)]
    refused = tenant.get(f"/v1/havips/{vip.id}/events", params={"kind": "claim_refused"})
    assert (refused["total"], sum(e["count"] for e in refused["items"])) == (2, 40)


def test_refusals_for_another_cause_or_interface_are_entries_of_their_own(tenant: Caller, net: Net, vip: Vip) -> None:
    for i in range(3):
        report(net.agent_h1, vip.id, vip.e3, vip.at(3 * i), "refused")
        report(net.agent_h1, vip.id, vip.e3, vip.at(3 * i + 1), "refused", cause="arp")
        report(net.agent_h1, vip.id, vip.e1, vip.at(3 * i + 2), "refused")
    entries = history(tenant, vip.id, kind="claim_refused")
    assert sorted((e["interface_id"], e["cause"], e["count"]) for e in entries) == sorted(
        [(vip.e3, "garp", 3), (vip.e3, "arp", 3), (vip.e1, "garp", 3)]
    )


# ---------------------------------------------------------------- racing reports


@pytest.fixture(params=["one-server", "two-replicas"])
def where(
    request: pytest.FixtureRequest, db_url: str, store: Store, boot: Bootstrap, tmp_path: Path
) -> Iterator[Callable[[int], httpx.Client]]:
    """How the racing agents' requests reach the control plane: threads of one server, or two
    ``havip serve`` processes on one database (only the database's write lock between them)."""
    if request.param == "one-server":
        server: LiveServer = request.getfixturevalue("server")
        yield lambda _i: server.client()
        return
    with Replicas(db_url, tmp_path / "replicas") as group:
        replicas = group.start_many("a", "b")
        yield lambda i: replicas[i % 2].http()


def test_racing_refusals_lose_no_count(
    where: Callable[[int], httpx.Client], tenant: Caller, net: Net, vip: Vip
) -> None:
    threads, each = 12, 5
    body = {"havip_id": vip.id, "interface_id": vip.e3, "kind": "refused", "at": iso(vip.at(1)), "cause": "garp"}

    def send(c: Caller, _i: int) -> httpx.Response:
        answers = [c.request("POST", "/v1/hosts/h1/reports", json=body) for _ in range(each)]
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return answers[-1]

    assert outcomes(race(where, net.agent_h1.token, threads, send)) == {"200": threads}
    (entry,) = history(tenant, vip.id, kind="claim_refused")
    assert entry["count"] == threads * each


# ---------------------------------------------------------------- retention


@pytest.fixture
def keeping(store: Store) -> Iterator[Callable[[Retention], TestClient]]:
    """An app on the test's store with the given retention (``net`` and ``vip`` are on the same store)."""
    clients: list[TestClient] = []

    def make(retention: Retention) -> TestClient:
        client = TestClient(create_app(store.uow, Settings(event_retention=retention), changes=store.changes))
        clients.append(client.__enter__())
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_the_count_limit_drops_refusals_and_keeps_every_holder_change(
    keeping: Callable[[Retention], TestClient], tenant: Caller, net: Net, vip: Vip
) -> None:
    app = keeping(Retention(max_count=4))
    h1, h2 = Caller(app, net.agent_h1.token), Caller(app, net.agent_h2.token)
    for i in range(3):
        report(h1, vip.id, vip.e3, vip.at(3 * i), "refused")  # a holder change between: each its own entry
        report(h1, vip.id, vip.e1, vip.at(3 * i + 1))
        body = {"havip_id": vip.id, "interface_id": vip.e2, "kind": "claim", "at": iso(vip.at(3 * i + 2))}
        assert h2.post("/v1/hosts/h2/reports", body, status=200)["outcome"] == "holder-changed"
    kinds = [e["kind"] for e in history(tenant, vip.id, limit=100)]
    assert kinds == ["holder_changed"] * 6  # over the limit of 4: refusals and associations went, no holder change


def test_the_age_limit_drops_old_entries_but_not_the_holder(
    keeping: Callable[[Retention], TestClient], tenant: Caller, net: Net, vip: Vip
) -> None:
    assert report(net.agent_h1, vip.id, vip.e1, vip.at(-3 * 3600_000)) == "holder-changed"  # three hours ago
    agent = Caller(keeping(Retention(max_age=dt.timedelta(minutes=90))), net.agent_h1.token)
    report(agent, vip.id, vip.e3, vip.at(1), "refused")  # now
    assert [e["kind"] for e in history(tenant, vip.id)] == ["claim_refused", "associated", "associated"]
    assert tenant.get(f"/v1/havips/{vip.id}")["holder"]["interface_id"] == vip.e1


# ---------------------------------------------------------------- migration 0008


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


def test_the_migration_gives_existing_events_one_occurrence_at_their_time(empty_db_url: str) -> None:
    eng = sa.create_engine(empty_db_url)
    when = dt.datetime(2026, 5, 1, 12, 30)
    with eng.connect() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.commit()
        conn.execute(
            sa.text(
                "INSERT INTO havip_events (id, havip_id, account_id, kind, at, cause, reason, detail) "
                "VALUES ('hve-1', 'havip-1', 'acc-1', 'holder_changed', :at, 'garp', '', '{}'), "
                "('hve-2', 'havip-1', 'acc-1', 'claim_refused', :later, 'garp', 'not-a-member', '{}')"
            ),
            {"at": when, "later": when + dt.timedelta(seconds=5)},
        )
        conn.commit()
    eng.dispose()
    store = Store(empty_db_url)
    try:
        assert store.migrate() == ("0007", store.head_revision())
        with store.uow() as uow:
            rows = {e.id: (e.count, e.first_seen, e.last_seen) for e in uow.events.find(order_by="at")}
        utc = when.replace(tzinfo=dt.UTC)
        assert rows == {
            "hve-1": (1, utc, utc),
            "hve-2": (1, utc + dt.timedelta(seconds=5), utc + dt.timedelta(seconds=5)),
        }
    finally:
        store.dispose()
