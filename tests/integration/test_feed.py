"""The change feed per host: a write moves the revision of every host whose desired state it
changes, and of no host outside the VPC it is about; a long poll hears only of its own host.

The invariant test runs a script of every kind of write through the API (SQLite and
PostgreSQL) with six hosts in two VPCs, and after each write compares every host's desired
state (read by the operator, who records no heartbeat) with the one before.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from havip.api import create_app
from havip.domain.model import Host
from havip.service.context import Settings
from havip.service.ports import UnitOfWork, UnitOfWorkFactory
from havip.store import Store
from havip.store.migrate import _config

from . import pg
from .helpers import Caller, serve, wait_until

HOSTS = ("h1", "h2", "h3", "h4", "h5", "h6")
"""h1, h2 and h3 start in VPC A, h3 and h4 in VPC B; h5 joins A when an interface moves
there; h6 is never in a VPC (and is deleted at the end)."""


@dataclass
class Cloud:
    """The script's world: what it made, by name, and the agents' keys."""

    operator: Caller
    tenant: Caller
    agents: dict[str, Caller] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    """Names the script gives to what it made -> their ids (VPCs are "A", "B", ...)."""

    def states(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """Every host's (revision, desired state without it)."""
        out = {}
        for h in self.operator.get("/v1/hosts", params={"limit": 100})["items"]:
            state = self.operator.get(f"/v1/hosts/{h['id']}/desired-state")
            out[h["name"]] = (state.pop("revision"), state)
        return out

    def claim(self, host: str, havip: str, interface: str, epoch: int) -> None:
        body = {
            "havip_id": self.ids[havip],
            "interface_id": self.ids[interface],
            "kind": "claim",
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "epoch": epoch,
        }
        assert self.agents[host].post(f"/v1/hosts/{host}/reports", body, status=200)["outcome"] == "holder-changed"


def _vpcs_of(state: dict[str, Any]) -> set[str]:
    """The VPCs a host has an interface in, by its desired state."""
    return set(state["vpcs"])


Step = tuple[str, Callable[[Cloud], None], str | None]
"""(id, the write, the VPC it is about by the script's name: None when it is about a host)."""


def _make(kind: str, name: str, path: str, body: Callable[[Cloud], dict[str, Any]]) -> Callable[[Cloud], None]:
    def run(cloud: Cloud) -> None:
        made = cloud.tenant.post(path, body(cloud))
        cloud.ids[name] = made["id"]
        if kind == "instance":
            cloud.ids[f"{name}.eni"] = made["network_interfaces"][0]["id"]

    return run


def _instance(name: str, subnet: str, host: str) -> Callable[[Cloud], None]:
    return _make("instance", name, "/v1/instances", lambda c: {"subnet_id": c.ids[subnet], "host": host})


def _member(havip: str, member: str) -> Callable[[Cloud], None]:
    def run(c: Cloud) -> None:
        body = {"member_type": "instance", "member_id": c.ids[member]}
        c.tenant.post(f"/v1/havips/{c.ids[havip]}/members", body, status=200)

    return run


def _call(method: str, path: Callable[[Cloud], str], body: Any = None, status: int = 200) -> Callable[[Cloud], None]:
    def run(c: Cloud) -> None:
        caller = c.operator if path(c).startswith("/v1/hosts") else c.tenant
        caller.ok(method, path(c), status, **({} if body is None else {"json": body(c) if callable(body) else body}))

    return run


def _underlay(host: str, address: str) -> Callable[[Cloud], None]:
    return _call("PATCH", lambda c: f"/v1/hosts/{host}", {"underlay": address})


def _route(cloud: Cloud) -> None:
    body = {"destination": "192.168.7.0/24", "next_hop_type": "havip", "next_hop_id": cloud.ids["v"]}
    cloud.ids["r"] = cloud.tenant.post(f"/v1/route-tables/{cloud.ids['A.table']}/entries", body)["id"]


