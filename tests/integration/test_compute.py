"""Hosts, instances and network interfaces through HTTP."""

from __future__ import annotations

import pytest

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


def test_host_register_show_list_delete(operator: Caller, tenant: Caller) -> None:
    created = operator.post("/v1/hosts", {"name": "hv-1", "description": "rack 4"})
    host = created["host"]
    assert (host["name"], host["region"], host["description"]) == ("hv-1", "local", "rack 4")
    assert created["agent_key"]["token"].startswith(created["agent_key"]["id"] + ".")
    assert operator.get(f"/v1/hosts/{host['id']}") == host
    assert tenant.get("/v1/hosts/hv-1") == host  # by name; tenants see hosts to place interfaces
    assert tenant.get("/v1/hosts")["items"] == [host]
    operator.fails("POST", "/v1/hosts", 409, "InvalidName.Duplicate", json={"name": "hv-1"})
    operator.fails("POST", "/v1/hosts", 400, "InvalidName.Malformed", json={"name": "bad name"})
    tenant.fails("POST", "/v1/hosts", 403, "Forbidden.OperatorOnly", json={"name": "hv-2"})
    tenant.fails("DELETE", "/v1/hosts/hv-1", 403, "Forbidden.OperatorOnly")
    operator.delete("/v1/hosts/hv-1")
    operator.fails("GET", f"/v1/hosts/{host['id']}", 404, "NotFound.Host")


def test_a_deleted_hosts_agent_key_stops_working(operator: Caller) -> None:
    created = operator.post("/v1/hosts", {"name": "hv-1"})
    agent = Caller(operator.http, created["agent_key"]["token"])
    agent.get("/v1/hosts/hv-1/desired-state")
    operator.delete("/v1/hosts/hv-1")
    agent.fails("GET", "/v1/hosts/hv-1/desired-state", 401, "Unauthenticated.InvalidKey")


def test_a_host_carrying_interfaces_cannot_be_deleted(operator: Caller, tenant: Caller, net: Net) -> None:
    net.instance(tenant, host="h1")
    operator.fails("DELETE", "/v1/hosts/h1", 409, "DependencyViolation.HostInUse")


def test_instance_create_comes_with_its_primary_interface(tenant: Caller, net: Net) -> None:
    inst = net.instance(tenant, host="h1", device="tap-a", name="web", primary_ip="10.0.1.10", mac="00:16:3e:00:00:0a")
    assert (inst["name"], inst["status"], inst["subnet_id"], inst["vpc_id"]) == ("web", "Running", net.subnet, net.vpc)
    [eni] = inst["network_interfaces"]
    assert eni["primary"] is True
    assert (eni["primary_ip"], eni["mac"], eni["host_id"], eni["device"]) == (
        "10.0.1.10",
        "00:16:3e:00:00:0a",
        net.h1,
        "tap-a",
    )
    assert eni["addresses"] == ["10.0.1.10"]
    assert tenant.get(f"/v1/instances/{inst['id']}") == inst
    assert tenant.get(f"/v1/network-interfaces/{eni['id']}") == eni


def test_instance_list_filters_pages_and_shows_interfaces(tenant: Caller, net: Net) -> None:
    other = tenant.post("/v1/subnets", {"vpc_id": net.vpc, "cidr": "10.0.2.0/24"})
    a = net.instance(tenant)
    b = net.instance(tenant)
    c = tenant.post("/v1/instances", {"subnet_id": other["id"]})
    everything = tenant.get("/v1/instances")
    assert [i["id"] for i in everything["items"]] == [a["id"], b["id"], c["id"]]
    assert everything["items"][0]["network_interfaces"] == a["network_interfaces"]
    assert tenant.get("/v1/instances", params={"subnet_id": other["id"]})["items"] == [c]
    assert tenant.get("/v1/instances", params={"vpc_id": net.vpc})["total"] == 3
    page = tenant.get("/v1/instances", params={"limit": 1, "offset": 1})
    assert (page["total"], [i["id"] for i in page["items"]]) == (3, [b["id"]])


