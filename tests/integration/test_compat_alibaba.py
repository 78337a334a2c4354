"""The official Alibaba Cloud VPC SDK (alibabacloud-vpc20160428) against havip.

The SDK is configured with nothing but havip's endpoint and an AccessKey: the HaVip
life cycle from nothing, the documented error of each rule (the code the SDK
raises), and the credentials refused. Runs on every store the integration tier has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from alibabacloud_vpc20160428 import models as m

from .cloudkit import ALI_REGION, CloudKit
from .compat_fixtures import cloud_fixture, fresh_fixture, shared_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@dataclass
class Net:
    vpc: str
    vsw: str
    table: str


def network(cloud: CloudKit, cidr: str = "172.17.0.0/16") -> Net:
    vpc = cloud.ali("CreateVpc", cidr_block=cidr, vpc_name="demo")
    vsw = cloud.ali(
        "CreateVSwitch", vpc_id=vpc.vpc_id, cidr_block=cidr.replace("0.0/16", "16.0/24"), zone_id="cn-hangzhou-h"
    )
    return Net(vpc.vpc_id, vsw.v_switch_id, vpc.route_table_id)


def describe(cloud: CloudKit, havip_id: str) -> m.DescribeHaVipsResponseBodyHaVipsHaVip:
    body = cloud.ali("DescribeHaVips", filter=[m.DescribeHaVipsRequestFilter(key="HaVipId", value=[havip_id])])
    assert body.total_count == 1
    return body.ha_vips.ha_vip[0]


def test_life_cycle_from_nothing(cloud: CloudKit) -> None:
    net = network(cloud)
    vpcs = cloud.ali("DescribeVpcs", vpc_id=net.vpc)
    assert [(v.vpc_id, v.cidr_block, v.status) for v in vpcs.vpcs.vpc] == [(net.vpc, "172.17.0.0/16", "Available")]
    assert vpcs.vpcs.vpc[0].v_switch_ids.v_switch_id == [net.vsw]
    vsws = cloud.ali("DescribeVSwitches", vpc_id=net.vpc)
    assert [(s.v_switch_id, s.zone_id, s.available_ip_address_count) for s in vsws.v_switches.v_switch] == [
        (net.vsw, "cn-hangzhou-h", 252)  # Alibaba reserves the first and the last three addresses
    ]
    i1, e1 = cloud.instance(net.vsw, "172.17.16.7")
    i2, _e2 = cloud.instance(net.vsw, "172.17.16.13")

    created = cloud.ali("CreateHaVip", v_switch_id=net.vsw, ip_address="172.17.16.3", name="web", description="d")
    assert created.ip_address == "172.17.16.3"
    havip = created.ha_vip_id
    seen = describe(cloud, havip)
    assert (seen.status, seen.vpc_id, seen.v_switch_id, seen.region_id) == ("Available", net.vpc, net.vsw, ALI_REGION)
    assert (seen.name, seen.description, seen.master_instance_id) == ("web", "d", "")
    assert dt.datetime.strptime(seen.create_time, "%Y-%m-%dT%H:%M:%SZ")

    for instance in (i1, i2):
        cloud.ali("AssociateHaVip", ha_vip_id=havip, instance_id=instance, instance_type="EcsInstance")
    cloud.claim(havip, e1)  # i1's keepalived announced the VIP
    seen = describe(cloud, havip)
    assert (seen.status, seen.master_instance_id, seen.associated_instance_type) == ("InUse", i1, "EcsInstance")
    assert sorted(seen.associated_instances.associated_instance) == sorted([i1, i2])

    cloud.eip_pool(ALI_REGION)
    eip = cloud.ali("AllocateEipAddress", name="front")
    cloud.ali("AssociateEipAddress", allocation_id=eip.allocation_id, instance_id=havip, instance_type="HaVip")
    assert describe(cloud, havip).associated_eip_addresses.associated_eip_addresse == [eip.eip_address]
    [listed] = cloud.ali("DescribeEipAddresses", allocation_id=eip.allocation_id).eip_addresses.eip_address
    assert (listed.status, listed.instance_id, listed.instance_type, listed.ip_address) == (
        "InUse",
        havip,
        "HaVip",
        eip.eip_address,
    )

    router = cloud.ali("DescribeVpcs", vpc_id=net.vpc).vpcs.vpc[0].vrouter_id
    tables = cloud.ali("DescribeRouteTables", vrouter_id=router)
    assert [t.route_table_id for t in tables.route_tables.route_table] == [net.table]
    route = cloud.ali(
        "CreateRouteEntry",
        route_table_id=net.table,
        destination_cidr_block="10.8.0.0/16",
        next_hop_type="HaVip",
        next_hop_id=havip,
    )
    [entry] = cloud.ali("DescribeRouteEntryList", route_table_id=net.table).route_entrys.route_entry
    assert (entry.route_entry_id, entry.destination_cidr_block, entry.status) == (
        route.route_entry_id,
        "10.8.0.0/16",
        "Available",
    )
    assert [(h.next_hop_type, h.next_hop_id) for h in entry.next_hops.next_hop] == [("HaVip", havip)]
    [table] = cloud.ali("DescribeRouteTables", route_table_id=net.table).route_tables.route_table
    assert [(e.next_hop_type, e.instance_id) for e in table.route_entrys.route_entry] == [("HaVip", havip)]

    cloud.ali("ModifyHaVipAttribute", ha_vip_id=havip, name="web2")
    assert describe(cloud, havip).name == "web2"

    # the master cannot go without Force; a backup can
    assert cloud.ali_error("UnassociateHaVip", ha_vip_id=havip, instance_id=i1).code == "Forbidden.UnassociateMaster"
    cloud.ali("UnassociateHaVip", ha_vip_id=havip, instance_id=i2)
    cloud.ali("UnassociateHaVip", ha_vip_id=havip, instance_id=i1, force=True)
    seen = describe(cloud, havip)
    assert (seen.status, seen.master_instance_id, seen.associated_instances.associated_instance) == (
        "Available",
        "",
        [],
    )

    cloud.ali("DeleteRouteEntry", route_entry_id=route.route_entry_id)
    cloud.ali("UnassociateEipAddress", allocation_id=eip.allocation_id, instance_id=havip, instance_type="HaVip")
    cloud.ali("ReleaseEipAddress", allocation_id=eip.allocation_id)
    cloud.ali("DeleteHaVip", ha_vip_id=havip)
    gone = cloud.ali("DescribeHaVips", filter=[m.DescribeHaVipsRequestFilter(key="HaVipId", value=[havip])])
    assert (gone.total_count, gone.ha_vips.ha_vip) == (0, [])
    for instance in (i1, i2):
        cloud.tenant.delete(f"/v1/instances/{instance}")
    cloud.ali("DeleteVSwitch", v_switch_id=net.vsw)
    cloud.ali("DeleteVpc", vpc_id=net.vpc)
    assert cloud.ali("DescribeVpcs").total_count == 0


def test_vswitch_reserves_what_alibaba_reserves(fresh: CloudKit) -> None:
    """The second address is usable on a vSwitch (the native API reserves it as the gateway)."""
    net = network(fresh)
    created = fresh.ali("CreateHaVip", v_switch_id=net.vsw, ip_address="172.17.16.1")
    assert created.ip_address == "172.17.16.1"
    [vsw] = fresh.ali("DescribeVSwitches", v_switch_id=net.vsw).v_switches.v_switch
    assert vsw.available_ip_address_count == 251
    assert fresh.ali_error("CreateHaVip", v_switch_id=net.vsw, ip_address="172.17.16.0").code == (
        "InvalidIPAddress.NotAvailable"
    )


def test_messages_speak_alibaba_s_words(fresh: CloudKit) -> None:
    err = fresh.ali_error("CreateHaVip", v_switch_id="vsw-" + "0" * 17)
    assert err.code == "InvalidVSwitch.NotFound"
    assert f"The specified VSwitch 'vsw-{'0' * 17}' does not exist." in err.message, err.message
    net = network(fresh)
    fresh.quota("havips_per_vpc", 0)
    err = fresh.ali_error("CreateHaVip", v_switch_id=net.vsw)
    assert "havip quota set" not in err.message and "havips_per_vpc" not in err.message, err.message


def test_client_token_reused_with_other_parameters(fresh: CloudKit) -> None:
    net = network(fresh)
    first = fresh.ali("CreateHaVip", v_switch_id=net.vsw, name="a", client_token="tok-create")
    again = fresh.ali("CreateHaVip", v_switch_id=net.vsw, name="a", client_token="tok-create")
    assert again.ha_vip_id == first.ha_vip_id
    err = fresh.ali_error("CreateHaVip", v_switch_id=net.vsw, name="b", client_token="tok-create")
    assert (err.code, err.status_code) == ("IdempotentParameterMismatch", 400)
    assert len(fresh.ali("DescribeHaVips").ha_vips.ha_vip) == 1


def test_network_interface_members(fresh: CloudKit) -> None:
    cloud = fresh
    net = network(cloud)
    eni = cloud.eni(net.vsw)
    havip = cloud.ali("CreateHaVip", v_switch_id=net.vsw).ha_vip_id
    cloud.ali("AssociateHaVip", ha_vip_id=havip, instance_id=eni, instance_type="NetworkInterface")
    seen = describe(cloud, havip)
    assert (seen.associated_instance_type, seen.associated_instances.associated_instance) == ("NetworkInterface", [eni])


def test_describe_filters_and_paging(fresh: CloudKit) -> None:
    cloud = fresh
    net = network(cloud)
    made = [cloud.ali("CreateHaVip", v_switch_id=net.vsw, name=f"h{i}") for i in range(3)]
    i1, _ = cloud.instance(net.vsw)
    cloud.ali("AssociateHaVip", ha_vip_id=made[0].ha_vip_id, instance_id=i1)
    page = cloud.ali("DescribeHaVips", page_size=2, page_number=2)
    assert (page.total_count, page.page_number, page.page_size, len(page.ha_vips.ha_vip)) == (3, 2, 2, 1)

    def ids(*filters: tuple[str, list[str]]) -> set[str]:
        found = cloud.ali("DescribeHaVips", filter=[m.DescribeHaVipsRequestFilter(key=k, value=v) for k, v in filters])
        return {h.ha_vip_id for h in found.ha_vips.ha_vip}

    every = {h.ha_vip_id for h in made}
    assert ids(("VpcId", [net.vpc])) == every
    assert ids(("Status", ["InUse"])) == {made[0].ha_vip_id}
    assert ids(("Status", ["Available"]), ("VSwitchId", [net.vsw])) == every - {made[0].ha_vip_id}
    assert ids(("HaVipAddress", [made[1].ip_address, made[2].ip_address])) == {made[1].ha_vip_id, made[2].ha_vip_id}
    assert ids(("HaVipId", ["havip-nothere"])) == set()
    assert ids(("Status", ["Associating"])) == set()  # a transient status havip never shows


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
    i1, e1 = cloud.instance(net.vsw, "172.17.16.7")
    i2, _ = cloud.instance(net.vsw, "172.17.16.13")
    havip = cloud.ali("CreateHaVip", v_switch_id=net.vsw, ip_address="172.17.16.3").ha_vip_id
    cloud.eip_pool(ALI_REGION)
    return World(cloud, net, i1, e1, i2, havip)


@pytest.fixture
def world(fresh: CloudKit) -> World:
    return make_world(fresh)


def _other_vswitch_instance(w: World) -> str:
    vsw = w.cloud.ali("CreateVSwitch", vpc_id=w.net.vpc, cidr_block="172.17.17.0/24", zone_id="z").v_switch_id
    return w.cloud.instance(vsw)[0]


def _associate(w: World, *instances: str) -> None:
    for instance in instances:
        w.cloud.ali("AssociateHaVip", ha_vip_id=w.havip, instance_id=instance)


def _eip(w: World) -> str:
    eip = w.cloud.ali("AllocateEipAddress").allocation_id
    w.cloud.ali("AssociateEipAddress", allocation_id=eip, instance_id=w.havip, instance_type="HaVip")
    return str(eip)


def _route(w: World, destination: str = "10.8.0.0/16") -> None:
    w.cloud.ali(
        "CreateRouteEntry",
        route_table_id=w.net.table,
        destination_cidr_block=destination,
        next_hop_type="HaVip",
        next_hop_id=w.havip,
    )


@dataclass(frozen=True)
class Case:
    """Set up (``given``), then the action that must fail with ``code`` and ``status``."""

    given: Callable[[World], object]
    action: str
    params: Callable[[World], dict[str, object]]
    code: str
    status: int = 400


def nothing(_w: World) -> None:
    return None


CASES = {
    "ip-outside-vswitch": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "ip_address": "10.9.9.9"},
                               "InvalidIPAddress.OutOfRange"),
    "ip-reserved-first": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "ip_address": "172.17.16.0"},
                              "InvalidIPAddress.NotAvailable"),
    "ip-reserved-last-three": Case(nothing, "CreateHaVip",
                                   lambda w: {"v_switch_id": w.net.vsw, "ip_address": "172.17.16.253"},
                                   "InvalidIPAddress.NotAvailable"),
    "ip-in-use": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "ip_address": "172.17.16.7"},
                      "InvalidIPAddress.AlreadyUsed"),
    "ip-malformed": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "ip_address": "172.17.16"},
                         "InvalidIPAddress.Malformed"),
    "vswitch-unknown": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": "vsw-nothere"}, "InvalidVSwitch.NotFound"),
    "name-url": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "name": "http://x"},
                     "InvalidName.Malformed"),
    "description-url": Case(nothing, "CreateHaVip", lambda w: {"v_switch_id": w.net.vsw, "description": "https://x"},
                            "InvalidDescription.Malformed"),
    "havips-per-vpc": Case(lambda w: w.cloud.quota("havips_per_vpc", 1), "CreateHaVip",
                           lambda w: {"v_switch_id": w.net.vsw}, "QuotaExceeded.HaVip"),
    "member-other-vswitch": Case(nothing, "AssociateHaVip",
                                 lambda w: {"ha_vip_id": w.havip, "instance_id": _other_vswitch_instance(w)},
                                 "NotBelongToSameVSwitch"),
    "member-mixed-types": Case(lambda w: _associate(w, w.i1), "AssociateHaVip",
                               lambda w: {"ha_vip_id": w.havip, "instance_id": w.cloud.eni(w.net.vsw),
                                          "instance_type": "NetworkInterface"},
                               "InvalidInstanceType.ValueNotSupported"),
    "member-twice": Case(lambda w: _associate(w, w.i1), "AssociateHaVip",
                         lambda w: {"ha_vip_id": w.havip, "instance_id": w.i1}, "InvalidAssociation.Duplicated"),
    "members-per-havip": Case(lambda w: (w.cloud.quota("members_per_havip", 1), _associate(w, w.i1)),
                              "AssociateHaVip", lambda w: {"ha_vip_id": w.havip, "instance_id": w.i2},
                              "CountLimitExceeded.HaVipOnECSInstance"),
    "havips-per-instance": Case(lambda w: (w.cloud.quota("havips_per_member", 1), _associate(w, w.i1)),
                                "AssociateHaVip",
                                lambda w: {"ha_vip_id": w.cloud.ali("CreateHaVip", v_switch_id=w.net.vsw).ha_vip_id,
                                           "instance_id": w.i1},
                                "CountLimitExceed.HaVipOnInstance"),
    "instance-unknown": Case(nothing, "AssociateHaVip", lambda w: {"ha_vip_id": w.havip, "instance_id": "i-nothere"},
                             "InvalidInstanceId.NotFound", 404),
    "instance-type-unknown": Case(nothing, "AssociateHaVip",
                                  lambda w: {"ha_vip_id": w.havip, "instance_id": w.i1, "instance_type": "Nat"},
                                  "InvalidInstanceType.ValueNotSupported"),
    "unassociate-not-member": Case(nothing, "UnassociateHaVip", lambda w: {"ha_vip_id": w.havip, "instance_id": w.i1},
                                   "ResourceNotAssociated"),
    "unassociate-master": Case(lambda w: (_associate(w, w.i1), w.cloud.claim(w.havip, w.e1)), "UnassociateHaVip",
                               lambda w: {"ha_vip_id": w.havip, "instance_id": w.i1, "force": False},
                               "Forbidden.UnassociateMaster"),
    "delete-in-use": Case(lambda w: _associate(w, w.i1), "DeleteHaVip", lambda w: {"ha_vip_id": w.havip},
                          "IncorrectStatus"),
    "delete-with-eip": Case(_eip, "DeleteHaVip", lambda w: {"ha_vip_id": w.havip},
                            "DependencyViolation.HaVipAssociatedWithEIP"),
    "delete-with-route": Case(_route, "DeleteHaVip", lambda w: {"ha_vip_id": w.havip},
                              "DependencyViolation.HaVipReferedByRouteEntry"),
    "delete-unknown": Case(nothing, "DeleteHaVip", lambda w: {"ha_vip_id": "havip-nothere"},
                           "InvalidHaVipId.NotFound", 404),
    "describe-filter-key": Case(nothing, "DescribeHaVips",
                                lambda w: {"filter": [m.DescribeHaVipsRequestFilter(key="Name", value=["x"])]},
                                "InvalidFilterKey.ValueNotSupported"),
    "modify-unknown": Case(nothing, "ModifyHaVipAttribute", lambda w: {"ha_vip_id": "havip-nothere", "name": "x"},
                           "InvalidHaVipId.NotFound", 404),
    "second-eip": Case(_eip, "AssociateEipAddress",
                       lambda w: {"allocation_id": w.cloud.ali("AllocateEipAddress").allocation_id,
                                  "instance_id": w.havip, "instance_type": "HaVip"},
                       "InvalidAssociation.Duplicated"),
    "eip-already-bound": Case(nothing, "AssociateEipAddress",
                              lambda w: {"allocation_id": _eip(w), "instance_id": w.havip, "instance_type": "HaVip"},
                              "IncorrectEipStatus"),
    "eip-to-unknown-havip": Case(nothing, "AssociateEipAddress",
                                 lambda w: {"allocation_id": w.cloud.ali("AllocateEipAddress").allocation_id,
                                            "instance_id": "havip-nothere", "instance_type": "HaVip"},
                                 "InvalidInstanId.NotFound", 404),
    "eip-to-ecs": Case(nothing, "AssociateEipAddress",
                       lambda w: {"allocation_id": w.cloud.ali("AllocateEipAddress").allocation_id,
                                  "instance_id": w.i1},
                       "InvalidInstanceType.ValueNotSupported"),
    "release-bound-eip": Case(nothing, "ReleaseEipAddress", lambda w: {"allocation_id": _eip(w)}, "IncorrectEipStatus"),
    "eip-unknown": Case(nothing, "ReleaseEipAddress", lambda w: {"allocation_id": "eip-nothere"},
                        "InvalidAllocationId.NotFound", 404),
    "havip-routes-per-table": Case(lambda w: (w.cloud.quota("havip_routes_per_table", 1), _route(w)),
                                   "CreateRouteEntry",
                                   lambda w: {"route_table_id": w.net.table, "destination_cidr_block": "10.9.0.0/16",
                                              "next_hop_type": "HaVip", "next_hop_id": w.havip},
                                   "CountLimitExceed.HaVipRouteEntry"),
    "route-duplicate": Case(_route, "CreateRouteEntry",
                            lambda w: {"route_table_id": w.net.table, "destination_cidr_block": "10.8.0.0/16",
                                       "next_hop_type": "HaVip", "next_hop_id": w.havip},
                            "InvalidCIDRBlock.Duplicate"),
    "route-to-unknown-havip": Case(nothing, "CreateRouteEntry",
                                   lambda w: {"route_table_id": w.net.table, "destination_cidr_block": "10.9.0.0/16",
                                              "next_hop_type": "HaVip", "next_hop_id": "havip-nothere"},
                                   "InvalidHaVipId.NotFound", 404),
    "vpc-with-vswitch": Case(nothing, "DeleteVpc", lambda w: {"vpc_id": w.net.vpc}, "DependencyViolation.VSwitch"),
    "vswitch-in-use": Case(nothing, "DeleteVSwitch", lambda w: {"v_switch_id": w.net.vsw}, "DependencyViolation"),
    "vpc-cidr-public": Case(nothing, "CreateVpc", lambda w: {"cidr_block": "8.8.0.0/16"}, "InvalidCidrBlock.Malformed"),
    "vswitch-overlap": Case(nothing, "CreateVSwitch",
                            lambda w: {"vpc_id": w.net.vpc, "cidr_block": "172.17.16.0/25", "zone_id": "z"},
                            "InvalidCidrBlock.Overlapped"),
    "region-unknown": Case(nothing, "DescribeHaVips", lambda w: {"region_id": "us-west-1"},
                           "InvalidRegionId.NotFound", 404),
}  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES.items()])
def test_documented_error(world: World, case: Case) -> None:
    case.given(world)
    error = world.cloud.ali_error(case.action, **case.params(world))
    assert (error.code, error.status_code) == (case.code, case.status), error.message
    assert error.request_id and error.message


def test_another_accounts_havip_looks_missing(cloud: CloudKit) -> None:
    """Isolation: account B's AccessKey sees nothing of account A's and cannot touch it."""
    world = make_world(cloud)
    b = cloud.server.account()
    other = world.cloud.aliyun(key_id=b.key_id, secret=b.secret)
    assert world.cloud.ali("DescribeHaVips", other).total_count == 0
    assert world.cloud.ali("DescribeVpcs", other).total_count == 0
    error = world.cloud.ali_error("DeleteHaVip", other, ha_vip_id=world.havip)
    assert (error.code, error.status_code) == ("InvalidHaVipId.NotFound", 404)
    error = world.cloud.ali_error("AssociateHaVip", other, ha_vip_id=world.havip, instance_id=world.i1)
    assert error.code == "InvalidHaVipId.NotFound"


# ---------------------------------------------------------------- credentials


@pytest.mark.parametrize("v2", [False, True], ids=["acs3", "hmac-sha1"])
@pytest.mark.parametrize(
    ("key", "code", "status"),
    [
        pytest.param("wrong-secret", "SignatureDoesNotMatch", 400, id="wrong-secret"),
        pytest.param("unknown-key", "InvalidAccessKeyId.NotFound", 404, id="unknown-key"),
        pytest.param("revoked-key", "InvalidAccessKeyId.NotFound", 404, id="revoked-key"),
    ],
)
def test_bad_credentials_are_refused(fresh: CloudKit, v2: bool, key: str, code: str, status: int) -> None:
    cloud = fresh
    if key == "wrong-secret":
        client = cloud.aliyun(secret=cloud.secret[::-1], v2=v2)
    elif key == "unknown-key":
        client = cloud.aliyun(key_id="ak-nothere", v2=v2)
    else:
        cloud.tenant.delete(f"/v1/access-keys/{cloud.key_id}")
        client = cloud.aliyun(v2=v2)
    error = cloud.ali_error("DescribeHaVips", client)
    assert (error.code, error.status_code) == (code, status)


@pytest.mark.parametrize("v2", [False, True], ids=["acs3", "hmac-sha1"])
@pytest.mark.parametrize("minutes", [16, -16])
def test_clock_skew_is_refused(fresh: CloudKit, v2: bool, minutes: int) -> None:
    cloud = fresh
    cloud.clock.offset = dt.timedelta(minutes=minutes)
    error = cloud.ali_error("DescribeHaVips", cloud.aliyun(v2=v2))
    assert (error.code, error.status_code) == ("InvalidTimeStamp.Expired", 400)
    cloud.clock.offset = dt.timedelta(minutes=14)
    assert cloud.ali("DescribeHaVips", cloud.aliyun(v2=v2)).total_count == 0


def test_both_signatures_see_the_same_cloud(cloud: CloudKit) -> None:
    net = network(cloud)
    classic = cloud.aliyun(v2=True)
    havip = cloud.ali("CreateHaVip", classic, v_switch_id=net.vsw, name="legacy").ha_vip_id
    assert describe(cloud, havip).name == "legacy"
    found = cloud.ali("DescribeVSwitches", classic, v_switch_id=net.vsw).v_switches.v_switch
    assert [s.v_switch_id for s in found] == [net.vsw]
