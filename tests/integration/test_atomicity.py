"""A refused request changes nothing: counts, addresses, history and revision stay as they were."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


def _snapshot(tenant: Caller, net: Net) -> dict[str, Any]:
    return {
        "havips": tenant.get("/v1/havips", params={"limit": 1000}),
        "instances": tenant.get("/v1/instances", params={"limit": 1000}),
        "interfaces": tenant.get("/v1/network-interfaces", params={"limit": 1000}),
        "quotas": tenant.get("/v1/quotas"),
        "revision": net.agent_h1.get("/v1/hosts/h1/desired-state")["revision"],
    }


def test_havip_create_over_quota_changes_nothing(operator: Caller, tenant: Caller, net: Net, account_a: str) -> None:
    for _ in range(5):
        tenant.post("/v1/havips", {"subnet_id": net.subnet})
    before = _snapshot(tenant, net)
    body = tenant.fails(
        "POST",
        "/v1/havips",
        403,
        "QuotaExceeded.havips_per_account",
        json={"subnet_id": net.subnet, "ip": "10.0.1.200", "client_token": "once"},
    )
    assert "havips_per_account" in body["message"]
    assert _snapshot(tenant, net) == before
    assert before["havips"]["total"] == 5
    # neither the address nor the client token was kept
    operator.ok("PUT", f"/v1/quotas/{account_a}/havips_per_account", json={"value": 6})
    operator.ok("PUT", f"/v1/quotas/{account_a}/havips_per_vpc", json={"value": 6})
    made = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.200", "client_token": "once"})
    assert made["ip"] == "10.0.1.200"
    assert tenant.get("/v1/havips")["total"] == 6


def test_instance_create_with_a_bad_address_leaves_no_half_instance(tenant: Caller, net: Net) -> None:
    net.instance(tenant, primary_ip="10.0.1.10")
    before = _snapshot(tenant, net)
    tenant.fails(
        "POST",
        "/v1/instances",
        409,
        "InvalidIpAddress.AlreadyUsed",
        json={"subnet_id": net.subnet, "primary_ip": "10.0.1.10"},
    )
    tenant.fails("POST", "/v1/instances", 400, "InvalidMac.Malformed", json={"subnet_id": net.subnet, "mac": "zz"})
    assert _snapshot(tenant, net) == before


def test_interface_update_that_fails_keeps_the_old_addresses(tenant: Caller, net: Net) -> None:
    taken = tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet, "primary_ip": "10.0.1.30"})
    eni = tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet, "secondary_ips": ["10.0.1.40"]})
    tenant.fails(
        "PATCH",
        f"/v1/network-interfaces/{eni['id']}",
        409,
        "InvalidIpAddress.AlreadyUsed",
        json={"secondary_ips": ["10.0.1.41", taken["primary_ip"]], "name": "changed"},
    )
    assert tenant.get(f"/v1/network-interfaces/{eni['id']}") == eni
    # 10.0.1.40 is still taken, 10.0.1.41 still free
    tenant.fails(
        "POST",
        "/v1/network-interfaces",
        409,
        "InvalidIpAddress.AlreadyUsed",
        json={"subnet_id": net.subnet, "primary_ip": "10.0.1.40"},
    )
    tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet, "primary_ip": "10.0.1.41"})


def test_refused_unassociate_of_the_holder_keeps_member_and_holder(tenant: Caller, net: Net) -> None:
    inst = net.instance(tenant, host="h1")
    eni = inst["network_interfaces"][0]["id"]
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)
    report = {"havip_id": h["id"], "interface_id": eni, "kind": "claim", "at": "2024-01-01T00:00:00Z"}
    net.agent_h1.post("/v1/hosts/h1/reports", report, status=200)
    before = tenant.get(f"/v1/havips/{h['id']}")
    events = tenant.get(f"/v1/havips/{h['id']}/events")
    tenant.fails("DELETE", f"/v1/havips/{h['id']}/members/{inst['id']}", 409, "Conflict.UnassociateHolder")
    assert tenant.get(f"/v1/havips/{h['id']}") == before
    assert tenant.get(f"/v1/havips/{h['id']}/events") == events
    forced = tenant.delete(f"/v1/havips/{h['id']}/members/{inst['id']}", status=200, params={"force": "true"})
    assert (forced["holder"], forced["members"], forced["status"]) == (None, [], "Available")
    kinds = [e["kind"] for e in tenant.get(f"/v1/havips/{h['id']}/events")["items"][:2]]
    assert sorted(kinds) == ["holder_cleared", "unassociated"]
