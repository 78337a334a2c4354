"""Races through the real HTTP stack (uvicorn on 127.0.0.1) on SQLite: the rules still hold.

Each test releases N threads at once with a barrier; each thread has its own HTTP
client. The store's write lock must make exactly the allowed number succeed.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from havip.service.accounts import Bootstrap

from .helpers import Caller, LiveServer, Net, check_error

pytestmark = pytest.mark.integration


def race(
    server: LiveServer, token: str | None, n: int, send: Callable[[Caller, int], httpx.Response]
) -> list[httpx.Response]:
    """Run ``send`` from ``n`` threads released together; the answers in thread order."""
    barrier = threading.Barrier(n)
    answers: list[httpx.Response | None] = [None] * n
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with server.client() as http:
                caller = Caller(http, token)
                barrier.wait(timeout=30)
                answers[i] = send(caller, i)
        except BaseException as exc:  # reported below, so a thread's crash fails the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def outcomes(answers: list[httpx.Response]) -> Counter[str]:
    """Status (and error code) of each answer; every error must have the error shape."""
    seen: Counter[str] = Counter()
    for a in answers:
        if a.status_code < 300:
            seen[str(a.status_code)] += 1
        else:
            seen[f"{a.status_code} {check_error(a, a.status_code)['code']}"] += 1
    return seen


def test_20_concurrent_havip_creates_respect_the_quota_of_5(
    server: LiveServer, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    answers = race(
        server, boot.tenant_token, 20, lambda c, _i: c.request("POST", "/v1/havips", json={"subnet_id": net.subnet})
    )
    assert outcomes(answers) == {"201": 5, "403 QuotaExceeded.havips_per_account": 15}
    listed = tenant.get("/v1/havips")
    assert listed["total"] == 5
    assert len({h["ip"] for h in listed["items"]}) == 5
    assert {q["name"]: q["used"] for q in tenant.get("/v1/quotas")["items"]}["havips_per_account"] == 5


def test_15_concurrent_associations_respect_10_members(
    server: LiveServer, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    instances = [net.instance(tenant)["id"] for _ in range(15)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    path = f"/v1/havips/{h['id']}/members"

    def associate(c: Caller, i: int) -> httpx.Response:
        return c.request("POST", path, json={"member_type": "instance", "member_id": instances[i]})

    answers = race(server, boot.tenant_token, 15, associate)
    assert outcomes(answers) == {"200": 10, "403 QuotaExceeded.members_per_havip": 5}
    view = tenant.get(f"/v1/havips/{h['id']}")
    assert len(view["members"]) == 10
    winners = {instances[i] for i, a in enumerate(answers) if a.status_code == 200}
    assert {m["member_id"] for m in view["members"]} == winners
    assert tenant.get(f"/v1/havips/{h['id']}/events", params={"kind": "associated"})["total"] == 10


def test_concurrent_interface_creates_for_one_address_have_one_winner(
    server: LiveServer, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    def create(c: Caller, _i: int) -> httpx.Response:
        return c.request("POST", "/v1/network-interfaces", json={"subnet_id": net.subnet, "primary_ip": "10.0.1.77"})

    answers = race(server, boot.tenant_token, 12, create)
    assert outcomes(answers) == {"201": 1, "409 InvalidIpAddress.AlreadyUsed": 11}
    listed = tenant.get("/v1/network-interfaces", params={"subnet_id": net.subnet})
    assert [e["primary_ip"] for e in listed["items"]] == ["10.0.1.77"]


def test_concurrent_havip_creates_for_one_address_have_one_winner(
    server: LiveServer, boot: Bootstrap, operator: Caller, tenant: Caller, net: Net, account_a: str
) -> None:
    for quota in ("havips_per_account", "havips_per_vpc"):
        operator.ok("PUT", f"/v1/quotas/{account_a}/{quota}", json={"value": 50})

    def create(c: Caller, _i: int) -> httpx.Response:
        return c.request("POST", "/v1/havips", json={"subnet_id": net.subnet, "ip": "10.0.1.99"})

    answers = race(server, boot.tenant_token, 12, create)
    assert outcomes(answers) == {"201": 1, "409 InvalidIpAddress.AlreadyUsed": 11}
    assert [h["ip"] for h in tenant.get("/v1/havips")["items"]] == ["10.0.1.99"]


def test_concurrent_creates_with_one_client_token_make_one_resource(
    server: LiveServer, boot: Bootstrap, tenant: Caller, net: Net
) -> None:
    def create(c: Caller, _i: int) -> httpx.Response:
        return c.request("POST", "/v1/havips", json={"subnet_id": net.subnet, "client_token": "same"})

    answers = race(server, boot.tenant_token, 10, create)
    assert outcomes(answers) == {"201": 10}
    assert len({a.json()["id"] for a in answers}) == 1
    assert tenant.get("/v1/havips")["total"] == 1


def test_concurrent_claims_leave_one_holder_and_a_consistent_history(
    server: LiveServer, tenant: Caller, net: Net
) -> None:
    members = [net.instance(tenant, host="h1" if i % 2 == 0 else "h2") for i in range(6)]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    for inst in members:
        tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    agents = {"h1": net.agent_h1.token, "h2": net.agent_h2.token}

    def claim(c: Caller, i: int) -> httpx.Response:
        host = "h1" if i % 2 == 0 else "h2"
        body: dict[str, Any] = {
            "havip_id": h["id"],
            "interface_id": members[i]["network_interfaces"][0]["id"],
            "kind": "claim",
            "at": f"2026-01-01T00:00:{i:02d}Z",
        }
        return c.request(
            "POST", f"/v1/hosts/{host}/reports", json=body, headers={"Authorization": f"Bearer {agents[host]}"}
        )

    answers = race(server, None, 6, claim)
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
