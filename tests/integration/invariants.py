"""What must hold in a store whatever happened to it: races, kills, refused requests.

``check_consistent`` reads the whole store through one unit of work (one snapshot)
and fails on the first broken invariant: an address with two owners or none, an
owner without its address, a member of something missing, a HaVip whose status
does not match its members, an association without its event, a client token that
names nothing, an instance without its primary interface.
"""

from __future__ import annotations

from collections.abc import Mapping

from havip.domain.model import HaVipStatus
from havip.store import Store


def check_consistent(store: Store, *, tokens_name_resources: bool = True) -> dict[str, int]:
    """Every invariant of the whole store; returns how many HaVips, instances, members there are.

    ``tokens_name_resources``: every client token names an existing resource (false
    once resources were deleted: a token keeps naming what it made).
    """
    with store.uow() as uow:
        havips = {h.id: h for h in uow.havips.find()}
        enis = {e.id: e for e in uow.interfaces.find()}
        instances = {i.id: i for i in uow.instances.find()}
        eips = {e.id: e for e in uow.eips.find()}
        members = uow.members.find()
        allocations = uow.allocations.find()
        tokens = uow.idempotency.find()
        events = uow.events.find(kind=["associated", "unassociated"])
        vpcs = uow.vpcs.find()
        others = {v.id for v in vpcs} | {s.id for s in uow.subnets.find()}
        underlays = [h.underlay for h in uow.hosts.find() if h.underlay is not None]
    assert len({v.vni for v in vpcs}) == len(vpcs), "two VPCs with one VNI"
    assert all(v.vni is not None and 1 <= v.vni < 2**24 for v in vpcs), "a VPC without a valid VNI"
    assert len(set(underlays)) == len(underlays), "two hosts with one underlay address"
    owners: dict[str, Mapping[str, object]] = {"havip": havips, "network_interface": enis, "eip": eips}
    owned = {(a.owner_type, a.owner_id, a.ip) for a in allocations}
    assert len({(a.subnet_id, a.ip) for a in allocations}) == len(allocations), "an address with two owners"
    for a in allocations:
        owner = owners[a.owner_type].get(a.owner_id)
        assert owner is not None, f"allocation {a.ip} of a missing {a.owner_type} {a.owner_id}"
        ips = [owner.primary_ip, *owner.secondary_ips] if a.owner_type == "network_interface" else [owner.ip]  # type: ignore[attr-defined]
        assert a.ip in ips, f"allocation {a.ip} of {a.owner_id}, which does not have it"
    for h in havips.values():
        assert ("havip", h.id, h.ip) in owned, f"HaVip {h.id} without its address"
    for eip in eips.values():
        assert ("eip", eip.id, eip.ip) in owned, f"EIP {eip.id} without its address"
        assert eip.havip_id is None or eip.havip_id in havips, f"EIP {eip.id} on a missing HaVip"
    for e in enis.values():
        for ip in (e.primary_ip, *e.secondary_ips):
            assert ("network_interface", e.id, ip) in owned, f"interface {e.id} without its address {ip}"
        assert e.instance_id is None or e.instance_id in instances, f"interface {e.id} of a missing instance"
    for i in instances.values():
        assert any(e.instance_id == i.id and e.primary for e in enis.values()), f"instance {i.id} without its interface"
    by_havip: dict[str, int] = {}
    for mem in members:
        targets = instances if mem.member_type.value == "instance" else enis
        assert mem.havip_id in havips and mem.member_id in targets, f"member {mem.id} of something missing"
        by_havip[mem.havip_id] = by_havip.get(mem.havip_id, 0) + 1
    history: dict[str, int] = {}
    for ev in events:
        history[ev.havip_id] = history.get(ev.havip_id, 0) + (1 if ev.kind.value == "associated" else -1)
    for h in havips.values():
        count = by_havip.get(h.id, 0)
        want = HaVipStatus.IN_USE if count else HaVipStatus.AVAILABLE
        assert h.status is want, f"HaVip {h.id} is {h.status} with {count} members"
        assert history.get(h.id, 0) == count, f"HaVip {h.id}: {count} members but its history says {history.get(h.id)}"
        assert h.holder_interface_id is None or h.holder_interface_id in enis, (
            f"HaVip {h.id} held by a missing interface"
        )
    if tokens_name_resources:
        known = havips.keys() | instances.keys() | enis.keys() | eips.keys() | others
        for t in tokens:
            assert t.resource_id in known, f"client token {t.token} names nothing"
    return {"havips": len(havips), "instances": len(instances), "members": len(members), "eips": len(eips)}
