"""HaVip use cases over the in-memory store: members, holders, deletes, idempotency, isolation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from havip.domain.claims import Outcome, ReportKind
from havip.domain.errors import Conflict, DependencyViolation, HavipError, InvalidParameter, NotFound
from havip.domain.model import BindingMode, EventKind, HaVipStatus, MemberType, NextHopType
from havip.service import agents, compute, eips, havips, network, routes
from havip.service.agents import ClaimReport
from havip.service.compute import Placement
from havip.service.context import Ctx, Page

from .builders import Cloud

pytestmark = pytest.mark.unit

INST, ENI = MemberType.INSTANCE, MemberType.NETWORK_INTERFACE


def _code(call: Callable[[], object], error: type[HavipError], code: str) -> HavipError:
    with pytest.raises(error) as info:
        call()
    assert info.value.code == code, info.value.message
    return info.value


def _kinds(cloud: Cloud, havip_id: str) -> list[EventKind]:
    events, _ = havips.list_events(cloud.tenant, havip_id, Page(limit=100))
    return [e.kind for e in reversed(events)]  # oldest first


# ---------------------------------------------------------------- members and holders


def test_associate_and_unassociate_move_the_status(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip = cloud.havip(subnet).havip
    (i1, _), (i2, _) = cloud.instance(subnet), cloud.instance(subnet)
    assert havip.status is HaVipStatus.AVAILABLE

    view = havips.associate(cloud.tenant, havip.id, INST, i1.id)
    assert (view.havip.status, view.havip.member_type) == (HaVipStatus.IN_USE, INST)
    view = havips.associate(cloud.tenant, havip.id, INST, i2.id)
    assert sorted(m.member_id for m in view.members) == sorted([i1.id, i2.id])

    havips.unassociate(cloud.tenant, havip.id, i1.id)
    view = havips.unassociate(cloud.tenant, havip.id, i2.id)
    assert (view.havip.status, view.havip.member_type, view.members) == (HaVipStatus.AVAILABLE, None, [])
    assert _kinds(cloud, havip.id) == [EventKind.ASSOCIATED] * 2 + [EventKind.UNASSOCIATED] * 2


def test_member_type_is_free_again_after_the_last_member_left(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip_id = cloud.havip(subnet).havip.id
    inst, _ = cloud.instance(subnet)
    havips.associate(cloud.tenant, havip_id, INST, inst.id)
    havips.unassociate(cloud.tenant, havip_id, inst.id)
    view = havips.associate(cloud.tenant, havip_id, ENI, cloud.eni(subnet).id)
    assert view.havip.member_type is ENI


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(INST, ENI, id="eni-after-instance"),
        pytest.param(ENI, INST, id="instance-after-eni"),
    ],
)
def test_mixed_member_types_refused(cloud: Cloud, first: MemberType, second: MemberType) -> None:
    subnet = cloud.network()
    havip_id = cloud.havip(subnet).havip.id
    inst, _ = cloud.instance(subnet)
    eni = cloud.eni(subnet)
    ids = {INST: inst.id, ENI: eni.id}
    havips.associate(cloud.tenant, havip_id, first, ids[first])
    _code(
        lambda: havips.associate(cloud.tenant, havip_id, second, ids[second]),
        InvalidParameter,
        "InvalidMember.MixedTypes",
    )
    assert len(havips.get_havip(cloud.tenant, havip_id).members) == 1


@pytest.mark.parametrize("member_type", [pytest.param(INST, id="instance"), pytest.param(ENI, id="eni")])
def test_cross_subnet_member_refused(cloud: Cloud, member_type: MemberType) -> None:
    subnet = cloud.network()
    vpc = network.get_vpc(cloud.tenant, subnet.vpc_id)
    other = cloud.subnet(vpc, "172.17.17.0/24")
    havip_id = cloud.havip(subnet).havip.id
    member = cloud.instance(other)[0].id if member_type is INST else cloud.eni(other).id
    _code(
        lambda: havips.associate(cloud.tenant, havip_id, member_type, member),
        InvalidParameter,
        "InvalidMember.NotInSameSubnet",
    )


def test_instance_with_a_secondary_interface_in_the_subnet_may_be_associated(cloud: Cloud) -> None:
    subnet = cloud.network()
    vpc = network.get_vpc(cloud.tenant, subnet.vpc_id)
    inst, _ = cloud.instance(cloud.subnet(vpc, "172.17.17.0/24"))
    compute.create_interface(cloud.tenant, subnet_id=subnet.id, instance_id=inst.id)
    havip_id = cloud.havip(subnet).havip.id
    assert havips.associate(cloud.tenant, havip_id, INST, inst.id).members[0].member_id == inst.id


def test_duplicate_member_refused(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip_id = cloud.havip(subnet).havip.id
    inst, _ = cloud.instance(subnet)
    havips.associate(cloud.tenant, havip_id, INST, inst.id)
    _code(lambda: havips.associate(cloud.tenant, havip_id, INST, inst.id), Conflict, "InvalidMember.AlreadyAssociated")


def test_unassociate_unknown_member(cloud: Cloud) -> None:
    havip_id = cloud.havip(cloud.network()).havip.id
    _code(lambda: havips.unassociate(cloud.tenant, havip_id, "i-nothere"), NotFound, "NotFound.HaVipMember")


@pytest.mark.parametrize("member_type", [pytest.param(INST, id="instance"), pytest.param(ENI, id="eni")])
def test_unassociating_the_holder_needs_force_and_clears_it(cloud: Cloud, member_type: MemberType) -> None:
    host, agent = cloud.host("h1")
    subnet = cloud.network()
    havip_id = cloud.havip(subnet).havip.id
    inst, primary = cloud.instance(subnet, host)
    eni = primary if member_type is INST else cloud.eni(subnet, host)
    member = inst.id if member_type is INST else eni.id
    standby, _ = cloud.instance(subnet, host) if member_type is INST else (cloud.eni(subnet, host), None)
    havips.associate(cloud.tenant, havip_id, member_type, member)
    havips.associate(cloud.tenant, havip_id, member_type, standby.id)
    claim = ClaimReport(havip_id, eni.id, ReportKind.CLAIM, cloud.clock(), cause="garp-request")
    assert agents.report(agent, host.id, claim) is Outcome.HOLDER_CHANGED

    _code(lambda: havips.unassociate(cloud.tenant, havip_id, member), Conflict, "Conflict.UnassociateHolder")
    assert havips.get_havip(cloud.tenant, havip_id).havip.holder_interface_id == eni.id

    havips.unassociate(cloud.tenant, havip_id, standby.id)  # a standby leaves without force
    view = havips.unassociate(cloud.tenant, havip_id, member, force=True)
    h = view.havip
    assert (h.holder_interface_id, h.holder_instance_id, h.holder_host_id, h.holder_since) == (None,) * 4
    assert (h.status, view.members) == (HaVipStatus.AVAILABLE, [])
    events, _ = havips.list_events(cloud.tenant, havip_id, Page(), kind="holder_cleared")
    assert len(events) == 1
    assert events[0].previous_interface_id == eni.id
    assert events[0].previous_instance_id == (inst.id if member_type is INST else None)


def test_deleting_the_holding_interface_clears_the_holder(cloud: Cloud) -> None:
    host, agent = cloud.host("h1")
    subnet = cloud.network()
    havip_id = cloud.havip(subnet, mode=BindingMode.SUBNET).havip.id  # a holder without membership
    eni = cloud.eni(subnet, host)
    agents.report(agent, host.id, ClaimReport(havip_id, eni.id, ReportKind.CLAIM, cloud.clock()))
    assert havips.get_havip(cloud.tenant, havip_id).havip.holder_interface_id == eni.id
    compute.delete_interface(cloud.tenant, eni.id)
    assert havips.get_havip(cloud.tenant, havip_id).havip.holder_interface_id is None
    assert _kinds(cloud, havip_id)[-1] is EventKind.HOLDER_CLEARED


# ---------------------------------------------------------------- delete


def _with_member(cloud: Cloud, havip_id: str) -> Callable[[], object]:
    subnet = network.get_subnet(cloud.tenant, havips.get_havip(cloud.tenant, havip_id).havip.subnet_id)
    inst, _ = cloud.instance(subnet)
    havips.associate(cloud.tenant, havip_id, INST, inst.id)
    return lambda: havips.unassociate(cloud.tenant, havip_id, inst.id)


def _with_eip(cloud: Cloud, havip_id: str) -> Callable[[], object]:
    eips.create_pool(cloud.operator, cidr="203.0.113.0/24", documentation_range=True)
    eip = eips.allocate(cloud.tenant)
    eips.associate(cloud.tenant, eip.id, havip_id=havip_id)
    return lambda: eips.unassociate(cloud.tenant, eip.id)


def _with_route(cloud: Cloud, havip_id: str) -> Callable[[], object]:
    vpc_id = havips.get_havip(cloud.tenant, havip_id).havip.vpc_id
    table = network.list_route_tables(cloud.tenant, Page(), vpc_id=vpc_id)[0][0]
    entry = routes.create_entry(
        cloud.tenant,
        route_table_id=table.id,
        destination="10.0.0.0/8",
        next_hop_type=NextHopType.HAVIP,
        next_hop_id=havip_id,
    )
    return lambda: routes.delete_entry(cloud.tenant, entry.id)


@pytest.mark.parametrize(
    ("depend", "code"),
    [
        pytest.param(_with_member, "DependencyViolation.HaVipHasMembers", id="member"),
        pytest.param(_with_eip, "DependencyViolation.HaVipAssociatedWithEip", id="eip"),
        pytest.param(_with_route, "DependencyViolation.HaVipReferredByRouteEntry", id="route-entry"),
    ],
)
def test_delete_refused_while_in_use(
    cloud: Cloud, depend: Callable[[Cloud, str], Callable[[], object]], code: str
) -> None:
    havip = cloud.havip(cloud.network()).havip
    undo = depend(cloud, havip.id)
    _code(lambda: havips.delete_havip(cloud.tenant, havip.id), DependencyViolation, code)
    assert havips.get_havip(cloud.tenant, havip.id).havip.status in (HaVipStatus.AVAILABLE, HaVipStatus.IN_USE)

    undo()
    havips.delete_havip(cloud.tenant, havip.id)
    _code(lambda: havips.get_havip(cloud.tenant, havip.id), NotFound, "NotFound.HaVip")


def test_delete_releases_the_address_and_the_history(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip = cloud.havip(subnet, ip="172.17.16.3").havip
    inst, _ = cloud.instance(subnet)
    havips.associate(cloud.tenant, havip.id, INST, inst.id)
    havips.unassociate(cloud.tenant, havip.id, inst.id)
    havips.delete_havip(cloud.tenant, havip.id)
    assert cloud.counts()["events"] == 0
    assert cloud.havip(subnet, ip="172.17.16.3").havip.ip == "172.17.16.3"  # the address is free again


# ---------------------------------------------------------------- addresses


def test_havip_address_given_or_allocated(cloud: Cloud) -> None:
    subnet = cloud.network()
    _, eni = cloud.instance(subnet)  # takes .2, the lowest free
    assert eni.primary_ip == "172.17.16.2"
    assert cloud.havip(subnet, ip="172.17.16.3").havip.ip == "172.17.16.3"
    assert cloud.havip(subnet).havip.ip == "172.17.16.4"


@pytest.mark.parametrize(
    ("ip", "error", "code"),
    [
        pytest.param("172.17.16.1", InvalidParameter, "InvalidIpAddress.Reserved", id="gateway"),
        pytest.param("172.17.16.255", InvalidParameter, "InvalidIpAddress.Reserved", id="broadcast"),
        pytest.param("172.17.17.3", InvalidParameter, "InvalidIpAddress.OutOfRange", id="outside-subnet"),
        pytest.param("172.17.16.2", Conflict, "InvalidIpAddress.AlreadyUsed", id="an-instances-address"),
        pytest.param("172.17.16.x", InvalidParameter, "InvalidIpAddress.Malformed", id="malformed"),
    ],
)
def test_havip_address_refused(cloud: Cloud, ip: str, error: type[HavipError], code: str) -> None:
    subnet = cloud.network()
    cloud.instance(subnet)
    _code(lambda: cloud.havip(subnet, ip=ip), error, code)


# ---------------------------------------------------------------- idempotency


def _create_vpc(c: Cloud, token: str, name: str = "") -> str:
    return network.create_vpc(c.tenant, cidr="10.9.0.0/16", client_token=token, name=name).id


def _create_subnet(c: Cloud, token: str, name: str = "") -> str:
    vpc_id = network.list_vpcs(c.tenant, Page())[0][0].id
    return network.create_subnet(c.tenant, vpc_id=vpc_id, cidr="172.17.99.0/24", client_token=token, name=name).id


def _create_havip(c: Cloud, token: str, name: str = "") -> str:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return havips.create_havip(c.tenant, subnet_id=subnet.id, client_token=token, name=name).havip.id


def _create_instance(c: Cloud, token: str, name: str = "") -> str:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_instance(c.tenant, subnet_id=subnet.id, client_token=token, name=name)[0].id


def _create_interface(c: Cloud, token: str, name: str = "") -> str:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_interface(c.tenant, subnet_id=subnet.id, client_token=token, name=name).id


def _create_route(c: Cloud, token: str, name: str = "") -> str:
    table = network.list_route_tables(c.tenant, Page())[0][0]
    havip = havips.list_havips(c.tenant, Page())[0][0].havip
    dest = "10.0.0.0/8"
    return routes.create_entry(
        c.tenant,
        route_table_id=table.id,
        destination=dest,
        next_hop_type=NextHopType.HAVIP,
        next_hop_id=havip.id,
        client_token=token,
        name=name,
    ).id


def _allocate_eip(c: Cloud, token: str, name: str = "") -> str:
    return eips.allocate(c.tenant, client_token=token, name=name).id


@pytest.mark.parametrize(
    "create",
    [
        pytest.param(_create_vpc, id="vpc"),
        pytest.param(_create_subnet, id="subnet"),
        pytest.param(_create_havip, id="havip"),
        pytest.param(_create_instance, id="instance"),
        pytest.param(_create_interface, id="interface"),
        pytest.param(_create_route, id="route-entry"),
        pytest.param(_allocate_eip, id="eip"),
    ],
)
def test_create_with_a_client_token_is_idempotent(cloud: Cloud, create: Callable[[Cloud, str], str]) -> None:
    cloud.havip(cloud.network())
    eips.create_pool(cloud.operator, cidr="203.0.113.0/24", documentation_range=True)
    first = create(cloud, "token-1")
    counts = cloud.counts()
    revision = cloud.store.revision
    assert create(cloud, "token-1") == first
    assert cloud.counts() == counts
    assert cloud.store.revision == revision


@pytest.mark.parametrize(
    "create",
    [
        pytest.param(_create_vpc, id="vpc"),
        pytest.param(_create_subnet, id="subnet"),
        pytest.param(_create_havip, id="havip"),
        pytest.param(_create_instance, id="instance"),
        pytest.param(_create_interface, id="interface"),
        pytest.param(_create_route, id="route-entry"),
        pytest.param(_allocate_eip, id="eip"),
    ],
)
def test_client_token_reused_with_other_parameters_is_refused(cloud: Cloud, create: Callable[..., str]) -> None:
    cloud.havip(cloud.network())
    eips.create_pool(cloud.operator, cidr="203.0.113.0/24", documentation_range=True)
    create(cloud, "token-1", name="first")
    counts = cloud.counts()
    revision = cloud.store.revision
    _code(lambda: create(cloud, "token-1", name="second"), InvalidParameter, "InvalidParameter.ClientToken")
    assert cloud.counts() == counts
    assert cloud.store.revision == revision


def test_client_token_is_per_account(cloud: Cloud) -> None:
    other = cloud.other_tenant()
    mine = network.create_vpc(cloud.tenant, cidr="10.0.0.0/16", client_token="t")
    theirs = network.create_vpc(other, cidr="10.0.0.0/16", client_token="t")
    assert mine.id != theirs.id


def test_another_client_token_creates_another_resource(cloud: Cloud) -> None:
    subnet = cloud.network()
    a = havips.create_havip(cloud.tenant, subnet_id=subnet.id, client_token="a").havip
    b = havips.create_havip(cloud.tenant, subnet_id=subnet.id, client_token="b").havip
    assert a.id != b.id


# ---------------------------------------------------------------- failed creates leave nothing


def _havip_on_used_address(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return havips.create_havip(c.tenant, subnet_id=subnet.id, ip="172.17.16.2")


def _havip_over_quota(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    c.set_quota("havips_per_account", 0)
    return havips.create_havip(c.tenant, subnet_id=subnet.id)


def _instance_with_bad_mac(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_instance(c.tenant, subnet_id=subnet.id, mac="01:00:5e:00:00:01")


def _instance_with_reserved_ip(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_instance(c.tenant, subnet_id=subnet.id, primary_ip="172.17.16.254")


def _instance_on_unknown_host(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_instance(c.tenant, subnet_id=subnet.id, placement=Placement(host="nowhere"))


def _interface_with_used_secondary(c: Cloud) -> object:
    subnet = network.list_subnets(c.tenant, Page())[0][0]
    return compute.create_interface(c.tenant, subnet_id=subnet.id, secondary_ips=["172.17.16.5", "172.17.16.2"])


def _overlapping_subnet(c: Cloud) -> object:
    vpc = network.list_vpcs(c.tenant, Page())[0][0]
    return network.create_subnet(c.tenant, vpc_id=vpc.id, cidr="172.17.16.128/25")


def _route_inside_the_vpc(c: Cloud) -> object:
    table = network.list_route_tables(c.tenant, Page())[0][0]
    havip = havips.list_havips(c.tenant, Page())[0][0].havip
    return routes.create_entry(
        c.tenant,
        route_table_id=table.id,
        destination="172.17.0.0/24",
        next_hop_type=NextHopType.HAVIP,
        next_hop_id=havip.id,
    )


@pytest.mark.parametrize(
    ("create", "code"),
    [
        pytest.param(_havip_on_used_address, "InvalidIpAddress.AlreadyUsed", id="havip-used-address"),
        pytest.param(_havip_over_quota, "QuotaExceeded.havips_per_account", id="havip-over-quota"),
        pytest.param(_instance_with_bad_mac, "InvalidMac.Multicast", id="instance-multicast-mac"),
        pytest.param(_instance_with_reserved_ip, "InvalidIpAddress.Reserved", id="instance-reserved-ip"),
        pytest.param(_instance_on_unknown_host, "NotFound.Host", id="instance-unknown-host"),
        pytest.param(_interface_with_used_secondary, "InvalidIpAddress.AlreadyUsed", id="eni-used-secondary"),
        pytest.param(_overlapping_subnet, "InvalidCidrBlock.Overlap", id="subnet-overlap"),
        pytest.param(_route_inside_the_vpc, "InvalidDestinationCidrBlock.OverlapsVpc", id="route-inside-vpc"),
    ],
)
def test_a_failed_create_leaves_nothing_behind(cloud: Cloud, create: Callable[[Cloud], object], code: str) -> None:
    subnet = cloud.network()
    cloud.instance(subnet)  # holds 172.17.16.2
    cloud.havip(subnet)
    before, revision = cloud.counts(), cloud.store.revision
    with pytest.raises(HavipError) as info:
        create(cloud)
    assert info.value.code == code
    after = cloud.counts()
    after["quota_overrides"] = before["quota_overrides"]  # the operator's cut to 0 is not part of the create
    assert after == before
    assert cloud.store.revision == revision


# ---------------------------------------------------------------- tenant isolation


class _Other:
    """Resources of another account, and the default tenant's own."""

    def __init__(self, cloud: Cloud) -> None:
        self.ctx = cloud.other_tenant()
        subnet = cloud.network(self.ctx)
        self.vpc_id, self.subnet_id = subnet.vpc_id, subnet.id
        self.havip_id = cloud.havip(subnet, ctx=self.ctx).havip.id
        self.instance_id = cloud.instance(subnet, ctx=self.ctx)[0].id
        self.eni_id = cloud.eni(subnet, ctx=self.ctx).id
        self.table_id = network.list_route_tables(self.ctx, Page())[0][0].id
        own = cloud.network()
        self.own_havip_id = cloud.havip(own).havip.id
        self.own_table_id = network.list_route_tables(cloud.tenant, Page(), vpc_id=own.vpc_id)[0][0].id


