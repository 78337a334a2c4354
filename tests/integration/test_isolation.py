"""Who sees what: another account's resources look missing; agents reach only their host."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


@pytest.fixture
def world_a(operator: Caller, tenant: Caller, net: Net) -> dict[str, str]:
    """One of everything in account A."""
    inst = net.instance(tenant, host="h1")
    eni = inst["network_interfaces"][0]["id"]
    havip = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    tenant.post(f"/v1/havips/{havip['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    operator.post("/v1/eip-pools", {"cidr": "203.0.113.0/29", "documentation_range": True})
    eip = tenant.post("/v1/eips", {})
    entry = tenant.post(
        f"/v1/route-tables/{net.route_table}/entries",
        {"destination": "192.168.0.0/24", "next_hop_type": "havip", "next_hop_id": havip["id"]},
    )
    return {
        "vpc": net.vpc,
        "subnet": net.subnet,
        "instance": inst["id"],
        "eni": eni,
        "havip": havip["id"],
        "eip": eip["id"],
        "table": net.route_table,
        "entry": entry["id"],
    }


READS = [
    ("/v1/vpcs/{vpc}", "NotFound.Vpc"),
    ("/v1/subnets/{subnet}", "NotFound.Subnet"),
    ("/v1/instances/{instance}", "NotFound.Instance"),
    ("/v1/network-interfaces/{eni}", "NotFound.NetworkInterface"),
    ("/v1/havips/{havip}", "NotFound.HaVip"),
    ("/v1/havips/{havip}/members", "NotFound.HaVip"),
    ("/v1/havips/{havip}/events", "NotFound.HaVip"),
    ("/v1/eips/{eip}", "NotFound.Eip"),
    ("/v1/route-tables/{table}", "NotFound.RouteTable"),
    ("/v1/route-tables/{table}/entries", "NotFound.RouteTable"),
]


@pytest.mark.parametrize(("path", "code"), READS, ids=[p for p, _ in READS])
def test_another_account_reads_404(tenant_b: Caller, world_a: dict[str, str], path: str, code: str) -> None:
    tenant_b.fails("GET", path.format(**world_a), 404, code)


WRITES: list[tuple[str, str, Any, str]] = [
    ("PATCH", "/v1/vpcs/{vpc}", {"name": "x"}, "NotFound.Vpc"),
    ("DELETE", "/v1/vpcs/{vpc}", None, "NotFound.Vpc"),
    ("PATCH", "/v1/subnets/{subnet}", {"name": "x"}, "NotFound.Subnet"),
    ("DELETE", "/v1/subnets/{subnet}", None, "NotFound.Subnet"),
    ("POST", "/v1/subnets", {"vpc_id": "{vpc}", "cidr": "10.0.9.0/24"}, "NotFound.Vpc"),
    ("POST", "/v1/instances", {"subnet_id": "{subnet}"}, "NotFound.Subnet"),
    ("PATCH", "/v1/instances/{instance}", {"name": "x"}, "NotFound.Instance"),
    ("DELETE", "/v1/instances/{instance}", None, "NotFound.Instance"),
    ("POST", "/v1/network-interfaces", {"subnet_id": "{subnet}"}, "NotFound.Subnet"),
    ("PATCH", "/v1/network-interfaces/{eni}", {"name": "x"}, "NotFound.NetworkInterface"),
    ("POST", "/v1/havips", {"subnet_id": "{subnet}"}, "NotFound.Subnet"),
    ("PATCH", "/v1/havips/{havip}", {"name": "x"}, "NotFound.HaVip"),
    ("DELETE", "/v1/havips/{havip}", None, "NotFound.HaVip"),
    ("POST", "/v1/havips/{havip}/members", {"member_type": "instance", "member_id": "{instance}"}, "NotFound.HaVip"),
    ("DELETE", "/v1/havips/{havip}/members/{instance}?force=true", None, "NotFound.HaVip"),
    ("POST", "/v1/eips/{eip}/associate", {"havip_id": "{havip}"}, "NotFound.Eip"),
    ("POST", "/v1/eips/{eip}/unassociate", None, "NotFound.Eip"),
    ("DELETE", "/v1/eips/{eip}", None, "NotFound.Eip"),
    (
        "POST",
        "/v1/route-tables/{table}/entries",
        {"destination": "192.168.9.0/24", "next_hop_type": "havip", "next_hop_id": "{havip}"},
        "NotFound.RouteTable",
    ),
    ("DELETE", "/v1/route-tables/{table}/entries/{entry}", None, "NotFound.RouteEntry"),
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value.format(**names) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "path", "body", "code"), WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES])
def test_another_account_cannot_touch(
    tenant: Caller, tenant_b: Caller, world_a: dict[str, str], method: str, path: str, body: Any, code: str
) -> None:
    before = tenant.get(f"/v1/havips/{world_a['havip']}")
    tenant_b.fails(method, path.format(**world_a), 404, code, json=_fill(body, world_a))
    assert tenant.get(f"/v1/havips/{world_a['havip']}") == before
    assert tenant.get(f"/v1/vpcs/{world_a['vpc']}")["name"] == "main"


def test_another_account_cannot_use_my_resources_from_its_own(tenant_b: Caller, world_a: dict[str, str]) -> None:
    vpc = tenant_b.post("/v1/vpcs", {"cidr": "10.0.0.0/16"})
    subnet = tenant_b.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.0.1.0/24"})
    mine = tenant_b.post("/v1/havips", {"subnet_id": subnet["id"]})
    tenant_b.fails(
        "POST",
        f"/v1/havips/{mine['id']}/members",
        404,
        "NotFound.Instance",
        json={"member_type": "instance", "member_id": world_a["instance"]},
    )
    eip = tenant_b.post("/v1/eips", {})  # from the operator's shared pool
    tenant_b.fails(
        "POST", f"/v1/eips/{eip['id']}/associate", 404, "NotFound.HaVip", json={"havip_id": world_a["havip"]}
    )
    table = tenant_b.get("/v1/route-tables")["items"][0]["id"]
    tenant_b.fails(
        "POST",
        f"/v1/route-tables/{table}/entries",
        404,
        "NotFound.HaVip",
        json={"destination": "192.168.0.0/24", "next_hop_type": "havip", "next_hop_id": world_a["havip"]},
    )


LISTS = [
    "/v1/vpcs",
    "/v1/subnets",
    "/v1/instances",
    "/v1/network-interfaces",
    "/v1/havips",
    "/v1/eips",
    "/v1/route-tables",
]


@pytest.mark.parametrize("path", LISTS)
def test_another_account_lists_none_of_mine(
    tenant: Caller, tenant_b: Caller, world_a: dict[str, str], account_a: str, path: str
) -> None:
    assert tenant.get(path)["total"] >= 1
    assert tenant_b.get(path) == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert tenant_b.get(path, params={"account_id": account_a})["total"] == 0


def test_a_tenant_naming_another_account_on_create_gets_404(tenant: Caller, account_b: str) -> None:
    tenant.fails("POST", "/v1/vpcs", 404, "NotFound.Account", json={"cidr": "10.0.0.0/16", "account_id": account_b})


def test_the_operator_sees_every_account(operator: Caller, world_a: dict[str, str]) -> None:
    assert operator.get(f"/v1/havips/{world_a['havip']}")["id"] == world_a["havip"]
    assert operator.get("/v1/havips")["total"] == 1


# ---------------------------------------------------------------- agents


def test_an_agent_reads_its_own_hosts_desired_state_only(net: Net, world_a: dict[str, str]) -> None:
    state = net.agent_h1.get("/v1/hosts/h1/desired-state")
    assert state["host"] == "h1"
    assert [e["id"] for e in state["interfaces"]] == [world_a["eni"]]
    assert net.agent_h1.get(f"/v1/hosts/{net.h1}/desired-state")["host"] == "h1"
    net.agent_h1.fails("GET", "/v1/hosts/h2/desired-state", 403, "Forbidden.NotThisHostsAgent")
    net.agent_h2.fails("GET", "/v1/hosts/h1/desired-state", 403, "Forbidden.NotThisHostsAgent")


AGENT_FORBIDDEN = [
    ("GET", "/v1/vpcs"),
    ("GET", "/v1/havips"),
    ("GET", "/v1/havips/{havip}"),
    ("GET", "/v1/hosts"),
    ("GET", "/v1/accounts"),
    ("POST", "/v1/vpcs"),
    ("PATCH", "/v1/havips/{havip}"),
    ("DELETE", "/v1/havips/{havip}/members/{instance}"),
    ("GET", "/v1/quotas"),
]


@pytest.mark.parametrize(("method", "path"), AGENT_FORBIDDEN, ids=[f"{m} {p}" for m, p in AGENT_FORBIDDEN])
def test_an_agent_key_cannot_reach_tenant_resources(
    tenant: Caller, net: Net, world_a: dict[str, str], method: str, path: str
) -> None:
    body = {"cidr": "10.3.0.0/16"} if method == "POST" else ({"name": "x"} if method == "PATCH" else None)
    before = tenant.get(f"/v1/havips/{world_a['havip']}")
    net.agent_h1.fails(method, path.format(**world_a), 403, json=body)
    assert tenant.get(f"/v1/havips/{world_a['havip']}") == before


def test_a_tenant_key_cannot_report_claims(tenant: Caller, operator: Caller, net: Net, world_a: dict[str, str]) -> None:
    report = {
        "havip_id": world_a["havip"],
        "interface_id": world_a["eni"],
        "kind": "claim",
        "at": "2026-01-01T00:00:00Z",
    }
    tenant.fails("POST", "/v1/hosts/h1/reports", 403, "Forbidden.NotThisHostsAgent", json=report)
    net.agent_h2.fails("POST", "/v1/hosts/h1/reports", 403, "Forbidden.NotThisHostsAgent", json=report)
    # h2's agent reporting for h1's interface through its own host is refused too
    net.agent_h2.fails("POST", "/v1/hosts/h2/reports", 403, "Forbidden.InterfaceNotOnHost", json=report)
    assert tenant.get(f"/v1/havips/{world_a['havip']}")["holder"] is None
    assert tenant.get(f"/v1/havips/{world_a['havip']}/events", params={"kind": "holder_changed"})["total"] == 0
    # the operator may (it acts for the platform)
    assert operator.post("/v1/hosts/h1/reports", report, status=200) == {"outcome": "holder-changed"}
