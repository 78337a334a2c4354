"""Every product limit, reached and passed through the use cases, then raised by an operator."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest

from havip.domain.errors import Forbidden, QuotaExceeded
from havip.domain.model import MemberType, NextHopType
from havip.service import accounts, eips, havips, network, routes
from havip.service.context import Ctx, Page

from .builders import Cloud

pytestmark = pytest.mark.unit

AddOne = Callable[[], object]


def _havips_per_account(c: Cloud) -> AddOne:
    a, b = c.network(), c.network(vpc_cidr="10.1.0.0/16")
    for subnet in (a, a, a, b, b):  # 5 in the account, at most 3 in one VPC
        c.havip(subnet)
    return lambda: c.havip(b)


def _havips_per_vpc(c: Cloud) -> AddOne:
    c.set_quota("havips_per_account", 100)  # so that the per-VPC quota is the one that bites
    a, b = c.network(), c.network(vpc_cidr="10.1.0.0/16")
    for _ in range(5):
        c.havip(a)
    c.havip(b)  # another VPC has its own count
    return lambda: c.havip(a)


def _havips_per_member(member_type: MemberType) -> Callable[[Cloud], AddOne]:
    def scenario(c: Cloud) -> AddOne:
        c.set_quota("havips_per_account", 100)
        c.set_quota("havips_per_vpc", 100)
        subnet = c.network()
        member = c.instance(subnet)[0].id if member_type is MemberType.INSTANCE else c.eni(subnet).id
        add: AddOne = lambda: havips.associate(c.tenant, c.havip(subnet).havip.id, member_type, member)  # noqa: E731
        for _ in range(5):
            add()
        return add

    return scenario


def _members_per_havip(c: Cloud) -> AddOne:
    subnet = c.network()
    havip_id = c.havip(subnet).havip.id
    add: AddOne = lambda: havips.associate(c.tenant, havip_id, MemberType.INSTANCE, c.instance(subnet)[0].id)  # noqa: E731
    for _ in range(10):
        add()
    return add


def _eips_per_havip(c: Cloud) -> AddOne:
    eips.create_pool(c.operator, cidr="203.0.113.0/24", documentation_range=True)
    havip_id = c.havip(c.network()).havip.id
    add: AddOne = lambda: eips.associate(c.tenant, eips.allocate(c.tenant).id, havip_id=havip_id)  # noqa: E731
    add()
    return add


def _havip_routes_per_table(c: Cloud) -> AddOne:
    subnet = c.network()
    havip_id = c.havip(subnet).havip.id
    table = network.list_route_tables(c.tenant, Page(), vpc_id=subnet.vpc_id)[0][0]
    n = itertools.count()

    def add(kind: NextHopType = NextHopType.HAVIP, hop: str = havip_id) -> object:
        dest = f"10.{next(n)}.0.0/16"
        return routes.create_entry(
            c.tenant, route_table_id=table.id, destination=dest, next_hop_type=kind, next_hop_id=hop
        )

    add(NextHopType.INSTANCE, c.instance(subnet)[0].id)  # routes to other next hops do not count
    for _ in range(5):
        add()
    return add


LIMITS = [
    pytest.param("havips_per_account", 5, _havips_per_account, id="havips_per_account"),
    pytest.param("havips_per_vpc", 5, _havips_per_vpc, id="havips_per_vpc"),
    pytest.param("havips_per_member", 5, _havips_per_member(MemberType.INSTANCE), id="havips_per_instance"),
    pytest.param("havips_per_member", 5, _havips_per_member(MemberType.NETWORK_INTERFACE), id="havips_per_eni"),
    pytest.param("members_per_havip", 10, _members_per_havip, id="members_per_havip"),
    pytest.param("eips_per_havip", 1, _eips_per_havip, id="eips_per_havip"),
    pytest.param("havip_routes_per_table", 5, _havip_routes_per_table, id="havip_routes_per_table"),
]


@pytest.mark.parametrize(("quota", "limit", "scenario"), LIMITS)
def test_limit_at_and_over_then_raised_by_an_operator(
    cloud: Cloud, quota: str, limit: int, scenario: Callable[[Cloud], AddOne]
) -> None:
    add_one = scenario(cloud)  # reached the limit without an error

    with pytest.raises(QuotaExceeded) as info:
        add_one()
    assert (info.value.code, info.value.limit) == (f"QuotaExceeded.{quota}", limit)

    view = accounts.set_quota(cloud.operator, cloud.account_id, quota, limit + 1)
    assert (view.default, view.value) == (limit, limit + 1)
    add_one()

    with pytest.raises(QuotaExceeded) as info:
        add_one()
    assert (info.value.code, info.value.limit) == (f"QuotaExceeded.{quota}", limit + 1)


def test_raising_a_quota_twice_keeps_one_override(cloud: Cloud) -> None:
    cloud.set_quota("havips_per_vpc", 7)
    cloud.set_quota("havips_per_vpc", 9)
    shown = {q.name: q.value for q in accounts.list_quotas(cloud.tenant)}
    assert shown["havips_per_vpc"] == 9
    with cloud.store.uow() as uow:
        assert uow.quota_overrides.count(account_id=cloud.account_id, name="havips_per_vpc") == 1


def test_quota_of_one_account_does_not_raise_anothers(cloud: Cloud) -> None:
    other = cloud.other_tenant()
    assert other.principal.account_id is not None
    cloud.set_quota("havips_per_account", 50, account_id=other.principal.account_id)
    shown = {q.name: q.value for q in accounts.list_quotas(cloud.tenant)}
    assert shown["havips_per_account"] == 5


def test_list_quotas_shows_havip_usage(cloud: Cloud) -> None:
    subnet = cloud.network()
    cloud.havip(subnet)
    cloud.havip(subnet)
    shown = {q.name: q for q in accounts.list_quotas(cloud.tenant)}
    assert (shown["havips_per_account"].used, shown["havips_per_account"].value) == (2, 5)


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("tenant", id="tenant"),
        pytest.param("agent", id="agent"),
    ],
)
def test_only_an_operator_sets_quotas(cloud: Cloud, who: str) -> None:
    ctx: Ctx = cloud.tenant if who == "tenant" else cloud.host("h1")[1]
    with pytest.raises(Forbidden) as info:
        accounts.set_quota(ctx, cloud.account_id, "havips_per_account", 50)
    assert info.value.code == "Forbidden.OperatorOnly"
    shown = {q.name: q.value for q in accounts.list_quotas(cloud.tenant)}
    assert shown["havips_per_account"] == 5


def test_concurrent_creates_cannot_pass_a_quota(cloud: Cloud) -> None:
    subnet = cloud.network()
    outcomes: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            cloud.havip(subnet)
            result = "created"
        except QuotaExceeded as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["QuotaExceeded.havips_per_account"] * 7 + ["created"] * 5
    assert havips.list_havips(cloud.tenant, Page())[1] == 5