ISOLATION: list[object] = [
    pytest.param(lambda c, o: havips.get_havip(c.tenant, o.havip_id), "NotFound.HaVip", id="get-havip"),
    pytest.param(lambda c, o: havips.update_havip(c.tenant, o.havip_id, name="x"), "NotFound.HaVip", id="update"),
    pytest.param(lambda c, o: havips.delete_havip(c.tenant, o.havip_id), "NotFound.HaVip", id="delete-havip"),
    pytest.param(lambda c, o: havips.list_events(c.tenant, o.havip_id, Page()), "NotFound.HaVip", id="havip-events"),
    pytest.param(
        lambda c, o: havips.create_havip(c.tenant, subnet_id=o.subnet_id), "NotFound.Subnet", id="havip-in-their-subnet"
    ),
    pytest.param(
        lambda c, o: havips.associate(c.tenant, o.havip_id, INST, o.instance_id),
        "NotFound.HaVip",
        id="associate-their-havip",
    ),
    pytest.param(
        lambda c, o: havips.associate(c.tenant, o.own_havip_id, INST, o.instance_id),
        "NotFound.Instance",
        id="associate-their-instance",
    ),
    pytest.param(
        lambda c, o: havips.associate(c.tenant, o.own_havip_id, ENI, o.eni_id),
        "NotFound.NetworkInterface",
        id="associate-their-eni",
    ),
    pytest.param(lambda c, o: network.get_vpc(c.tenant, o.vpc_id), "NotFound.Vpc", id="get-vpc"),
    pytest.param(
        lambda c, o: network.create_subnet(c.tenant, vpc_id=o.vpc_id, cidr="172.17.50.0/24"),
        "NotFound.Vpc",
        id="subnet-in-their-vpc",
    ),
    pytest.param(
        lambda c, o: compute.create_instance(c.tenant, subnet_id=o.subnet_id), "NotFound.Subnet", id="their-subnet"
    ),
    pytest.param(
        lambda c, o: routes.create_entry(
            c.tenant,
            route_table_id=o.table_id,
            destination="10.0.0.0/8",
            next_hop_type=NextHopType.HAVIP,
            next_hop_id=o.havip_id,
        ),
        "NotFound.RouteTable",
        id="route-in-their-table",
    ),
    pytest.param(
        lambda c, o: routes.create_entry(
            c.tenant,
            route_table_id=o.own_table_id,
            destination="10.0.0.0/8",
            next_hop_type=NextHopType.HAVIP,
            next_hop_id=o.havip_id,
        ),
        "NotFound.HaVip",
        id="route-to-their-havip",
    ),
]