def test_instance_rename_and_delete(tenant: Caller, net: Net) -> None:
    inst = net.instance(tenant, name="old")
    renamed = tenant.patch(f"/v1/instances/{inst['id']}", {"name": "new"})
    assert renamed["name"] == "new"
    assert renamed["network_interfaces"] == inst["network_interfaces"]
    eni = inst["network_interfaces"][0]["id"]
    tenant.fails("DELETE", f"/v1/network-interfaces/{eni}", 409, "Conflict.PrimaryInterface")
    tenant.delete(f"/v1/instances/{inst['id']}")
    tenant.fails("GET", f"/v1/instances/{inst['id']}", 404, "NotFound.Instance")
    tenant.fails("GET", f"/v1/network-interfaces/{eni}", 404, "NotFound.NetworkInterface")


def test_interface_create_list_update_delete(tenant: Caller, net: Net) -> None:
    inst = net.instance(tenant)
    eni = tenant.post(
        "/v1/network-interfaces",
        {
            "subnet_id": net.subnet,
            "primary_ip": "10.0.1.20",
            "secondary_ips": ["10.0.1.21"],
            "instance_id": inst["id"],
            "host": "h2",
            "device": "veth-b",
            "name": "second",
        },
    )
    assert eni["addresses"] == ["10.0.1.20", "10.0.1.21"]
    assert (eni["instance_id"], eni["primary"], eni["host_id"]) == (inst["id"], False, net.h2)
    by_instance = tenant.get("/v1/network-interfaces", params={"instance_id": inst["id"]})
    assert by_instance["total"] == 2
    assert tenant.get("/v1/network-interfaces", params={"subnet_id": net.subnet, "limit": 1})["total"] == 2
    assert tenant.get("/v1/network-interfaces", params={"vpc_id": "vpc-other"})["total"] == 0
    assert len(tenant.get(f"/v1/instances/{inst['id']}")["network_interfaces"]) == 2

    moved = tenant.patch(
        f"/v1/network-interfaces/{eni['id']}",
        {"host": "h1", "device": "veth-c", "secondary_ips": ["10.0.1.22", "10.0.1.23"], "description": "moved"},
    )
    assert (moved["host_id"], moved["device"], moved["description"]) == (net.h1, "veth-c", "moved")
    assert moved["addresses"] == ["10.0.1.20", "10.0.1.22", "10.0.1.23"]
    unplaced = tenant.patch(f"/v1/network-interfaces/{eni['id']}", {"host": "", "device": ""})
    assert (unplaced["host_id"], unplaced["device"]) == (None, None)

    # the released secondary address is free again
    tenant.post("/v1/network-interfaces", {"subnet_id": net.subnet, "primary_ip": "10.0.1.21"})
    tenant.delete(f"/v1/network-interfaces/{eni['id']}")
    tenant.fails("GET", f"/v1/network-interfaces/{eni['id']}", 404, "NotFound.NetworkInterface")


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        pytest.param({"primary_ip": "10.0.9.9"}, 400, "InvalidIpAddress.OutOfRange", id="outside-subnet"),
        pytest.param({"primary_ip": "10.0.1.1"}, 400, "InvalidIpAddress.Reserved", id="gateway"),
        pytest.param({"primary_ip": "10.0.1.50"}, 409, "InvalidIpAddress.AlreadyUsed", id="taken"),
        pytest.param({"mac": "01:00:5e:00:00:01"}, 400, "InvalidMac.Multicast", id="multicast-mac"),
        pytest.param({"host": "h9"}, 404, "NotFound.Host", id="unknown-host"),
        pytest.param({"host": "h1", "device": "used0"}, 409, "InvalidDevice.AlreadyUsed", id="device-taken"),
    ],
)
def test_interface_create_errors(tenant: Caller, net: Net, extra: dict[str, str], status: int, code: str) -> None:
    tenant.post(
        "/v1/network-interfaces", {"subnet_id": net.subnet, "primary_ip": "10.0.1.50", "host": "h1", "device": "used0"}
    )
    tenant.fails("POST", "/v1/network-interfaces", status, code, json={"subnet_id": net.subnet, **extra})
    assert tenant.get("/v1/network-interfaces")["total"] == 1
