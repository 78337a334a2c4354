"""HaVips, their members and history, and EIPs through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration

HAVIP_FIELDS = {
    "id",
    "account_id",
    "region",
    "vpc_id",
    "subnet_id",
    "ip",
    "name",
    "description",
    "binding_mode",
    "status",
    "member_type",
    "created_at",
    "updated_at",
    "holder",
    "members",
    "eips",
    "route_entry_ids",
}


def test_havip_create_get_update_delete(tenant: Caller, net: Net, account_a: str) -> None:
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100", "name": "db", "description": "vip"})
    assert set(h) == HAVIP_FIELDS
    assert (h["account_id"], h["vpc_id"], h["ip"], h["status"]) == (account_a, net.vpc, "10.0.1.100", "Available")
    assert (h["binding_mode"], h["member_type"], h["holder"], h["members"], h["eips"]) == (
        "explicit",
        None,
        None,
        [],
        [],
    )
    assert tenant.get(f"/v1/havips/{h['id']}") == h
    changed = tenant.patch(f"/v1/havips/{h['id']}", {"name": "db2", "binding_mode": "subnet"})
    assert (changed["name"], changed["description"], changed["binding_mode"]) == ("db2", "vip", "subnet")
    tenant.delete(f"/v1/havips/{h['id']}")
    tenant.fails("GET", f"/v1/havips/{h['id']}", 404, "NotFound.HaVip")
    # its address is free again
    assert tenant.post("/v1/havips", {"subnet_id": net.subnet, "ip": "10.0.1.100"})["ip"] == "10.0.1.100"


def test_havip_addresses_are_allocated_and_checked(tenant: Caller, net: Net) -> None:
    first = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    second = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    assert (first["ip"], second["ip"]) == ("10.0.1.2", "10.0.1.3")
    tenant.fails(
        "POST", "/v1/havips", 409, "InvalidIpAddress.AlreadyUsed", json={"subnet_id": net.subnet, "ip": "10.0.1.2"}
    )
    tenant.fails(
        "POST", "/v1/havips", 400, "InvalidIpAddress.Malformed", json={"subnet_id": net.subnet, "ip": "10.0.1"}
    )
    tenant.fails("POST", "/v1/havips", 404, "NotFound.Subnet", json={"subnet_id": "vsw-nope"})


def test_havip_list_filters_and_pages(tenant: Caller, net: Net) -> None:
    other = tenant.post("/v1/subnets", {"vpc_id": net.vpc, "cidr": "10.0.2.0/24"})
    a = tenant.post("/v1/havips", {"subnet_id": net.subnet, "name": "a"})
    b = tenant.post("/v1/havips", {"subnet_id": net.subnet, "name": "b"})
    c = tenant.post("/v1/havips", {"subnet_id": other["id"], "name": "c"})
    inst = net.instance(tenant)
    tenant.post(f"/v1/havips/{b['id']}/members", {"member_type": "instance", "member_id": inst["id"]}, status=200)

    def ids(**params: Any) -> list[str]:
        return [h["id"] for h in tenant.get("/v1/havips", params=params)["items"]]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(subnet_id=other["id"]) == [c["id"]]
    assert ids(vpc_id=net.vpc) == [a["id"], b["id"], c["id"]]
    assert ids(status="InUse") == [b["id"]]
    assert ids(status="Available") == [a["id"], c["id"]]
    assert ids(ip=a["ip"]) == [a["id"]]
    assert ids(name="c") == [c["id"]]
    page = tenant.get("/v1/havips", params={"limit": 2, "offset": 2})
    assert (page["total"], page["limit"], page["offset"], [h["id"] for h in page["items"]]) == (3, 2, 2, [c["id"]])


def test_members_associate_list_unassociate(tenant: Caller, net: Net) -> None:
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    i1, i2 = net.instance(tenant), net.instance(tenant)
    path = f"/v1/havips/{h['id']}/members"
    view = tenant.post(path, {"member_type": "instance", "member_id": i1["id"]}, status=200)
    assert (view["status"], view["member_type"]) == ("InUse", "instance")
    view = tenant.post(path, {"member_type": "instance", "member_id": i2["id"]}, status=200)
    assert [(m["member_type"], m["member_id"]) for m in view["members"]] == [
        ("instance", i1["id"]),
        ("instance", i2["id"]),
    ]
    listed = tenant.get(path)
    assert (listed["total"], [m["member_id"] for m in listed["items"]]) == (2, [i1["id"], i2["id"]])
    assert [m["member_id"] for m in tenant.get(path, params={"offset": 1})["items"]] == [i2["id"]]

    eni = i1["network_interfaces"][0]["id"]
    tenant.fails(
        "POST", path, 400, "InvalidMember.MixedTypes", json={"member_type": "network_interface", "member_id": eni}
    )
    tenant.fails(
        "POST", path, 409, "InvalidMember.AlreadyAssociated", json={"member_type": "instance", "member_id": i1["id"]}
    )
    tenant.fails("POST", path, 400, "InvalidParameter", json={"member_type": "router", "member_id": i1["id"]})
    tenant.fails("DELETE", f"/v1/havips/{h['id']}", 409, "DependencyViolation.HaVipHasMembers")
    tenant.fails("DELETE", f"/v1/instances/{i1['id']}", 409, "DependencyViolation.InstanceIsHaVipMember")

    view = tenant.delete(f"{path}/{i1['id']}", status=200)
    assert [m["member_id"] for m in view["members"]] == [i2["id"]]
    view = tenant.delete(f"{path}/{i2['id']}", status=200)
    assert (view["status"], view["member_type"], view["members"]) == ("Available", None, [])
    tenant.fails("DELETE", f"{path}/{i2['id']}", 404, "NotFound.HaVipMember")
    kinds = [e["kind"] for e in tenant.get(f"/v1/havips/{h['id']}/events")["items"]]
    assert kinds == ["unassociated", "unassociated", "associated", "associated"]


def test_a_member_must_be_in_the_havips_subnet(tenant: Caller, net: Net) -> None:
    other = tenant.post("/v1/subnets", {"vpc_id": net.vpc, "cidr": "10.0.2.0/24"})
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    elsewhere = tenant.post("/v1/instances", {"subnet_id": other["id"]})
    tenant.fails(
        "POST",
        f"/v1/havips/{h['id']}/members",
        400,
        "InvalidMember.NotInSameSubnet",
        json={"member_type": "instance", "member_id": elsewhere["id"]},
    )


def test_events_filter_by_kind_and_page_newest_first(tenant: Caller, net: Net) -> None:
    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    enis = [
        tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet})["id"],
        tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet})["id"],
    ]
    for eni in enis:
        tenant.post(f"/v1/havips/{h['id']}/members", {"member_type": "network_interface", "member_id": eni}, status=200)
    tenant.delete(f"/v1/havips/{h['id']}/members/{enis[0]}", status=200)
    path = f"/v1/havips/{h['id']}/events"
    every = tenant.get(path)
    assert [e["kind"] for e in every["items"]] == ["unassociated", "associated", "associated"]
    assert [e["detail"]["member"] for e in every["items"]] == [enis[0], enis[1], enis[0]]
    associated = tenant.get(path, params={"kind": "associated", "limit": 1})
    assert (associated["total"], associated["items"][0]["detail"]["member"]) == (2, enis[1])
    assert tenant.get(path, params={"kind": "split_brain"})["total"] == 0
    tenant.fails("GET", path, 400, "InvalidParameter", params={"kind": "nap"})


# ---------------------------------------------------------------- EIPs


@pytest.fixture
def pool(operator: Caller) -> dict[str, Any]:
    out: dict[str, Any] = operator.post(
        "/v1/eip-pools", {"cidr": "203.0.113.0/29", "name": "public", "documentation_range": True}
    )
    return out


def test_eip_pools_are_the_operators(operator: Caller, tenant: Caller, pool: dict[str, Any]) -> None:
    assert (pool["cidr"], pool["region"], pool["name"]) == ("203.0.113.0/29", "local", "public")
    assert tenant.get("/v1/eip-pools")["items"] == [pool]
    tenant.fails("POST", "/v1/eip-pools", 403, "Forbidden.OperatorOnly", json={"cidr": "198.51.100.0/24"})
    tenant.fails("DELETE", f"/v1/eip-pools/{pool['id']}", 403, "Forbidden.OperatorOnly")
    operator.fails(
        "POST",
        "/v1/eip-pools",
        409,
        "InvalidCidrBlock.Overlap",
        json={"cidr": "203.0.113.0/24", "documentation_range": True},
    )
    operator.delete(f"/v1/eip-pools/{pool['id']}")
    assert operator.get("/v1/eip-pools")["total"] == 0
    operator.fails("DELETE", f"/v1/eip-pools/{pool['id']}", 404, "NotFound.EipPool")


def test_eip_allocate_associate_unassociate_release(
    operator: Caller, tenant: Caller, net: Net, pool: dict[str, Any], account_a: str
) -> None:
    eip = tenant.post("/v1/eips", {"name": "front"})
    assert (eip["account_id"], eip["pool_id"], eip["ip"], eip["havip_id"]) == (
        account_a,
        pool["id"],
        "203.0.113.1",
        None,
    )
    assert tenant.get(f"/v1/eips/{eip['id']}") == eip
    operator.fails("DELETE", f"/v1/eip-pools/{pool['id']}", 409, "DependencyViolation.PoolInUse")

    h = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    bound = tenant.post(f"/v1/eips/{eip['id']}/associate", {"havip_id": h["id"]}, status=200)
    assert bound["havip_id"] == h["id"]
    assert tenant.get(f"/v1/havips/{h['id']}")["eips"] == [{"id": eip["id"], "ip": "203.0.113.1"}]
    assert tenant.get("/v1/eips", params={"havip_id": h["id"]})["items"] == [bound]
    tenant.fails("POST", f"/v1/eips/{eip['id']}/associate", 409, "IncorrectEipStatus", json={"havip_id": h["id"]})
    tenant.fails("DELETE", f"/v1/eips/{eip['id']}", 409, "IncorrectEipStatus")
    tenant.fails("DELETE", f"/v1/havips/{h['id']}", 409, "DependencyViolation.HaVipAssociatedWithEip")

    second = tenant.post("/v1/eips", {})
    tenant.fails(
        "POST", f"/v1/eips/{second['id']}/associate", 403, "QuotaExceeded.eips_per_havip", json={"havip_id": h["id"]}
    )
    tenant.fails("POST", f"/v1/eips/{second['id']}/associate", 400, "InvalidParameter", json={})

    free = tenant.post(f"/v1/eips/{eip['id']}/unassociate", None, status=200)
    assert free["havip_id"] is None
    tenant.fails("POST", f"/v1/eips/{eip['id']}/unassociate", 409, "IncorrectEipStatus")
    eni = net.instance(tenant)["network_interfaces"][0]["id"]
    on_eni = tenant.post(f"/v1/eips/{eip['id']}/associate", {"network_interface_id": eni}, status=200)
    assert on_eni["network_interface_id"] == eni
    tenant.post(f"/v1/eips/{eip['id']}/unassociate", None, status=200)
    tenant.delete(f"/v1/eips/{eip['id']}")
    assert [e["id"] for e in tenant.get("/v1/eips")["items"]] == [second["id"]]
    # the released address is given out again
    assert tenant.post("/v1/eips", {})["ip"] == "203.0.113.1"


def test_eip_allocation_from_an_empty_region(tenant: Caller) -> None:
    tenant.fails("POST", "/v1/eips", 409, "InsufficientEipAddresses", json={})
    tenant.fails("POST", "/v1/eips", 400, "InvalidRegionId.NotFound", json={"region": "mars"})


def test_operator_allocates_eips_for_an_account(operator: Caller, pool: dict[str, Any], account_b: str) -> None:
    eip = operator.post("/v1/eips", {"account_id": account_b})
    assert eip["account_id"] == account_b
    assert operator.get("/v1/eips", params={"account_id": account_b})["total"] == 1
