"""Races through the real HTTP stack, on both engines and in two topologies: the rules still hold.

Each test releases N clients at once (``races.race``) and checks that exactly the
allowed number succeed, then that the whole store is consistent (``invariants``).
Topologies (``where``; the core rules run in both, the rest in the first):

- ``one-server``: the app under uvicorn in this process (threads of one server);
- ``two-replicas``: two ``havip serve`` processes on the test's database, clients
  alternating between them; only the database's write lock (BEGIN IMMEDIATE on
  SQLite, the advisory lock on PostgreSQL) keeps them apart.

The test's fixtures (``boot``, ``tenant``, ``net``) write to the same database through
the in-process app, so both topologies see the same accounts and resources.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from havip.service.accounts import Bootstrap
from havip.store import Store

from .helpers import Caller, LiveServer, Net
from .invariants import check_consistent
from .processes import Replicas
from .races import outcomes, race

pytestmark = pytest.mark.integration

Connect = Callable[[int], httpx.Client]


@pytest.fixture(params=["one-server", "two-replicas"])
def where(
    request: pytest.FixtureRequest, db_url: str, store: Store, boot: Bootstrap, tmp_path: Path
) -> Iterator[Connect]:
    """How the racing clients reach the control plane; the test id says which (after ``boot``: the keys)."""
    if request.param == "one-server":
        server: LiveServer = request.getfixturevalue("server")
        yield lambda _i: server.client()
        return
    with Replicas(db_url, tmp_path / "replicas") as group:
        replicas = group.start_many("a", "b")
        yield lambda i: replicas[i % 2].http()


ONE_SERVER = pytest.mark.parametrize("where", ["one-server"], indirect=True)
"""For races whose rule is the same lock as another's: the replica topology adds nothing but time."""


