"""Several hosts, control-plane side: underlay addresses, VNIs, and the desired state across hosts.

A host may have an underlay address (unique, unicast IPv4); every VPC gets a VNI when it
is created (migration 0005 numbered the VPCs that existed). A host with an underlay sees
its peers and its VPCs' interfaces on them; a host without one sees exactly the one-host
state, and is never listed to the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from havip.store import Store
from havip.store.migrate import _config

from . import pg
from .helpers import Caller, Net

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # in the past: reports ahead of the server clock are refused


def hosts(operator: Caller) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = operator.get("/v1/hosts")["items"]
    return items


# ---------------------------------------------------------------- underlay


def test_a_host_is_created_with_its_underlay_and_shows_it(operator: Caller) -> None:
    created = operator.post("/v1/hosts", {"name": "hv1", "underlay": "192.0.2.11"})["host"]
    assert created["underlay"] == "192.0.2.11"
    assert operator.get("/v1/hosts/hv1")["underlay"] == "192.0.2.11"
    assert operator.get(f"/v1/hosts/{created['id']}")["underlay"] == "192.0.2.11"
    plain = operator.post("/v1/hosts", {"name": "hv2"})["host"]
    assert plain["underlay"] is None
    assert {h["name"]: h["underlay"] for h in hosts(operator)} == {"hv1": "192.0.2.11", "hv2": None}


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("192.0.2", "InvalidUnderlay.Malformed"),
        ("192.0.2.300", "InvalidUnderlay.Malformed"),
        ("2001:db8::1", "InvalidUnderlay.Malformed"),
        ("10.0.0.0/24", "InvalidUnderlay.Malformed"),
        ("0.0.0.0", "InvalidUnderlay.NotUnicast"),
        ("0.1.2.3", "InvalidUnderlay.NotUnicast"),
        ("127.0.0.1", "InvalidUnderlay.NotUnicast"),
        ("169.254.1.1", "InvalidUnderlay.NotUnicast"),
        ("224.0.0.5", "InvalidUnderlay.NotUnicast"),
        ("239.255.255.250", "InvalidUnderlay.NotUnicast"),
        ("255.255.255.255", "InvalidUnderlay.NotUnicast"),
        ("240.0.0.1", "InvalidUnderlay.NotUnicast"),
    ],
)
def test_a_bad_underlay_is_refused_and_changes_nothing(operator: Caller, address: str, code: str) -> None:
    operator.post("/v1/hosts", {"name": "hv1", "underlay": "192.0.2.11"})
    before = operator.get("/v1/hosts/hv1")
    operator.fails("POST", "/v1/hosts", 400, code, json={"name": "hv2", "underlay": address})
    operator.fails("PATCH", "/v1/hosts/hv1", 400, code, json={"underlay": address, "description": "changed"})
    assert hosts(operator) == [before]


def test_an_underlay_in_use_is_refused_on_create_and_on_update(operator: Caller) -> None:
    operator.post("/v1/hosts", {"name": "hv1", "underlay": "192.0.2.11"})
    operator.post("/v1/hosts", {"name": "hv2", "underlay": "192.0.2.12"})
    before = hosts(operator)
    body = operator.fails(
        "POST", "/v1/hosts", 409, "InvalidUnderlay.InUse", json={"name": "hv3", "underlay": "192.0.2.11"}
    )
    assert "hv1" in body["message"]
    operator.fails("PATCH", "/v1/hosts/hv2", 409, "InvalidUnderlay.InUse", json={"underlay": "192.0.2.11"})
    assert hosts(operator) == before
    # the same address again on its own host is no change
    assert operator.patch("/v1/hosts/hv1", {"underlay": "192.0.2.11"})["underlay"] == "192.0.2.11"


def test_an_underlay_is_set_changed_and_removed_and_each_change_bumps_the_revision(
    operator: Caller, tenant: Caller
) -> None:
    created = operator.post("/v1/hosts", {"name": "hv1"})
    agent = Caller(tenant.http, created["agent_key"]["token"])

    def revision() -> int:
        value: int = agent.get("/v1/hosts/hv1/desired-state")["revision"]
        return value

    r0 = revision()
    assert operator.patch("/v1/hosts/hv1", {"underlay": "192.0.2.11"})["underlay"] == "192.0.2.11"
    r1 = revision()
    assert r1 > r0
    assert agent.get("/v1/hosts/hv1/desired-state")["underlay"] == "192.0.2.11"
    assert operator.patch("/v1/hosts/hv1", {"underlay": "192.0.2.21"})["underlay"] == "192.0.2.21"
    r2 = revision()
    assert r2 > r1
    assert operator.patch("/v1/hosts/hv1", {"description": "rack 4"})["underlay"] == "192.0.2.21"
    assert revision() == r2  # a description is nobody's desired state
    assert operator.patch("/v1/hosts/hv1", {"underlay": ""})["underlay"] is None
    assert revision() > r2
    assert operator.get("/v1/hosts/hv1")["description"] == "rack 4"
    # the freed address can be taken by another host
    operator.post("/v1/hosts", {"name": "hv2", "underlay": "192.0.2.21"})


def test_only_the_operator_changes_a_host(operator: Caller, tenant: Caller) -> None:
    operator.post("/v1/hosts", {"name": "hv1"})
    tenant.fails("PATCH", "/v1/hosts/hv1", 403, json={"underlay": "192.0.2.11"})
    operator.fails("PATCH", "/v1/hosts/nope", 404, "NotFound.Host", json={"underlay": "192.0.2.11"})
    assert operator.get("/v1/hosts/hv1")["underlay"] is None


# ---------------------------------------------------------------- VNIs


def test_each_vpc_gets_its_own_vni_shown_on_the_vpc(tenant: Caller) -> None:
    made = [tenant.post("/v1/vpcs", {"cidr": f"10.{i}.0.0/16"}) for i in range(3)]
    assert [v["vni"] for v in made] == [1000, 1001, 1002]
    assert [tenant.get(f"/v1/vpcs/{v['id']}")["vni"] for v in made] == [1000, 1001, 1002]
    assert sorted(v["vni"] for v in tenant.get("/v1/vpcs")["items"]) == [1000, 1001, 1002]
    tenant.delete(f"/v1/vpcs/{made[2]['id']}")
    assert tenant.post("/v1/vpcs", {"cidr": "10.9.0.0/16"})["vni"] == 1002  # the highest is free again
    tenant.delete(f"/v1/vpcs/{made[0]['id']}")
    assert tenant.post("/v1/vpcs", {"cidr": "10.8.0.0/16"})["vni"] == 1003  # never one a live VPC has


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


def test_the_migration_numbers_the_existing_vpcs_and_adds_the_underlay(empty_db_url: str) -> None:
    """From 0004 (no VNI, no underlay) to head on each engine: existing VPCs get 1000, 1001, ...
    in creation order; hosts get no underlay; both are unique afterwards."""
    db_url = empty_db_url
    eng = sa.create_engine(db_url)
    with eng.connect() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.commit()
        for i, (vpc_id, minute) in enumerate([("vpc-b", 1), ("vpc-a", 2), ("vpc-c", 1)]):
            conn.execute(
                sa.text(
                    "INSERT INTO vpcs (id, account_id, region, cidr, name, description, created_at) "
                    "VALUES (:id, 'acc', 'r1', :cidr, '', '', :at)"
                ),
                {"id": vpc_id, "cidr": f"10.{i}.0.0/16", "at": dt.datetime(2026, 1, 1, 0, minute)},
            )
        conn.execute(
            sa.text(
                "INSERT INTO hosts (id, name, region, description, created_at) "
                "VALUES ('host-1', 'hv1', 'r1', '', :at), ('host-2', 'hv2', 'r1', '', :at)"
            ),
            {"at": dt.datetime(2026, 1, 1)},
        )
        conn.commit()
    eng.dispose()
    store = Store(db_url)
    try:
        assert store.migrate() == ("0004", store.head_revision())
        with store.uow() as uow:
            assert {v.id: v.vni for v in uow.vpcs.find()} == {"vpc-b": 1000, "vpc-c": 1001, "vpc-a": 1002}
            assert {h.name: h.underlay for h in uow.hosts.find()} == {"hv1": None, "hv2": None}
        with store.uow(write=True) as uow:  # two hosts without an underlay never collide
            host = uow.hosts.get("host-1")
            assert host is not None
            host.underlay = "192.0.2.11"
            uow.commit()
        for statement in (
            "UPDATE vpcs SET vni = 1000 WHERE id = 'vpc-a'",
            "UPDATE hosts SET underlay = '192.0.2.11' WHERE id = 'host-2'",
            "UPDATE vpcs SET vni = NULL WHERE id = 'vpc-a'",
        ):
            with pytest.raises(sa.exc.IntegrityError), sa.create_engine(db_url).begin() as conn:
                conn.execute(sa.text(statement))
    finally:
        store.dispose()


# ---------------------------------------------------------------- desired state across hosts


def underlays(operator: Caller, **by_host: str) -> None:
    for name, address in by_host.items():
        operator.patch(f"/v1/hosts/{name}", {"underlay": address})


def pair(tenant: Caller, net: Net) -> tuple[str, str, str, str]:
    """A HaVip with members i1 (on h1) and i2 (on h2), and i3 on h1 that is not a member:
    (havip, e1, e2, e3)."""
    i1 = net.instance(tenant, host="h1", device="tap1")
    i2 = net.instance(tenant, host="h2", device="tap2")
    i3 = net.instance(tenant, host="h1", device="tap3")
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100"})
    for inst in (i1, i2):
        tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    return h["id"], *(i["network_interfaces"][0]["id"] for i in (i1, i2, i3))


def test_members_on_two_hosts_see_each_other_as_remote_claimants(operator: Caller, tenant: Caller, net: Net) -> None:
    underlays(operator, h1="192.0.2.11", h2="192.0.2.12")
    havip, e1, e2, e3 = pair(tenant, net)
    vni = tenant.get(f"/v1/vpcs/{net.vpc}")["vni"]
    addresses = {e["id"]: e["primary_ip"] for e in tenant.get("/v1/network-interfaces")["items"]}

    s1 = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert (s1["underlay"], s1["vnis"]) == ("192.0.2.11", {net.vpc: vni})
    assert s1["peers"] == [{"host": "h2", "underlay": "192.0.2.12"}]
    assert s1["remote_interfaces"] == [
        {
            "id": e2,
            "vpc_id": net.vpc,
            "subnet_id": net.subnet,
            "instance_id": s1["remote_interfaces"][0]["instance_id"],
            "host": "h2",
            "addresses": [addresses[e2]],
            "claimable": [havip],
        }
    ]
    assert s1["remote_interfaces"][0]["instance_id"] is not None
    assert s1["havips"][0]["claimants"] == [e1]  # the local view is as before

    s2 = net.agent_h2.get("/v1/hosts/h2/desired-state")
    assert s2["peers"] == [{"host": "h1", "underlay": "192.0.2.11"}]
    assert [(r["id"], r["host"], r["claimable"]) for r in s2["remote_interfaces"]] == sorted(
        [(e1, "h1", [havip]), (e3, "h1", [])]
    )
    assert s2["havips"][0]["claimants"] == [e2]

    # h2's member claims: h1 is told the holder is on h2
    before = s1["revision"]
    body = {"havip_id": havip, "interface_id": e2, "kind": "claim", "at": T0.isoformat().replace("+00:00", "Z")}
    assert net.agent_h2.post("/v1/hosts/h2/reports", body, status=200)["outcome"] == "holder-changed"
    s1 = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert s1["revision"] > before
    assert (s1["havips"][0]["holder_interface_id"], s1["havips"][0]["holder_host"]) == (e2, "h2")


def test_subnet_mode_makes_every_remote_interface_of_the_subnet_claimable(
    operator: Caller, tenant: Caller, net: Net
) -> None:
    underlays(operator, h1="192.0.2.11", h2="192.0.2.12")
    net.instance(tenant, host="h1", device="tap1")
    remote = [net.instance(tenant, host="h2", device=f"tap{i}")["network_interfaces"][0]["id"] for i in (2, 3)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet, "binding_mode": "subnet"})
    state = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert [(r["id"], r["claimable"]) for r in state["remote_interfaces"]] == [(e, [h["id"]]) for e in sorted(remote)]


def test_a_host_without_an_underlay_gets_the_one_host_state_and_is_never_listed(
    operator: Caller, tenant: Caller, net: Net
) -> None:
    havip, e1, e2, _e3 = pair(tenant, net)
    plain = net.agent_h2.get("/v1/hosts/h2/desired-state")
    underlays(operator, h1="192.0.2.11")  # h2 keeps none
    s1 = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert s1["underlay"] == "192.0.2.11"
    assert (s1["peers"], s1["remote_interfaces"]) == ([], [])  # e2 sits on a host without an underlay
    assert [(h["id"], h["claimants"]) for h in s1["havips"]] == [(havip, [e1])]
    assert s1["vnis"] == {net.vpc: tenant.get(f"/v1/vpcs/{net.vpc}")["vni"]}
    s2 = net.agent_h2.get("/v1/hosts/h2/desired-state")
    assert (s2["underlay"], s2["vnis"], s2["peers"], s2["remote_interfaces"]) == (None, {}, [], [])
    assert [(h["id"], h["claimants"]) for h in s2["havips"]] == [(havip, [e2])]
    assert {k: v for k, v in s2.items() if k != "revision"} == {k: v for k, v in plain.items() if k != "revision"}


def test_moving_an_interface_to_a_peer_changes_the_others_state(operator: Caller, tenant: Caller, net: Net) -> None:
    operator.post("/v1/hosts", {"name": "h3", "underlay": "192.0.2.13"})
    underlays(operator, h1="192.0.2.11", h2="192.0.2.12")
    net.instance(tenant, host="h1", device="tap1")
    moving = net.instance(tenant, host="h2", device="tap2")["network_interfaces"][0]["id"]
    before = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert [p["host"] for p in before["peers"]] == ["h2"]
    tenant.patch(f"/v1/network-interfaces/{moving}", {"host": "h3"})
    after = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert after["revision"] > before["revision"]
    assert after["peers"] == [{"host": "h3", "underlay": "192.0.2.13"}]
    assert [(r["id"], r["host"]) for r in after["remote_interfaces"]] == [(moving, "h3")]
    # h3's peer h1 changes its underlay: h3 reads the new address
    operator.patch("/v1/hosts/h1", {"underlay": "192.0.2.31"})
    assert net.agent_h2.get("/v1/hosts/h2/desired-state")["peers"] == []  # h2 shares nothing with anyone now
    ops = operator.get("/v1/hosts/h3/desired-state")
    assert ops["peers"] == [{"host": "h1", "underlay": "192.0.2.31"}]


def test_a_holder_on_a_host_whose_agent_went_silent_is_not_shown_healthy(
    operator: Caller, tenant: Caller, net: Net, store: Store
) -> None:
    underlays(operator, h1="192.0.2.11", h2="192.0.2.12")
    havip, _e1, e2, _e3 = pair(tenant, net)
    body = {"havip_id": havip, "interface_id": e2, "kind": "claim", "at": T0.isoformat().replace("+00:00", "Z")}
    net.agent_h2.post("/v1/hosts/h2/reports", body, status=200)
    net.agent_h2.get("/v1/hosts/h2/desired-state", params={"agent_version": "test"})  # its heartbeat
    holder = tenant.get(f"/v1/havips/{havip}")["holder"]
    assert (holder["interface_id"], holder["host_agent"], holder["healthy"]) == (e2, "up", True)
    with store.uow(write=True) as uow:  # h2's agent last polled an hour ago: its lease ran out
        h2 = uow.hosts.get(net.h2)
        assert h2 is not None and h2.agent_seen_at is not None
        h2.agent_seen_at -= dt.timedelta(hours=1)
        uow.commit()
    for shown in (tenant.get(f"/v1/havips/{havip}"), tenant.get("/v1/havips")["items"][0]):
        holder = shown["holder"]
        assert (holder["interface_id"], holder["host_agent"], holder["healthy"]) == (e2, "down", False)
    assert operator.get(f"/v1/hosts/{net.h2}")["agent"]["state"] == "down"
