"""VPCs, subnets, route tables and route entries through HTTP."""

from __future__ import annotations

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


def test_vpc_create_get_update_delete(tenant: Caller, account_a: str) -> None:
    vpc = tenant.post("/v1/vpcs", {"cidr": "10.1.0.0/16", "name": "one", "description": "first"})
    assert vpc["account_id"] == account_a
    assert vpc["region"] == "local"
    assert vpc["cidr"] == "10.1.0.0/16"
    assert vpc["created_at"].endswith("Z")
    assert tenant.get(f"/v1/vpcs/{vpc['id']}") == vpc
    changed = tenant.patch(f"/v1/vpcs/{vpc['id']}", {"name": "renamed"})
    assert (changed["name"], changed["description"]) == ("renamed", "first")
    assert tenant.get(f"/v1/vpcs/{vpc['id']}")["name"] == "renamed"
    assert tenant.delete(f"/v1/vpcs/{vpc['id']}") is None
    tenant.fails("GET", f"/v1/vpcs/{vpc['id']}", 404, "NotFound.Vpc")


def test_vpc_create_with_a_client_token_is_idempotent(tenant: Caller) -> None:
    first = tenant.post("/v1/vpcs", {"cidr": "10.1.0.0/16", "client_token": "tok-1"})
    again = tenant.post("/v1/vpcs", {"cidr": "10.1.0.0/16", "client_token": "tok-1"})
    assert again["id"] == first["id"]
    assert tenant.get("/v1/vpcs")["total"] == 1


def test_vpc_list_pages_and_filters(tenant: Caller, operator: Caller, account_a: str, account_b: str) -> None:
    made = [tenant.post("/v1/vpcs", {"cidr": f"10.{n}.0.0/16"})["id"] for n in range(3)]
    operator.post("/v1/vpcs", {"cidr": "10.9.0.0/16", "account_id": account_b})
    first = tenant.get("/v1/vpcs", params={"limit": 2})
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    second = tenant.get("/v1/vpcs", params={"limit": 2, "offset": 2})
    assert [v["id"] for v in first["items"] + second["items"]] == made
    assert tenant.get("/v1/vpcs", params={"region": "elsewhere"})["total"] == 0
    assert operator.get("/v1/vpcs")["total"] == 4
    assert operator.get("/v1/vpcs", params={"account_id": account_b})["total"] == 1
    assert [v["id"] for v in operator.get("/v1/vpcs", params={"account_id": account_a})["items"]] == made


def test_operator_creates_a_vpc_for_a_named_account(operator: Caller, account_b: str) -> None:
    vpc = operator.post("/v1/vpcs", {"cidr": "10.1.0.0/16", "account_id": account_b})
    assert vpc["account_id"] == account_b
    operator.fails("POST", "/v1/vpcs", 404, "NotFound.Account", json={"cidr": "10.2.0.0/16", "account_id": "acc-x"})


def test_vpc_with_a_subnet_cannot_be_deleted(tenant: Caller, net: Net) -> None:
    tenant.fails("DELETE", f"/v1/vpcs/{net.vpc}", 409, "DependencyViolation.VpcHasSubnets")
    tenant.get(f"/v1/vpcs/{net.vpc}")


def test_subnet_create_get_list_update_delete(tenant: Caller) -> None:
    vpc = tenant.post("/v1/vpcs", {"cidr": "10.1.0.0/16"})
    other = tenant.post("/v1/vpcs", {"cidr": "10.2.0.0/16"})
    a = tenant.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.1.1.0/24", "zone": "z1"})
    b = tenant.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.1.2.0/24"})
    tenant.post("/v1/subnets", {"vpc_id": other["id"], "cidr": "10.2.1.0/24"})
    assert (a["vpc_id"], a["zone"], a["cidr"]) == (vpc["id"], "z1", "10.1.1.0/24")
    assert tenant.get(f"/v1/subnets/{a['id']}") == a
    listed = tenant.get("/v1/subnets", params={"vpc_id": vpc["id"]})
    assert [s["id"] for s in listed["items"]] == [a["id"], b["id"]]
    assert tenant.get("/v1/subnets")["total"] == 3
    assert tenant.patch(f"/v1/subnets/{b['id']}", {"description": "back"})["description"] == "back"
    tenant.delete(f"/v1/subnets/{b['id']}")
    tenant.fails("GET", f"/v1/subnets/{b['id']}", 404, "NotFound.Subnet")


