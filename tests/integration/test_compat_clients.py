"""The HaVip life cycle through Tencent's CLI (tccli) and Alibaba's older SDK (signature 1.0).

Each client gets the whole life cycle against a live server: a HaVip
with a given address and one with an allocated address, two instances associated,
an EIP, a route entry whose next hop is the HaVip, describe with filters, the
members removed and everything deleted; and on the way each refusal the cloud
documents (the address taken, a HaVip not found, a dependency, a wrong secret),
checked for the code the client reports. The older Alibaba SDK runs on every store;
tccli, one process per call, on SQLite (``fresh``).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from havip.api.compat.tencent import idmap

from .clients import AliyunV1, Tccli
from .cloudkit import ALI_REGION, TC_REGION, CloudKit
from .compat_fixtures import cloud_fixture, fresh_fixture, shared_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

SUBNET = ipaddress.ip_network("172.17.16.0/24")


# ---------------------------------------------------------------- Tencent: tccli


def test_tccli_life_cycle(fresh: CloudKit, tmp_path: Path) -> None:
    cloud = fresh
    tc = Tccli(cloud, tmp_path)
    vpc = tc("CreateVpc", VpcName="demo", CidrBlock="172.17.0.0/16")["Vpc"]["VpcId"]
    subnet = tc("CreateSubnet", VpcId=vpc, SubnetName="s", CidrBlock=str(SUBNET), Zone="ap-guangzhou-3")["Subnet"]
    sid, table = subnet["SubnetId"], subnet["RouteTableId"]
    i1, e1 = cloud.tc_instance(sid, "172.17.16.7")
    i2, _ = cloud.tc_instance(sid, "172.17.16.13")

    given = tc("CreateHaVip", VpcId=vpc, SubnetId=sid, HaVipName="web", Vip="172.17.16.3", CheckAssociate=True)
    havip = given["HaVip"]["HaVipId"]
    assert (given["HaVip"]["Vip"], given["HaVip"]["State"], given["HaVip"]["CheckAssociate"]) == (
        "172.17.16.3",
        "UNBIND",
        True,
    )
    allocated = tc("CreateHaVip", VpcId=vpc, SubnetId=sid, HaVipName="spare")["HaVip"]
    assert ipaddress.ip_address(allocated["Vip"]) in SUBNET
    assert allocated["Vip"] not in ("172.17.16.3", "172.17.16.7", "172.17.16.13")
    taken = tc.error("CreateHaVip", VpcId=vpc, SubnetId=sid, HaVipName="again", Vip="172.17.16.3")
    assert taken["code"] == "InvalidParameterValue.AddressIpNotAvailable", taken

    members = [{"HaVipId": havip, "InstanceId": i, "InstanceType": "CVM"} for i in (i1, i2)]
    tc("AssociateHaVipInstance", HaVipAssociationSet=members)
    cloud.claim(havip, e1)
    [seen] = tc("DescribeHaVips", HaVipIds=[havip])["HaVipSet"]
    assert (seen["State"], seen["InstanceId"], seen["NetworkInterfaceId"]) == ("AVAILABLE", i1, e1)
    assert sorted(a["InstanceId"] for a in seen["HaVipAssociationSet"]) == sorted([i1, i2])
    assert tc.error("DeleteHaVip", HaVipId=havip)["code"] == "UnsupportedOperation"

    cloud.eip_pool(TC_REGION)
    eips = [tc("AllocateAddresses", AddressCount=1, AddressName=n)["AddressSet"][0] for n in ("front", "spare")]
    addresses = {a["AddressId"]: a["AddressIp"] for a in tc("DescribeAddresses", AddressIds=eips)["AddressSet"]}
    tc("HaVipAssociateAddressIp", HaVipId=havip, AddressIp=addresses[eips[0]])
    second = tc.error("HaVipAssociateAddressIp", HaVipId=havip, AddressIp=addresses[eips[1]])
    assert second["code"] == "UnsupportedOperation.BindEIP", second
    tc("HaVipAssociateAddressIp", HaVipId=allocated["HaVipId"], AddressIp=addresses[eips[1]])
    [bound] = tc("DescribeAddresses", Filters=[{"Name": "address-ip", "Values": [addresses[eips[0]]]}])["AddressSet"]
    assert (bound["AddressStatus"], bound["InstanceId"]) == ("BIND", havip)

    route = {"DestinationCidrBlock": "10.8.0.0/16", "GatewayType": "HAVIP", "GatewayId": havip}
    tc("CreateRoutes", RouteTableId=table, Routes=[route])
    [listed] = tc("DescribeRouteTables", RouteTableIds=[table])["RouteTableSet"]
    [entry] = listed["RouteSet"]
    assert (entry["GatewayType"], entry["GatewayId"], entry["DestinationCidrBlock"]) == ("HAVIP", havip, "10.8.0.0/16")

    def found(*filters: tuple[str, list[str]]) -> set[str]:
        answer = tc("DescribeHaVips", Filters=[{"Name": n, "Values": v} for n, v in filters])
        return {h["HaVipId"] for h in answer["HaVipSet"]}

    assert found(("vpc-id", [vpc])) == {havip, allocated["HaVipId"]}
    assert found(("havip-association.instance-id", [i2]), ("subnet-id", [sid])) == {havip}
    assert found(("vip", [allocated["Vip"]])) == {allocated["HaVipId"]}
    assert found(("address-ip", [addresses[eips[0]]])) == {havip}
    assert found(("havip-name", ["nothing"])) == set()
    assert tc.error("DescribeHaVips", Filters=[{"Name": "colour", "Values": ["x"]}])["code"] == (
        "InvalidParameter.FilterInvalidKey"
    )

    for instance in (i1, i2):
        tc("DisassociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": havip, "InstanceId": instance}])
    [seen] = tc("DescribeHaVips", HaVipIds=[havip])["HaVipSet"]
    assert (seen["State"], seen["InstanceId"], seen["HaVipAssociationSet"]) == ("UNBIND", "", [])
    gone = tc.error("DisassociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": havip, "InstanceId": i1}])
    assert gone["code"] == "ResourceNotFound", gone
    assert tc.error("DeleteHaVip", HaVipId=havip)["code"] == "UnsupportedOperation"  # the EIP and the route
    assert tc.error("ReleaseAddresses", AddressIds=[eips[0]])["code"] == "ResourceInUse.Address"

    tc("DeleteRoutes", RouteTableId=table, Routes=[{"RouteId": entry["RouteId"]}])
    for h in (havip, allocated["HaVipId"]):
        tc("HaVipDisassociateAddressIp", HaVipId=h)
        tc("DeleteHaVip", HaVipId=h)
    tc("ReleaseAddresses", AddressIds=eips)
    assert tc("DescribeHaVips", Filters=[{"Name": "vpc-id", "Values": [vpc]}])["HaVipSet"] == []
    missing = tc.error("DeleteHaVip", HaVipId=havip)
    assert missing["code"] == "ResourceNotFound" and missing["request_id"], missing
    for instance in (i1, i2):
        cloud.tenant.delete(f"/v1/instances/{idmap.stored_id(instance)}")
    tc("DeleteSubnet", SubnetId=sid)
    tc("DeleteVpc", VpcId=vpc)


def test_tccli_with_a_wrong_secret(fresh: CloudKit, tmp_path: Path) -> None:
    cloud = fresh
    bad = Tccli(cloud, tmp_path, secret=cloud.secret[::-1])
    assert bad.error("DescribeHaVips")["code"] == "AuthFailure.SignatureFailure"
    unknown = Tccli(cloud, tmp_path, key_id="ak-nothere")
    assert unknown.error("DescribeHaVips")["code"] == "AuthFailure.SecretIdNotFound"


# ---------------------------------------------------------------- Alibaba: the older SDK, signature 1.0


def _havip(ali: AliyunV1, havip_id: str) -> Any:
    answer = ali("DescribeHaVips", Filters=[{"Key": "HaVipId", "Value": [havip_id]}])
    assert answer["TotalCount"] == 1
    return answer["HaVips"]["HaVip"][0]


def test_aliyun_v1_life_cycle(cloud: CloudKit) -> None:
    ali = AliyunV1(cloud)
    vpc = ali("CreateVpc", CidrBlock="172.17.0.0/16", VpcName="demo")
    vsw = ali("CreateVSwitch", VpcId=vpc["VpcId"], CidrBlock=str(SUBNET), ZoneId="cn-hangzhou-h")["VSwitchId"]
    i1, e1 = cloud.instance(vsw, "172.17.16.7")
    i2, _ = cloud.instance(vsw, "172.17.16.13")

    havip = ali("CreateHaVip", VSwitchId=vsw, IpAddress="172.17.16.3", Name="web", Description="d")
    assert havip["IpAddress"] == "172.17.16.3"
    h = havip["HaVipId"]
    allocated = ali("CreateHaVip", VSwitchId=vsw, Name="spare")
    assert ipaddress.ip_address(allocated["IpAddress"]) in SUBNET
    assert allocated["IpAddress"] not in ("172.17.16.3", "172.17.16.7", "172.17.16.13")
    taken = ali.error("CreateHaVip", VSwitchId=vsw, IpAddress="172.17.16.3")
    assert (taken.get_error_code(), taken.get_http_status()) == ("InvalidIPAddress.AlreadyUsed", 400)
    seen = _havip(ali, h)
    assert (seen["Status"], seen["VpcId"], seen["VSwitchId"], seen["Name"]) == ("Available", vpc["VpcId"], vsw, "web")

    for instance in (i1, i2):
        ali("AssociateHaVip", HaVipId=h, InstanceId=instance, InstanceType="EcsInstance")
    cloud.claim(h, e1)
    seen = _havip(ali, h)
    assert (seen["Status"], seen["MasterInstanceId"]) == ("InUse", i1)
    assert sorted(seen["AssociatedInstances"]["associatedInstance"]) == sorted([i1, i2])
    assert ali.error("DeleteHaVip", HaVipId=h).get_error_code() == "IncorrectStatus"

    cloud.eip_pool(ALI_REGION)
    eip, spare = (ali("AllocateEipAddress", Name=n) for n in ("front", "spare"))
    ali("AssociateEipAddress", AllocationId=eip["AllocationId"], InstanceId=h, InstanceType="HaVip")
    ali(
        "AssociateEipAddress", AllocationId=spare["AllocationId"], InstanceId=allocated["HaVipId"], InstanceType="HaVip"
    )
    assert _havip(ali, h)["AssociatedEipAddresses"]["associatedEipAddresse"] == [eip["EipAddress"]]
    dependency = ali.error("DeleteHaVip", HaVipId=allocated["HaVipId"])
    assert dependency.get_error_code() == "DependencyViolation.HaVipAssociatedWithEIP"

    route = ali(
        "CreateRouteEntry",
        RouteTableId=vpc["RouteTableId"],
        DestinationCidrBlock="10.8.0.0/16",
        NextHopType="HaVip",
        NextHopId=h,
    )
    [entry] = ali("DescribeRouteEntryList", RouteTableId=vpc["RouteTableId"])["RouteEntrys"]["RouteEntry"]
    assert (entry["RouteEntryId"], entry["DestinationCidrBlock"]) == (route["RouteEntryId"], "10.8.0.0/16")
    assert [(n["NextHopType"], n["NextHopId"]) for n in entry["NextHops"]["NextHop"]] == [("HaVip", h)]

    def found(*filters: tuple[str, list[str]]) -> set[str]:
        answer = ali("DescribeHaVips", Filters=[{"Key": k, "Value": v} for k, v in filters])
        return {x["HaVipId"] for x in answer["HaVips"]["HaVip"]}

    assert found(("VpcId", [vpc["VpcId"]])) == {h, allocated["HaVipId"]}
    assert found(("Status", ["InUse"]), ("VSwitchId", [vsw])) == {h}
    assert found(("HaVipAddress", [allocated["IpAddress"]])) == {allocated["HaVipId"]}
    assert found(("HaVipId", ["havip-nothere"])) == set()
    assert ali.error("DescribeHaVips", Filters=[{"Key": "Name", "Value": ["x"]}]).get_error_code() == (
        "InvalidFilterKey.ValueNotSupported"
    )

    master = ali.error("UnassociateHaVip", HaVipId=h, InstanceId=i1)
    assert master.get_error_code() == "Forbidden.UnassociateMaster"
    ali("UnassociateHaVip", HaVipId=h, InstanceId=i2)
    ali("UnassociateHaVip", HaVipId=h, InstanceId=i1, Force=True)
    seen = _havip(ali, h)
    assert (seen["Status"], seen["MasterInstanceId"], seen["AssociatedInstances"]["associatedInstance"]) == (
        "Available",
        "",
        [],
    )
    assert ali.error("UnassociateHaVip", HaVipId=h, InstanceId=i1).get_error_code() == "ResourceNotAssociated"
    ali("UnassociateEipAddress", AllocationId=eip["AllocationId"], InstanceId=h, InstanceType="HaVip")
    routed = ali.error("DeleteHaVip", HaVipId=h)
    assert routed.get_error_code() == "DependencyViolation.HaVipReferedByRouteEntry"

    ali("DeleteRouteEntry", RouteEntryId=route["RouteEntryId"])
    ali("DeleteHaVip", HaVipId=h)
    ali(
        "UnassociateEipAddress",
        AllocationId=spare["AllocationId"],
        InstanceId=allocated["HaVipId"],
        InstanceType="HaVip",
    )
    ali("DeleteHaVip", HaVipId=allocated["HaVipId"])
    for released in (eip, spare):
        ali("ReleaseEipAddress", AllocationId=released["AllocationId"])
    assert ali("DescribeHaVips")["TotalCount"] == 0
    missing = ali.error("DeleteHaVip", HaVipId=h)
    assert (missing.get_error_code(), missing.get_http_status()) == ("InvalidHaVipId.NotFound", 404)
    assert missing.get_request_id()
    for instance in (i1, i2):
        cloud.tenant.delete(f"/v1/instances/{instance}")
    ali("DeleteVSwitch", VSwitchId=vsw)
    ali("DeleteVpc", VpcId=vpc["VpcId"])


def test_aliyun_v1_with_a_wrong_secret(cloud: CloudKit) -> None:
    """The SDK compares the server's string to sign with its own: equal, so the secret is wrong."""
    error = AliyunV1(cloud, secret=cloud.secret[::-1]).error("DescribeHaVips")
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAccessKeySecret", 400)
    unknown = AliyunV1(cloud, key_id="ak-nothere").error("DescribeHaVips")
    assert (unknown.get_error_code(), unknown.get_http_status()) == ("InvalidAccessKeyId.NotFound", 404)