@pytest.mark.parametrize(("call", "code"), ISOLATION)
def test_another_accounts_ids_are_not_found(cloud: Cloud, call: Callable[[Cloud, _Other], object], code: str) -> None:
    other = _Other(cloud)
    before = cloud.counts()
    _code(lambda: call(cloud, other), NotFound, code)
    assert cloud.counts() == before


def test_listings_show_only_the_callers_account(cloud: Cloud) -> None:
    other = _Other(cloud)
    mine, total = havips.list_havips(cloud.tenant, Page())
    assert [v.havip.id for v in mine] == [other.own_havip_id] and total == 1
    theirs, _ = havips.list_havips(cloud.tenant, Page(), account_id=other.ctx.principal.account_id)
    assert theirs == []
    everything, total = havips.list_havips(cloud.operator, Page())
    assert total == 2 and len(everything) == 2


def test_operator_acts_on_any_account(cloud: Cloud) -> None:
    other = _Other(cloud)
    view = havips.update_havip(cloud.operator, other.havip_id, name="renamed")
    assert view.havip.name == "renamed"
    ctx: Ctx = other.ctx
    assert havips.get_havip(ctx, other.havip_id).havip.name == "renamed"


def test_client_token_of_a_deleted_resource_creates_a_new_one(cloud: Cloud) -> None:
    subnet = cloud.network()
    first = havips.create_havip(cloud.tenant, subnet_id=subnet.id, client_token="t").havip.id
    havips.delete_havip(cloud.tenant, first)
    again = havips.create_havip(cloud.tenant, subnet_id=subnet.id, client_token="t").havip.id
    assert again != first
    assert havips.create_havip(cloud.tenant, subnet_id=subnet.id, client_token="t").havip.id == again