SCRIPT: list[Step] = [
    ("vpc-create", _make("vpc", "C", "/v1/vpcs", lambda c: {"cidr": "10.2.0.0/16"}), "C"),
    (
        "subnet-create",
        _make("subnet", "A.extra", "/v1/subnets", lambda c: {"vpc_id": c.ids["A"], "cidr": "10.0.9.0/24"}),
        "A",
    ),
    ("instance-create", _instance("a3", "A.net", "h2"), "A"),
    ("instance-create-other-vpc", _instance("b2", "B.net", "h4"), "B"),
    (
        "interface-create",
        _make("eni", "x", "/v1/network-interfaces", lambda c: {"subnet_id": c.ids["A.net"], "host": "h2"}),
        "A",
    ),
    ("interface-move", _call("PATCH", lambda c: f"/v1/network-interfaces/{c.ids['x']}", {"host": "h5"}), "A"),
    ("interface-unplace", _call("PATCH", lambda c: f"/v1/network-interfaces/{c.ids['x']}", {"host": ""}), "A"),
    ("interface-place", _call("PATCH", lambda c: f"/v1/network-interfaces/{c.ids['x']}", {"host": "h5"}), "A"),
    (
        "interface-secondary-ips",
        _call("PATCH", lambda c: f"/v1/network-interfaces/{c.ids['x']}", {"secondary_ips": ["10.0.1.200"]}),
        "A",
    ),
    (
        "havip-create",
        _make("havip", "v", "/v1/havips", lambda c: {"subnet_id": c.ids["A.net"], "ip": "10.0.1.100"}),
        "A",
    ),
    ("havip-update", _call("PATCH", lambda c: f"/v1/havips/{c.ids['v']}", {"binding_mode": "subnet"}), "A"),
    ("havip-update-back", _call("PATCH", lambda c: f"/v1/havips/{c.ids['v']}", {"binding_mode": "explicit"}), "A"),
    ("associate", _member("v", "a1"), "A"),
    ("associate-second", _member("v", "a2"), "A"),
    ("claim", lambda c: c.claim("h1", "v", "a1.eni", 1), "A"),
    ("claim-other-host", lambda c: c.claim("h2", "v", "a2.eni", 2), "A"),
    (
        "eip-associate-havip",
        _call("POST", lambda c: f"/v1/eips/{c.ids['eip']}/associate", lambda c: {"havip_id": c.ids["v"]}),
        "A",
    ),
    ("eip-unassociate-havip", _call("POST", lambda c: f"/v1/eips/{c.ids['eip']}/unassociate"), "A"),
    (
        "eip-associate-interface",
        _call("POST", lambda c: f"/v1/eips/{c.ids['eip']}/associate", lambda c: {"network_interface_id": c.ids["x"]}),
        "A",
    ),
    ("eip-unassociate-interface", _call("POST", lambda c: f"/v1/eips/{c.ids['eip']}/unassociate"), "A"),
    ("route-create", lambda c: _route(c), "A"),
    (
        "route-delete",
        _call("DELETE", lambda c: f"/v1/route-tables/{c.ids['A.table']}/entries/{c.ids['r']}", status=204),
        "A",
    ),
    ("unassociate-holder", _call("DELETE", lambda c: f"/v1/havips/{c.ids['v']}/members/{c.ids['a2']}?force=true"), "A"),
    ("unassociate", _call("DELETE", lambda c: f"/v1/havips/{c.ids['v']}/members/{c.ids['a1']}"), "A"),
    ("havip-delete", _call("DELETE", lambda c: f"/v1/havips/{c.ids['v']}", status=204), "A"),
    ("underlay-change", _underlay("h3", "192.0.2.33"), None),
    ("underlay-remove", _underlay("h2", ""), None),
    ("underlay-set", _underlay("h2", "192.0.2.22"), None),
    ("interface-delete", _call("DELETE", lambda c: f"/v1/network-interfaces/{c.ids['x']}", status=204), "A"),
    ("instance-delete", _call("DELETE", lambda c: f"/v1/instances/{c.ids['a3']}", status=204), "A"),
    ("instance-delete-other-vpc", _call("DELETE", lambda c: f"/v1/instances/{c.ids['b2']}", status=204), "B"),
    ("subnet-delete", _call("DELETE", lambda c: f"/v1/subnets/{c.ids['A.extra']}", status=204), "A"),
    ("vpc-delete", _call("DELETE", lambda c: f"/v1/vpcs/{c.ids['C']}", status=204), "C"),
    ("host-delete", _call("DELETE", lambda c: "/v1/hosts/h6", status=204), None),
]


