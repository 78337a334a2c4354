"""service.lookups: the describe filters of the facades, scoped as the native listings are."""

from __future__ import annotations

from typing import Any

import pytest

from havip.domain.errors import Conflict
from havip.domain.model import MemberType, NextHopType
from havip.service import eips, havips, lookups, routes
from havip.service.context import Page

from .builders import Cloud

pytestmark = pytest.mark.unit


def test_havips_by_member_eip_and_ids_are_anded(cloud: Cloud) -> None:
    cloud.set_quota("havips_per_account", 10)
    subnet = cloud.network()
    inst, _ = cloud.instance(subnet)
    a, b, c = (cloud.havip(subnet).havip.id for _ in range(3))
    for havip in (a, b):
        havips.associate(cloud.tenant, havip, MemberType.INSTANCE, inst.id)
    eips.create_pool(cloud.operator, cidr="203.0.113.0/28", documentation_range=True)
    eip = eips.allocate(cloud.tenant)
    eips.associate(cloud.tenant, eip.id, havip_id=b)

    def ids(**filters: Any) -> set[str]:
        views, total = lookups.havip_views(cloud.tenant, Page(), **filters)
        assert total == len(views)
        return {v.havip.id for v in views}

    assert ids() == {a, b, c}
    assert ids(member_ids=[inst.id]) == {a, b}
    assert ids(member_type=MemberType.NETWORK_INTERFACE) == set()
    assert ids(eip_ips=[eip.ip]) == {b}
    assert ids(member_ids=[inst.id], ids=[a, c]) == {a}
    assert ids(member_ids=[inst.id], eip_ips=["198.51.100.1"]) == set()


def test_another_account_sees_none_of_it(cloud: Cloud) -> None:
    subnet = cloud.network()
    cloud.havip(subnet)
    other = cloud.other_tenant()
    assert lookups.havip_views(other, Page()) == ([], 0)
    assert lookups.subnets(other, Page(), ids=[subnet.id]) == ([], 0)
    assert lookups.vpcs(other, Page()) == ([], 0)


def test_eips_by_association(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip = cloud.havip(subnet).havip.id
    eips.create_pool(cloud.operator, cidr="203.0.113.0/28", documentation_range=True)
    free, bound = eips.allocate(cloud.tenant), eips.allocate(cloud.tenant)
    eips.associate(cloud.tenant, bound.id, havip_id=havip)
    assert [e.id for e in lookups.eips(cloud.tenant, Page(), associated=True)[0]] == [bound.id]
    assert [e.id for e in lookups.eips(cloud.tenant, Page(), associated=False)[0]] == [free.id]
    assert lookups.eip_of_havip(cloud.tenant, havip).id == bound.id
    eips.unassociate(cloud.tenant, bound.id)
    with pytest.raises(Conflict) as info:
        lookups.eip_of_havip(cloud.tenant, havip)
    assert info.value.code == "IncorrectEipStatus"


def test_address_counts_leave_out_reserved_and_taken(cloud: Cloud) -> None:
    subnet = cloud.network()  # a /24: 256 addresses, 5 reserved
    cloud.instance(subnet)
    cloud.havip(subnet)
    assert lookups.address_counts(cloud.tenant, [subnet]) == {subnet.id: (251, 249)}


def test_route_entries_by_destination(cloud: Cloud) -> None:
    subnet = cloud.network()
    havip = cloud.havip(subnet).havip.id
    [table], _ = lookups.route_tables(cloud.tenant, Page(), vpc_ids=[subnet.vpc_id])
    entry = routes.create_entry(
        cloud.tenant,
        route_table_id=table.id,
        destination="10.8.0.0/16",
        next_hop_type=NextHopType.HAVIP,
        next_hop_id=havip,
    )
    found, total = lookups.route_entries(cloud.tenant, table_ids=[table.id], destination="10.8.0.0/16")
    assert ([e.id for e in found], total) == ([entry.id], 1)
    assert lookups.route_entries(cloud.tenant, Page(), table_ids=[table.id], destination="10.9.0.0/16") == ([], 0)
