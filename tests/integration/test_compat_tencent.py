"""The official Tencent Cloud VPC SDK (tencentcloud-sdk-python, its vpc module) against havip.

The SDK is configured with nothing but havip's endpoint and an AccessKey (SecretId
and SecretKey): the HaVip life cycle from nothing with the drift range, the EIP and
a route, the documented error of each rule, and the credentials refused; in the
SDK's three request forms (TC3 with POST, TC3 with GET, the legacy signature).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from havip.api.compat.tencent import idmap

from .cloudkit import TC_REGION, CloudKit
from .compat_fixtures import cloud_fixture, fresh_fixture, shared_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@dataclass
class Net:
    vpc: str
    subnet: str
    table: str


def network(cloud: CloudKit, cidr: str = "172.17.0.0/16") -> Net:
    vpc = cloud.tc("CreateVpc", {"VpcName": "demo", "CidrBlock": cidr}).Vpc
    subnet = cloud.tc(
        "CreateSubnet",
        {
            "VpcId": vpc.VpcId,
            "SubnetName": "s",
            "CidrBlock": cidr.replace("0.0/16", "16.0/24"),
            "Zone": "ap-guangzhou-3",
        },
    ).Subnet
    return Net(vpc.VpcId, subnet.SubnetId, subnet.RouteTableId)


def havip_of(cloud: CloudKit, havip_id: str) -> Any:
    found = cloud.tc("DescribeHaVips", {"HaVipIds": [havip_id]})
    assert found.TotalCount == 1
    return found.HaVipSet[0]


def task_done(cloud: CloudKit, request_id: str, resource: str) -> None:
    task = cloud.tc("DescribeVpcTaskResult", {"TaskId": request_id})
    assert task.Status == "SUCCESS"
    assert [(r.ResourceId, r.Status) for r in task.Result] == [(resource, "SUCCESS")]


def test_life_cycle_from_nothing(cloud: CloudKit) -> None:
    net = network(cloud)
    [vpc] = cloud.tc("DescribeVpcs", {"VpcIds": [net.vpc]}).VpcSet
    assert (vpc.VpcId, vpc.CidrBlock, vpc.VpcName) == (net.vpc, "172.17.0.0/16", "demo")
    [subnet] = cloud.tc("DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [net.vpc]}]}).SubnetSet
    assert (subnet.SubnetId, subnet.Zone, subnet.AvailableIpAddressCount) == (net.subnet, "ap-guangzhou-3", 253)
    i1, e1 = cloud.tc_instance(net.subnet, "172.17.16.7")
    i2, e2 = cloud.tc_instance(net.subnet, "172.17.16.13")

    created = cloud.tc(
        "CreateHaVip",
        {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "web", "Vip": "172.17.16.3", "CheckAssociate": True},
    ).HaVip
    havip = created.HaVipId
    assert (created.Vip, created.State, created.AddressIp, created.InstanceId, created.CheckAssociate) == (
        "172.17.16.3",
        "UNBIND",
        "",
        "",
        True,
    )
    assert created.FlushedTime == "0000-00-00 00:00:00"
    assert dt.datetime.strptime(created.CreatedTime, "%Y-%m-%d %H:%M:%S")

    cloud.tc(
        "AssociateHaVipInstance",
        {"HaVipAssociationSet": [{"HaVipId": havip, "InstanceId": i, "InstanceType": "CVM"} for i in (i1, i2)]},
    )
    cloud.claim(havip, e1)
    seen = havip_of(cloud, havip)
    assert (seen.State, seen.InstanceId, seen.NetworkInterfaceId) == ("AVAILABLE", i1, e1)
    assert sorted((a.InstanceId, a.InstanceType) for a in seen.HaVipAssociationSet) == sorted(
        [(i1, "CVM"), (i2, "CVM")]
    )
    assert dt.datetime.strptime(seen.FlushedTime, "%Y-%m-%d %H:%M:%S")
    cloud.claim(havip, e2)  # a failover: the holder changes
    seen = havip_of(cloud, havip)
    assert (seen.InstanceId, seen.NetworkInterfaceId) == (i2, e2)

    cloud.eip_pool(TC_REGION)
    allocated = cloud.tc("AllocateAddresses", {"AddressCount": 1, "AddressName": "front"})
    [eip_id] = allocated.AddressSet
    task_done(cloud, allocated.TaskId, eip_id)
    [address] = cloud.tc("DescribeAddresses", {"AddressIds": [eip_id]}).AddressSet
    assert (address.AddressStatus, address.AddressName) == ("UNBIND", "front")
    bound = cloud.tc("HaVipAssociateAddressIp", {"HaVipId": havip, "AddressIp": address.AddressIp})
    task_done(cloud, bound.RequestId, havip)
    assert havip_of(cloud, havip).AddressIp == address.AddressIp
    [address] = cloud.tc(
        "DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": [address.AddressIp]}]}
    ).AddressSet
    assert (address.AddressStatus, address.InstanceId) == ("BIND", havip)

    cloud.tc(
        "CreateRoutes",
        {
            "RouteTableId": net.table,
            "Routes": [{"DestinationCidrBlock": "10.8.0.0/16", "GatewayType": "HAVIP", "GatewayId": havip}],
        },
    )
    [table] = cloud.tc("DescribeRouteTables", {"RouteTableIds": [net.table]}).RouteTableSet
    [route] = table.RouteSet
    assert (route.GatewayType, route.GatewayId, route.DestinationCidrBlock) == ("HAVIP", havip, "10.8.0.0/16")
    assert table.VpcId == net.vpc and [a.SubnetId for a in table.AssociationSet] == [net.subnet]

    cloud.tc("ModifyHaVipAttribute", {"HaVipId": havip, "HaVipName": "web2"})
    assert havip_of(cloud, havip).HaVipName == "web2"
    found = cloud.tc(
        "DescribeHaVips",
        {
            "Filters": [
                {"Name": "havip-association.instance-id", "Values": [i1]},
                {"Name": "havip-id", "Values": [havip]},
            ]
        },
    )
    assert [h.HaVipId for h in found.HaVipSet] == [havip]

    # the drift range shrinks: removing the holder (Tencent has no Force) clears it
    cloud.tc("DisassociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": havip, "InstanceId": i1}]})
    assert havip_of(cloud, havip).InstanceId == i2
    cloud.tc("DisassociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": havip, "InstanceId": i2}]})
    seen = havip_of(cloud, havip)
    assert (seen.State, seen.InstanceId, seen.NetworkInterfaceId, seen.HaVipAssociationSet) == ("UNBIND", "", "", [])

    cloud.tc("DeleteRoutes", {"RouteTableId": net.table, "Routes": [{"RouteId": route.RouteId}]})
    unbound = cloud.tc("HaVipDisassociateAddressIp", {"HaVipId": havip})
    task_done(cloud, unbound.RequestId, havip)
    assert havip_of(cloud, havip).AddressIp == ""
    cloud.tc("ReleaseAddresses", {"AddressIds": [eip_id]})
    deleted = cloud.tc("DeleteHaVip", {"HaVipId": havip})
    task_done(cloud, deleted.RequestId, havip)
    assert cloud.tc("DescribeHaVips", {"HaVipIds": [havip]}).HaVipSet == []
    for instance in (i1, i2):
        cloud.tenant.delete(f"/v1/instances/{idmap.stored_id(instance)}")
    cloud.tc("DeleteSubnet", {"SubnetId": net.subnet})
    cloud.tc("DeleteVpc", {"VpcId": net.vpc})
    assert cloud.tc("DescribeVpcs").TotalCount == 0


@pytest.mark.parametrize(
    ("method", "sign_method"),
    [pytest.param("GET", None, id="tc3-get"), pytest.param("POST", "HmacSHA256", id="legacy-sha256"),
     pytest.param("POST", "HmacSHA1", id="legacy-sha1")],
)  # fmt: skip
def test_every_request_form(fresh: CloudKit, method: str, sign_method: str | None) -> None:
    cloud = fresh
    client = cloud.tencent(method=method, sign_method=sign_method)
    net = network(cloud)
    havip = cloud.tc("CreateHaVip", {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "x"}, client).HaVip.HaVipId
    found = cloud.tc("DescribeHaVips", {"Filters": [{"Name": "vpc-id", "Values": [net.vpc]}]}, client)
    assert [h.HaVipId for h in found.HaVipSet] == [havip]
    assert found.HaVipSet[0].CheckAssociate is False  # the API's default: subnet mode
    i1, _ = cloud.tc_instance(net.subnet)
    cloud.tc("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": havip, "InstanceId": i1}]}, client)
    assert [a.InstanceId for a in havip_of(cloud, havip).HaVipAssociationSet] == [i1]


def test_subnet_reserves_what_tencent_reserves(fresh: CloudKit) -> None:
    """The last-but-one address is usable on a Tencent subnet (the native API reserves the last three)."""
    net = network(fresh)
    created = fresh.tc(
        "CreateHaVip", {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "x", "Vip": "172.17.16.254"}
    )
    assert created.HaVip.Vip == "172.17.16.254"
    [subnet] = fresh.tc("DescribeSubnets", {"SubnetIds": [net.subnet]}).SubnetSet
    assert (subnet.TotalIpAddressCount, subnet.AvailableIpAddressCount) == (253, 252)


def test_ids_carry_tencent_s_prefixes(fresh: CloudKit) -> None:
    net = network(fresh)
    assert (net.vpc[:4], net.subnet[:7], net.table[:4]) == ("vpc-", "subnet-", "rtb-")
    i1, e1 = fresh.tc_instance(net.subnet)
    assert (i1[:4], e1[:4]) == ("ins-", "eni-")
    havip = fresh.tc("CreateHaVip", {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "x"}).HaVip
    assert havip.SubnetId == net.subnet
    # the stored form (what the native API and the CLI print) is accepted too
    [subnet] = fresh.tc("DescribeSubnets", {"SubnetIds": [idmap.stored_id(net.subnet)]}).SubnetSet
    assert (subnet.SubnetId, subnet.RouteTableId) == (net.subnet, net.table)
    fresh.tc("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": havip.HaVipId, "InstanceId": i1}]})
    [seen] = fresh.tc("DescribeHaVips", {"HaVipIds": [havip.HaVipId]}).HaVipSet
    assert [a.InstanceId for a in seen.HaVipAssociationSet] == [i1]
    # messages name ids as Tencent does
    missing = "subnet-" + "0" * 17
    err = fresh.tc_error("CreateHaVip", {"VpcId": net.vpc, "SubnetId": missing, "HaVipName": "y"})
    assert missing in err.message and "vsw-" not in err.message


def test_client_token_reused_with_other_parameters(fresh: CloudKit) -> None:
    net = network(fresh)
    params = {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "a", "ClientToken": "tok-create"}
    first = fresh.tc("CreateHaVip", params).HaVip
    assert fresh.tc("CreateHaVip", params).HaVip.HaVipId == first.HaVipId
    err = fresh.tc_error("CreateHaVip", {**params, "HaVipName": "b"})
    assert err.code == "UnsupportedOperation.IdempotentParameterMismatch"
    assert fresh.tc("DescribeHaVips", {}).TotalCount == 1


def test_describe_filters_and_paging(fresh: CloudKit) -> None:
    cloud = fresh
    net = network(cloud)
    made = [
        cloud.tc("CreateHaVip", {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": f"h{i}"}).HaVip
        for i in range(3)
    ]
    page = cloud.tc("DescribeHaVips", {"Offset": 2, "Limit": 2})
    assert (page.TotalCount, len(page.HaVipSet)) == (3, 1)

    def ids(*filters: tuple[str, list[str]]) -> set[str]:
        found = cloud.tc("DescribeHaVips", {"Filters": [{"Name": n, "Values": v} for n, v in filters]})
        return {h.HaVipId for h in found.HaVipSet}

    assert ids(("havip-name", ["h0", "h2"])) == {made[0].HaVipId, made[2].HaVipId}
    assert ids(("vip", [made[1].Vip]), ("subnet-id", [net.subnet])) == {made[1].HaVipId}
    assert ids(("check-associate", ["TRUE"])) == set()
    assert ids(("address-ip", ["198.51.100.1"])) == set()


# ---------------------------------------------------------------- the documented errors


@dataclass
class World:
    cloud: CloudKit
    net: Net
    i1: str
    e1: str
    i2: str
    havip: str


def make_world(cloud: CloudKit) -> World:
    net = network(cloud)
    i1, e1 = cloud.tc_instance(net.subnet, "172.17.16.7")
    i2, _ = cloud.tc_instance(net.subnet, "172.17.16.13")
    havip = cloud.tc(
        "CreateHaVip",
        {"VpcId": net.vpc, "SubnetId": net.subnet, "HaVipName": "w", "Vip": "172.17.16.3", "CheckAssociate": True},
    ).HaVip.HaVipId
    cloud.eip_pool(TC_REGION)
    return World(cloud, net, i1, e1, i2, havip)


@pytest.fixture
def world(fresh: CloudKit) -> World:
    return make_world(fresh)


def _members(w: World, *instances: str) -> None:
    items = [{"HaVipId": w.havip, "InstanceId": i, "InstanceType": "CVM"} for i in instances]
    w.cloud.tc("AssociateHaVipInstance", {"HaVipAssociationSet": items})


def _address(w: World) -> str:
    eip_id = w.cloud.tc("AllocateAddresses", {}).AddressSet[0]
    return str(w.cloud.tc("DescribeAddresses", {"AddressIds": [eip_id]}).AddressSet[0].AddressIp)


def _bind(w: World) -> None:
    w.cloud.tc("HaVipAssociateAddressIp", {"HaVipId": w.havip, "AddressIp": _address(w)})


def _route(w: World) -> None:
    route = {"DestinationCidrBlock": "10.8.0.0/16", "GatewayType": "HAVIP", "GatewayId": w.havip}
    w.cloud.tc("CreateRoutes", {"RouteTableId": w.net.table, "Routes": [route]})


def _havip(w: World, **params: Any) -> dict[str, Any]:
    return {"VpcId": w.net.vpc, "SubnetId": w.net.subnet, "HaVipName": "n", **params}


@dataclass(frozen=True)
class Case:
    given: Callable[[World], object]
    action: str
    params: Callable[[World], dict[str, Any]]
    code: str


def nothing(_w: World) -> None:
    return None


def association(w: World, instance: str) -> dict[str, Any]:
    return {"HaVipAssociationSet": [{"HaVipId": w.havip, "InstanceId": instance}]}


CASES = {
    "vip-outside-subnet": Case(nothing, "CreateHaVip", lambda w: _havip(w, Vip="172.17.99.9"),
                               "InvalidParameterValue.Range"),
    "vip-reserved": Case(nothing, "CreateHaVip", lambda w: _havip(w, Vip="172.17.16.1"), "InvalidParameterValue.Reserved"),
    "vip-reserved-last": Case(nothing, "CreateHaVip", lambda w: _havip(w, Vip="172.17.16.255"),
                              "InvalidParameterValue.Reserved"),
    "vip-in-use": Case(nothing, "CreateHaVip", lambda w: _havip(w, Vip="172.17.16.7"),
                       "InvalidParameterValue.AddressIpNotAvailable"),
    "vip-malformed": Case(nothing, "CreateHaVip", lambda w: _havip(w, Vip="172.17.16"), "InvalidParameterValue.Malformed"),
    "subnet-of-another-vpc": Case(nothing, "CreateHaVip",
                                  lambda w: _havip(w, VpcId=w.cloud.tc("CreateVpc", {"VpcName": "o",
                                                                                     "CidrBlock": "10.0.0.0/16"}).Vpc.VpcId),
                                  "ResourceNotFound"),
    "name-too-long": Case(nothing, "CreateHaVip", lambda w: _havip(w, HaVipName="x" * 61), "InvalidParameterValue.TooLong"),
    "name-missing": Case(nothing, "CreateHaVip", lambda w: {"VpcId": w.net.vpc, "SubnetId": w.net.subnet},
                         "MissingParameter"),
    "havips-per-vpc": Case(lambda w: w.cloud.quota("havips_per_vpc", 1), "CreateHaVip", _havip,
                           "LimitExceeded"),
    "ids-and-filters": Case(nothing, "DescribeHaVips",
                            lambda w: {"HaVipIds": [w.havip], "Filters": [{"Name": "vip", "Values": ["1.2.3.4"]}]},
                            "InvalidParameter.Coexist"),
    "filter-unknown": Case(nothing, "DescribeHaVips", lambda w: {"Filters": [{"Name": "colour", "Values": ["x"]}]},
                           "InvalidParameter.FilterInvalidKey"),
    "limit-too-big": Case(nothing, "DescribeHaVips", lambda w: {"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
    "limit-zero": Case(nothing, "DescribeHaVips", lambda w: {"Limit": 0}, "InvalidParameterValue.Malformed"),
    "member-twice": Case(lambda w: _members(w, w.i1), "AssociateHaVipInstance", lambda w: association(w, w.i1),
                         "InvalidParameterValue.DuplicatedHaVipAssociations"),
    "member-other-subnet": Case(nothing, "AssociateHaVipInstance",
                                lambda w: association(w, w.cloud.tc_instance(
                                    w.cloud.tc("CreateSubnet", {"VpcId": w.net.vpc, "SubnetName": "b",
                                                                "CidrBlock": "172.17.17.0/24",
                                                                "Zone": "z"}).Subnet.SubnetId)[0]),
                                "InvalidParameterValue.ParameterMismatch"),
    "members-per-havip": Case(lambda w: (w.cloud.quota("members_per_havip", 1), _members(w, w.i1)),
                              "AssociateHaVipInstance", lambda w: association(w, w.i2), "LimitExceeded"),
    "member-unknown": Case(nothing, "AssociateHaVipInstance", lambda w: association(w, "i-nothere"), "ResourceNotFound"),
    "disassociate-not-member": Case(nothing, "DisassociateHaVipInstance", lambda w: association(w, w.i1),
                                    "ResourceNotFound"),
    "second-eip": Case(_bind, "HaVipAssociateAddressIp", lambda w: {"HaVipId": w.havip, "AddressIp": _address(w)},
                       "UnsupportedOperation.BindEIP"),
    "eip-unknown": Case(nothing, "HaVipAssociateAddressIp", lambda w: {"HaVipId": w.havip, "AddressIp": "192.0.2.1"},
                        "InvalidParameterValue.AddressIpNotFound"),
    "no-eip-to-unbind": Case(nothing, "HaVipDisassociateAddressIp", lambda w: {"HaVipId": w.havip},
                             "UnsupportedOperation.UnbindEIP"),
    "release-bound-eip": Case(nothing, "ReleaseAddresses",
                              lambda w: (_bind(w), {"AddressIds": [w.cloud.tc("DescribeAddresses").AddressSet[0].AddressId]})[1],
                              "ResourceInUse.Address"),
    "delete-in-use": Case(lambda w: _members(w, w.i1), "DeleteHaVip", lambda w: {"HaVipId": w.havip},
                          "UnsupportedOperation"),
    "delete-with-eip": Case(_bind, "DeleteHaVip", lambda w: {"HaVipId": w.havip}, "UnsupportedOperation"),
    "delete-with-route": Case(_route, "DeleteHaVip", lambda w: {"HaVipId": w.havip}, "UnsupportedOperation"),
    "delete-unknown": Case(nothing, "DeleteHaVip", lambda w: {"HaVipId": "havip-nothere"}, "ResourceNotFound"),
    "modify-unknown": Case(nothing, "ModifyHaVipAttribute", lambda w: {"HaVipId": "havip-nothere", "HaVipName": "x"},
                           "ResourceNotFound"),
    "task-unknown": Case(nothing, "DescribeVpcTaskResult", lambda w: {"TaskId": "nothere"}, "ResourceNotFound"),
    "route-not-havip": Case(nothing, "CreateRoutes",
                            lambda w: {"RouteTableId": w.net.table, "Routes": [{"DestinationCidrBlock": "10.9.0.0/16",
                                                                                "GatewayType": "NAT", "GatewayId": "n"}]},
                            "InvalidParameterValue"),
    "route-duplicate": Case(_route, "CreateRoutes",
                            lambda w: {"RouteTableId": w.net.table, "Routes": [{"DestinationCidrBlock": "10.8.0.0/16",
                                                                                "GatewayType": "HAVIP",
                                                                                "GatewayId": w.havip}]},
                            "InvalidParameterValue.Duplicate"),
    "vpc-with-subnet": Case(nothing, "DeleteVpc", lambda w: {"VpcId": w.net.vpc}, "ResourceInUse"),
    "subnet-overlap": Case(nothing, "CreateSubnet",
                           lambda w: {"VpcId": w.net.vpc, "SubnetName": "o", "CidrBlock": "172.17.16.0/25", "Zone": "z"},
                           "InvalidParameterValue.SubnetConflict"),
}  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES.items()])
def test_documented_error(world: World, case: Case) -> None:
    case.given(world)
    error = world.cloud.tc_error(case.action, case.params(world))
    assert error.get_code() == case.code, error.get_message()
    assert error.get_request_id() and error.get_message()


def test_another_accounts_havip_looks_missing(cloud: CloudKit) -> None:
    """Isolation: account B's AccessKey sees nothing of account A's and cannot touch it."""
    world = make_world(cloud)
    b = cloud.server.account()
    other = world.cloud.tencent(key_id=b.key_id, secret=b.secret)
    assert world.cloud.tc("DescribeHaVips", {}, other).TotalCount == 0
    assert world.cloud.tc("DescribeHaVips", {"HaVipIds": [world.havip]}, other).HaVipSet == []
    assert world.cloud.tc_error("DeleteHaVip", {"HaVipId": world.havip}, other).get_code() == "ResourceNotFound"


# ---------------------------------------------------------------- credentials

FORMS = [
    pytest.param("POST", None, id="tc3"),
    pytest.param("GET", None, id="tc3-get"),
    pytest.param("POST", "HmacSHA256", id="legacy"),
]


@pytest.mark.parametrize(("method", "sign_method"), FORMS)
@pytest.mark.parametrize(
    ("key", "code"),
    [
        pytest.param("wrong-secret", "AuthFailure.SignatureFailure", id="wrong-secret"),
        pytest.param("unknown-key", "AuthFailure.SecretIdNotFound", id="unknown-key"),
        pytest.param("revoked-key", "AuthFailure.SecretIdNotFound", id="revoked-key"),
    ],
)
def test_bad_credentials_are_refused(
    cloud: CloudKit, method: str, sign_method: str | None, key: str, code: str
) -> None:
    if key == "wrong-secret":
        client = cloud.tencent(secret=cloud.secret[::-1], method=method, sign_method=sign_method)
    elif key == "unknown-key":
        client = cloud.tencent(key_id="ak-nothere", method=method, sign_method=sign_method)
    else:
        cloud.tenant.delete(f"/v1/access-keys/{cloud.key_id}")
        client = cloud.tencent(method=method, sign_method=sign_method)
    assert cloud.tc_error("DescribeHaVips", {}, client).get_code() == code


@pytest.mark.parametrize(("method", "sign_method"), FORMS)
@pytest.mark.parametrize("minutes", [6, -6])
def test_clock_skew_is_refused(fresh: CloudKit, method: str, sign_method: str | None, minutes: int) -> None:
    cloud = fresh
    client = cloud.tencent(method=method, sign_method=sign_method)
    cloud.clock.offset = dt.timedelta(minutes=minutes)
    assert cloud.tc_error("DescribeHaVips", {}, client).get_code() == "AuthFailure.SignatureExpire"
    cloud.clock.offset = dt.timedelta(minutes=4)
    assert cloud.tc("DescribeHaVips", {}, client).TotalCount == 0