@pytest.fixture
def cloud(client: TestClient, operator: Caller, tenant: Caller) -> Cloud:
    """Six hosts with underlays; VPC A (h1, h2, h3) and VPC B (h3, h4); one EIP."""
    c = Cloud(operator, tenant)
    for n, name in enumerate(HOSTS, start=1):
        made = operator.post("/v1/hosts", {"name": name, "underlay": f"192.0.2.{n}"})
        c.agents[name] = Caller(client, made["agent_key"]["token"])
    for vpc, cidr in (("A", "10.0.0.0/16"), ("B", "10.1.0.0/16")):
        c.ids[vpc] = tenant.post("/v1/vpcs", {"cidr": cidr})["id"]
        c.ids[f"{vpc}.net"] = tenant.post(
            "/v1/subnets", {"vpc_id": c.ids[vpc], "cidr": cidr.replace(".0.0/16", ".1.0/24")}
        )["id"]
        c.ids[f"{vpc}.table"] = tenant.get("/v1/route-tables", params={"vpc_id": c.ids[vpc]})["items"][0]["id"]
    for name, vpc, host in (
        ("a1", "A", "h1"),
        ("a2", "A", "h2"),
        ("a0", "A", "h3"),
        ("b1", "B", "h3"),
        ("b0", "B", "h4"),
    ):
        _instance(name, f"{vpc}.net", host)(c)
    operator.post("/v1/eip-pools", {"cidr": "203.0.113.0/29", "documentation_range": True})
    c.ids["eip"] = tenant.post("/v1/eips", {})["id"]
    return c


NO_CHANGE = {"vpc-create", "vpc-delete", "host-delete"}
"""The steps that change no host's desired state (a VPC without interfaces, a host without)."""

SUBJECT = {"underlay-change": "h3", "underlay-remove": "h2", "underlay-set": "h2", "host-delete": "h6"}
"""The host each host-scoped step is about."""


def test_every_write_moves_the_revision_of_every_host_it_changes_and_no_other(cloud: Cloud) -> None:
    before = cloud.states()
    changed_by = set()
    for name, run, vpc in SCRIPT:
        run(cloud)
        after = cloud.states()
        assert set(after) <= set(before)
        if vpc is not None:
            scope = {cloud.ids[vpc]}
        else:  # the subject's own VPCs: its peers are the hosts of those
            subject = SUBJECT[name]
            scope = _vpcs_of(before[subject][1]) | (_vpcs_of(after[subject][1]) if subject in after else set())
        for host, (revision, state) in after.items():
            old_revision, old_state = before[host]
            assert revision >= old_revision, f"{name}: {host}'s revision went back"
            if state != old_state:
                changed_by.add(name)
                assert revision > old_revision, f"{name}: {host}'s desired state changed, its revision did not"
            outside = not scope & (_vpcs_of(state) | _vpcs_of(old_state))
            if outside and host != SUBJECT.get(name):
                assert revision == old_revision, f"{name}: {host} is outside the write's scope, its revision moved"
        before = after
    # the script proves something only if its writes do change desired states
    assert changed_by == {n for n, _, _ in SCRIPT} - NO_CHANGE