def test_20_concurrent_havip_creates_respect_the_quota_of_5(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    answers = race(
        where, boot.tenant_token, 20, lambda c, _i: c.request("POST", "/v1/havips", json={"subnet_id": net.subnet})
    )
    assert outcomes(answers) == {"201": 5, "403 QuotaExceeded.havips_per_account": 15}
    listed = tenant.get("/v1/havips")
    assert listed["total"] == 5
    assert len({h["ip"] for h in listed["items"]}) == 5
    assert {q["name"]: q["used"] for q in tenant.get("/v1/quotas")["items"]}["havips_per_account"] == 5
    check_consistent(store)


def test_12_concurrent_vpc_creates_get_12_distinct_vnis(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller
) -> None:
    answers = race(
        where, boot.tenant_token, 12, lambda c, i: c.request("POST", "/v1/vpcs", json={"cidr": f"10.{i}.0.0/16"})
    )
    assert outcomes(answers) == {"201": 12}
    vnis = [a.json()["vni"] for a in answers]
    assert sorted(vnis) == list(range(1000, 1012))
    assert sorted(v["vni"] for v in tenant.get("/v1/vpcs")["items"]) == sorted(vnis)
    check_consistent(store)


def test_15_concurrent_associations_respect_10_members(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    instances = [net.instance(tenant)["id"] for _ in range(15)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    path = f"/v1/havips/{h['id']}/members"

    def associate(c: Caller, i: int) -> httpx.Response:
        return c.request("POST", path, json={"member_type": "instance", "member_id": instances[i]})

    answers = race(where, boot.tenant_token, 15, associate)
    assert outcomes(answers) == {"200": 10, "403 QuotaExceeded.members_per_havip": 5}
    view = tenant.get(f"/v1/havips/{h['id']}")
    assert len(view["members"]) == 10
    winners = {instances[i] for i, a in enumerate(answers) if a.status_code == 200}
    assert {m["member_id"] for m in view["members"]} == winners
    assert tenant.get(f"/v1/havips/{h['id']}/events", params={"kind": "associated"})["total"] == 10
    check_consistent(store)


@ONE_SERVER
def test_one_instance_raced_into_six_havips_respects_5_per_member(
    where: Connect, store: Store, boot: Bootstrap, operator: Caller, tenant: Caller, net: Net, account_a: str
) -> None:
    for quota in ("havips_per_account", "havips_per_vpc"):
        operator.ok("PUT", f"/v1/quotas/{account_a}/{quota}", json={"value": 50})
    inst = net.instance(tenant)["id"]
    havips = [tenant.post("/v1/havips", {"subnet_id": net.subnet})["id"] for _ in range(6)]

    def associate(c: Caller, i: int) -> httpx.Response:
        return c.request("POST", f"/v1/havips/{havips[i]}/members", json={"member_type": "instance", "member_id": inst})

    answers = race(where, boot.tenant_token, 6, associate)
    assert outcomes(answers) == {"200": 5, "403 QuotaExceeded.havips_per_member": 1}
    check_consistent(store)


@pytest.mark.parametrize(
    ("what", "where"),
    [
        ("network-interfaces", "one-server"),
        ("instances", "one-server"),
        ("havips", "one-server"),
        ("havips", "two-replicas"),
    ],
    indirect=["where"],
)
def test_concurrent_creates_for_one_address_have_one_winner_and_leave_no_half(
    where: Connect,
    store: Store,
    boot: Bootstrap,
    operator: Caller,
    tenant: Caller,
    net: Net,
    account_a: str,
    what: str,
) -> None:
    for quota in ("havips_per_account", "havips_per_vpc"):
        operator.ok("PUT", f"/v1/quotas/{account_a}/{quota}", json={"value": 50})
    body = {"subnet_id": net.subnet, **({"ip": "10.0.1.77"} if what == "havips" else {"primary_ip": "10.0.1.77"})}

    def create(c: Caller, _i: int) -> httpx.Response:
        return c.request("POST", f"/v1/{what}", json=body)

    answers = race(where, boot.tenant_token, 12, create)
    assert outcomes(answers) == {"201": 1, "409 InvalidIpAddress.AlreadyUsed": 11}
    assert tenant.get(f"/v1/{what}")["total"] == 1
    enis = tenant.get("/v1/network-interfaces")["items"]
    assert [e["primary_ip"] for e in enis] == ([] if what == "havips" else ["10.0.1.77"])
    check_consistent(store)


def test_concurrent_creates_with_one_client_token_make_one_resource(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    def create(c: Caller, i: int) -> httpx.Response:
        if i % 2:
            return c.request("POST", "/v1/havips", json={"subnet_id": net.subnet, "client_token": "same"})
        return c.request("POST", "/v1/instances", json={"subnet_id": net.subnet, "client_token": "same"})

    answers = race(where, boot.tenant_token, 12, create)
    assert outcomes(answers) == {"201": 12}
    assert len({a.json()["id"] for a in answers[1::2]}) == 1  # one HaVip for the token
    assert len({a.json()["id"] for a in answers[0::2]}) == 1  # one instance: tokens are per operation
    assert tenant.get("/v1/havips")["total"] == tenant.get("/v1/instances")["total"] == 1
    check_consistent(store)


@ONE_SERVER
def test_concurrent_subnets_with_overlapping_cidrs_have_one_winner(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    cidrs = ["10.0.8.0/21", "10.0.8.0/24", "10.0.9.0/24", "10.0.12.0/22", "10.0.15.0/24", "10.0.10.0/23"]

    def create(c: Caller, i: int) -> httpx.Response:
        return c.request("POST", "/v1/subnets", json={"vpc_id": net.vpc, "cidr": cidrs[i]})

    answers = race(where, boot.tenant_token, len(cidrs), create)
    tally = outcomes(answers)
    made = [a.json()["cidr"] for a in answers if a.status_code == 201]
    assert tally["201"] == len(made) >= 1
    assert tally["201"] + tally["409 InvalidCidrBlock.Overlap"] == len(cidrs), tally
    nets = [ipaddress.ip_network(c) for c in [*made, "10.0.1.0/24"]]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(nets, 2)), made


@ONE_SERVER
def test_a_delete_racing_associations_never_leaves_a_member_of_nothing(
    where: Connect, store: Store, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    instances = [net.instance(tenant)["id"] for _ in range(5)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})

    def act(c: Caller, i: int) -> httpx.Response:
        if i == 0:
            return c.request("DELETE", f"/v1/havips/{h['id']}")
        return c.request(
            "POST", f"/v1/havips/{h['id']}/members", json={"member_type": "instance", "member_id": instances[i - 1]}
        )

    answers = race(where, boot.tenant_token, 6, act)
    deleted = answers[0].status_code == 204
    if deleted:  # the delete came first: every association found no HaVip
        assert outcomes(answers[1:]) == {"404 NotFound.HaVip": 5}
    else:  # an association came first: the delete found members
        assert outcomes(answers[:1]) == {"409 DependencyViolation.HaVipHasMembers": 1}
    check_consistent(store)


@ONE_SERVER
def test_concurrent_eip_allocations_from_a_small_pool_give_each_address_once(
    where: Connect, store: Store, boot: Bootstrap, operator: Caller, tenant: Caller
) -> None:
    operator.post("/v1/eip-pools", {"cidr": "203.0.113.0/29", "documentation_range": True})

    def allocate(c: Caller, _i: int) -> httpx.Response:
        return c.request("POST", "/v1/eips", json={})

    answers = race(where, boot.tenant_token, 12, allocate)
    tally = outcomes(answers)
    made = [a.json()["ip"] for a in answers if a.status_code == 201]
    assert len(made) == len(set(made)) == tally["201"] >= 1
    assert tally["201"] + tally["409 InsufficientEipAddresses"] == 12, tally
    assert tenant.get("/v1/eips")["total"] == len(made)
    check_consistent(store)


def test_concurrent_claims_leave_one_holder_and_a_consistent_history(
    where: Connect, store: Store, tenant: Caller, net: Net
) -> None:
    members = [net.instance(tenant, host="h1" if i % 2 == 0 else "h2") for i in range(6)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    for inst in members:
        tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    agents = {"h1": net.agent_h1.token, "h2": net.agent_h2.token}
    hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)  # within the event retention

    def claim(c: Caller, i: int) -> httpx.Response:
        host = "h1" if i % 2 == 0 else "h2"
        body: dict[str, Any] = {
            "havip_id": h["id"],
            "interface_id": members[i]["network_interfaces"][0]["id"],
            "kind": "claim",
            "at": (hour_ago + dt.timedelta(seconds=i)).isoformat(),
        }
        return c.request(
            "POST", f"/v1/hosts/{host}/reports", json=body, headers={"Authorization": f"Bearer {agents[host]}"}
        )

    answers = race(where, None, 6, claim)
    assert all(a.status_code == 200 for a in answers)
    holder = tenant.get(f"/v1/havips/{h['id']}")["holder"]
    # whatever the order, the newest claim (at :05) wins and the chain of holders is unbroken
    assert holder["interface_id"] == members[5]["network_interfaces"][0]["id"]
    changes = tenant.get(f"/v1/havips/{h['id']}/events", params={"kind": "holder_changed"})["items"]
    chain = list(reversed(changes))
    assert chain[0]["previous_interface_id"] is None
    for earlier, later in itertools.pairwise(chain):
        assert later["previous_interface_id"] == earlier["interface_id"]
    assert sum(1 for a in answers if a.json()["outcome"] == "holder-changed") == len(changes)
    check_consistent(store)