@pytest.mark.parametrize(
    ("cidr", "status", "code"),
    [
        pytest.param("10.2.0.0/24", 400, "InvalidCidrBlock.OutsideVpc", id="outside"),
        pytest.param("10.1.1.128/25", 409, "InvalidCidrBlock.Overlap", id="overlap"),
        pytest.param("10.1.1.1/24", 400, "InvalidCidrBlock.Malformed", id="host-bits"),
    ],
)
def test_bad_subnets_are_refused(tenant: Caller, cidr: str, status: int, code: str) -> None:
    vpc = tenant.post("/v1/vpcs", {"cidr": "10.1.0.0/16"})
    tenant.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.1.1.0/24"})
    tenant.fails("POST", "/v1/subnets", status, code, json={"vpc_id": vpc["id"], "cidr": cidr})
    assert tenant.get("/v1/subnets")["total"] == 1


def test_a_vpc_gets_a_system_route_table(tenant: Caller, net: Net) -> None:
    tables = tenant.get("/v1/route-tables", params={"vpc_id": net.vpc})
    assert tables["total"] == 1
    table = tables["items"][0]
    assert table["system"] is True
    detail = tenant.get(f"/v1/route-tables/{table['id']}")
    assert detail == {**table, "entries": []}


def test_route_entries_create_list_show_delete(tenant: Caller, net: Net) -> None:
    havip = tenant.post("/v1/havips", {"subnet_id": net.subnet})
    inst = net.instance(tenant)
    path = f"/v1/route-tables/{net.route_table}/entries"
    to_havip = tenant.post(
        path, {"destination": "192.168.10.0/24", "next_hop_type": "havip", "next_hop_id": havip["id"], "name": "vip"}
    )
    to_inst = tenant.post(
        path, {"destination": "192.168.20.0/24", "next_hop_type": "instance", "next_hop_id": inst["id"]}
    )
    assert (to_havip["route_table_id"], to_havip["vpc_id"]) == (net.route_table, net.vpc)
    assert tenant.get(path)["total"] == 2
    assert [e["id"] for e in tenant.get(path, params={"limit": 1, "offset": 1})["items"]] == [to_inst["id"]]
    detail = tenant.get(f"/v1/route-tables/{net.route_table}")
    assert [e["destination"] for e in detail["entries"]] == ["192.168.10.0/24", "192.168.20.0/24"]
    assert tenant.get(f"/v1/havips/{havip['id']}")["route_entry_ids"] == [to_havip["id"]]
    tenant.fails("DELETE", f"/v1/havips/{havip['id']}", 409, "DependencyViolation.HaVipReferredByRouteEntry")
    tenant.delete(f"{path}/{to_havip['id']}")
    assert tenant.get(path)["total"] == 1
    assert tenant.get(f"/v1/havips/{havip['id']}")["route_entry_ids"] == []


def test_route_entry_errors(tenant: Caller, net: Net) -> None:
    path = f"/v1/route-tables/{net.route_table}/entries"
    inst = net.instance(tenant)
    tenant.fails(
        "POST",
        path,
        400,
        "InvalidDestinationCidrBlock.OverlapsVpc",
        json={"destination": "10.0.5.0/24", "next_hop_type": "instance", "next_hop_id": inst["id"]},
    )
    tenant.fails(
        "POST",
        path,
        400,
        "InvalidParameter",
        json={"destination": "192.168.1.0/24", "next_hop_type": "gateway", "next_hop_id": inst["id"]},
    )
    tenant.fails(
        "POST",
        "/v1/route-tables/vtb-nope/entries",
        404,
        "NotFound.RouteTable",
        json={"destination": "192.168.1.0/24", "next_hop_type": "instance", "next_hop_id": inst["id"]},
    )
    tenant.fails("DELETE", f"{path}/rte-nope", 404, "NotFound.RouteEntry")


def test_a_route_entry_is_deleted_only_through_its_own_table(tenant: Caller, net: Net) -> None:
    other_vpc = tenant.post("/v1/vpcs", {"cidr": "10.5.0.0/16"})
    other_table = tenant.get("/v1/route-tables", params={"vpc_id": other_vpc["id"]})["items"][0]["id"]
    inst = net.instance(tenant)
    entry = tenant.post(
        f"/v1/route-tables/{net.route_table}/entries",
        {"destination": "192.168.1.0/24", "next_hop_type": "instance", "next_hop_id": inst["id"]},
    )
    tenant.fails("DELETE", f"/v1/route-tables/{other_table}/entries/{entry['id']}", 404, "NotFound.RouteEntry")
    assert tenant.get(f"/v1/route-tables/{net.route_table}/entries")["total"] == 1