class CountingUow:
    """The store's unit-of-work factory, counting the units of work opened."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.opened = 0

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        self.opened += 1
        return self.inner(write=write)


def test_a_long_poll_is_not_woken_by_a_write_in_a_vpc_its_host_is_not_in(store: Store, cloud: Cloud) -> None:
    """h4 is in VPC B only: claims and member changes in A neither wake its poll (it reads
    nothing more while they happen) nor move its revision; a write in B answers it at once."""
    heard: list[int | None] = []
    h4_id = cloud.operator.get("/v1/hosts/h4")["id"]
    stop = store.changes.subscribe(h4_id, heard.append)
    wait_until(lambda: None in heard)  # the feed's source listens (its first "look again" is behind us)
    counting = CountingUow(store.uow)
    with serve(create_app(counting, Settings(), changes=store.changes)) as live, live.client() as http:
        agent = Caller(http, cloud.agents["h4"].token)
        current = agent.get("/v1/hosts/h4/desired-state")["revision"]
        answers: list[tuple[float, Any]] = []

        def poll() -> None:
            body = agent.get("/v1/hosts/h4/desired-state", params={"since_revision": current, "wait": 30})
            answers.append((time.monotonic(), body))

        baseline = counting.opened
        poller = threading.Thread(target=poll)
        poller.start()
        wait_until(lambda: counting.opened >= baseline + 2)  # authenticated and read the revision once
        time.sleep(0.2)  # settled: a poll that is about to read again would have done so
        settled = counting.opened
        cloud.ids["v"] = cloud.tenant.post("/v1/havips", {"subnet_id": cloud.ids["A.net"], "ip": "10.0.1.100"})["id"]
        _member("v", "a1")(cloud)
        _member("v", "a2")(cloud)
        for epoch in range(1, 7):  # claims alternating between h1 and h2
            cloud.claim("h1" if epoch % 2 else "h2", "v", "a1.eni" if epoch % 2 else "a2.eni", epoch)
        time.sleep(0.5)  # what the feed would deliver arrives within milliseconds
        assert not answers
        assert counting.opened == settled, "the poll of h4 read the store again: it was woken"
        assert [r for r in heard if r is not None] == []
        assert cloud.operator.get("/v1/hosts/h4/desired-state")["revision"] == current
        started = time.monotonic()
        _instance("b9", "B.net", "h3")(cloud)  # a write in B: h4's remote interfaces change
        poller.join(timeout=30)
    stop()
    [(answered, state)] = answers
    assert answered - started < 2
    assert state["revision"] > current
    assert heard[-1] == state["revision"]


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


def test_the_migration_gives_existing_hosts_the_global_revision(empty_db_url: str) -> None:
    """From 0006 to head: the hosts that exist start at the global revision, so what their
    agents applied stays in sync; new hosts start at 0; the global revision goes on growing."""
    eng = sa.create_engine(empty_db_url)
    with eng.connect() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.execute(sa.text("UPDATE state_revision SET value = 41 WHERE id = 1"))
        conn.execute(
            sa.text(
                "INSERT INTO hosts (id, name, region, description, created_at) "
                "VALUES ('host-1', 'hv1', 'r1', '', :at), ('host-2', 'hv2', 'r1', '', :at)"
            ),
            {"at": dt.datetime(2026, 1, 1)},
        )
        conn.commit()
    eng.dispose()
    store = Store(empty_db_url)
    try:
        assert store.migrate() == ("0006", store.head_revision())
        with store.uow(write=True) as uow:
            assert {h.name: h.revision for h in uow.hosts.find()} == {"hv1": 41, "hv2": 41}
            uow.hosts.add(Host("host-3", "hv3", "r1"))
            assert uow.touch(host_ids=["host-1"]) == 42
            uow.commit()
        with store.uow() as uow:
            assert {h.name: h.revision for h in uow.hosts.find()} == {"hv1": 42, "hv2": 41, "hv3": 0}
            assert uow.revision() == 42
    finally:
        store.dispose()
