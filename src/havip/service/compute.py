"""Hosts, instances and network interfaces (ENIs).

An instance is created with its primary network interface in one transaction. An
interface's placement (host and device) tells the host's agent which port is its. A
host's underlay address (unique among hosts) is where the other hosts of its VPCs send
their tunnelled traffic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from havip.domain import ids, rules
from havip.domain.dependencies import Deletable, Dependent, check_deletable
from havip.domain.errors import Conflict, InvalidParameter, NotFound
from havip.domain.model import AgentState, Host, Instance, NetworkInterface, Role, agent_state
from havip.service.accounts import IssuedKey, issue_key
from havip.service.common import check_client_token, group_by, release_addresses, remember, replay, take_address
from havip.service.context import Ctx, Page, check_region, get_owned, require_operator, scope_filters
from havip.service.havips import drop_holder
from havip.service.ports import UnitOfWork

# ---------------------------------------------------------------- hosts


def create_host(
    ctx: Ctx, *, name: str, region: str | None = None, description: str = "", underlay: str | None = None
) -> tuple[Host, IssuedKey]:
    """Register a host (with its underlay address, when it has one); returns its agent credential (shown once)."""
    require_operator(ctx)
    rules.check_host_name(name)
    rules.check_description(description)
    region = check_region(ctx, region)
    address = rules.check_underlay(underlay) if underlay else None
    with ctx.uow(write=True) as uow:
        if uow.hosts.count(name=name):
            raise Conflict(f"a host named {name!r} already exists", code="InvalidName.Duplicate")
        if address is not None:
            _check_underlay_free(uow, address, None)
        host = Host(ids.new_id("host"), name, region, description, ctx.now(), underlay=address)
        uow.hosts.add(host)
        key = issue_key(uow, Role.AGENT, host_id=host.id, description=f"agent of host {name}")
        uow.commit()
        return host, key


def update_host(ctx: Ctx, ref: str, *, description: str | None = None, underlay: str | None = None) -> Host:
    """Change a host's description or underlay address (``underlay=""`` removes it).

    A new underlay address changes the desired state of the host and of every host that
    shares a VPC with it (their tunnel towards it), so it touches them all."""
    require_operator(ctx)
    if description is not None:
        rules.check_description(description)
    address = rules.check_underlay(underlay) if underlay else None  # "" (and None: unchanged) give None
    with ctx.uow(write=True) as uow:
        host = resolve_host(uow, ref)
        if description is not None:
            host.description = description
        if underlay is not None and address != host.underlay:
            if address is not None:
                _check_underlay_free(uow, address, host.id)
            host.underlay = address
            touch_host_and_peers(uow, host)
        uow.commit()
        return host


def touch_host_and_peers(uow: UnitOfWork, host: Host) -> None:
    """A change of ``host`` itself (its underlay, its name) changes its own desired state and
    that of every host sharing a VPC with it (their peers and remote interfaces)."""
    vpcs = {e.vpc_id for e in uow.interfaces.find(host_id=host.id)}
    uow.touch(vpc_ids=vpcs, host_ids=[host.id])


def _check_underlay_free(uow: UnitOfWork, address: str, host_id: str | None) -> None:
    clash = [h for h in uow.hosts.find(underlay=address) if h.id != host_id]
    if clash:
        raise Conflict(
            f"underlay address {address} is already the underlay of host {clash[0].name}",
            code="InvalidUnderlay.InUse",
        )


@dataclass(frozen=True, kw_only=True)
class AgentHealth:
    """What a host's agent last told the control plane, judged now."""

    state: AgentState
    last_seen_at: dt.datetime | None
    version: str | None
    applied_revision: int | None
    in_sync: bool
    """The agent is up and has applied its host's newest revision of the desired state."""


def agent_health(ctx: Ctx, host: Host) -> AgentHealth:
    state = agent_state(host.agent_seen_at, ctx.now(), ctx.settings.agent_lease)
    return AgentHealth(
        state=state,
        last_seen_at=host.agent_seen_at,
        version=host.agent_version,
        applied_revision=host.applied_revision,
        in_sync=state is AgentState.UP and host.applied_revision == host.revision,
    )


def list_hosts(ctx: Ctx, page: Page) -> tuple[list[tuple[Host, AgentHealth]], int]:
    scope_filters(ctx)  # tenants may see host names to place interfaces
    with ctx.uow() as uow:
        hosts = uow.hosts.find(limit=page.limit, offset=page.offset)
        return [(h, agent_health(ctx, h)) for h in hosts], uow.hosts.count()


def resolve_host(uow: UnitOfWork, ref: str) -> Host:
    host = uow.hosts.get(ref)
    if host is None:
        found = uow.hosts.find(name=ref, limit=1)
        if not found:
            raise NotFound("Host", ref)
        host = found[0]
    return host


def get_host(ctx: Ctx, ref: str) -> tuple[Host, AgentHealth]:
    scope_filters(ctx)
    with ctx.uow() as uow:
        host = resolve_host(uow, ref)
        return host, agent_health(ctx, host)


def delete_host(ctx: Ctx, ref: str) -> None:
    require_operator(ctx)
    with ctx.uow(write=True) as uow:
        host = resolve_host(uow, ref)
        check_deletable(
            Deletable.HOST, host.name, {Dependent.NETWORK_INTERFACES: uow.interfaces.count(host_id=host.id)}
        )
        for key in uow.api_keys.find(host_id=host.id):
            uow.api_keys.remove(key)
        # it has no interfaces, so no peers; a HaVip may still name it as its holder's host
        holding = {h.vpc_id for h in uow.havips.find(holder_host_id=host.id)}
        uow.hosts.remove(host)
        uow.touch(vpc_ids=holding)
        uow.commit()


# ---------------------------------------------------------------- interfaces


@dataclass(frozen=True)
class Placement:
    host: str | None = None  # host id or name
    device: str | None = None


def _place(uow: UnitOfWork, eni: NetworkInterface, placement: Placement) -> None:
    host_id = eni.host_id
    device = eni.device
    if placement.host is not None:
        host_id = resolve_host(uow, placement.host).id if placement.host else None
    if placement.device is not None:
        device = rules.check_device(placement.device) if placement.device else None
    if device and host_id and (host_id, device) != (eni.host_id, eni.device):
        clash = [o for o in uow.interfaces.find(host_id=host_id, device=device) if o.id != eni.id]
        if clash:
            raise Conflict(
                f"device {device} on this host already belongs to network interface {clash[0].id}",
                code="InvalidDevice.AlreadyUsed",
            )
    if host_id != eni.host_id:
        for havip in uow.havips.find(holder_interface_id=eni.id):
            havip.holder_host_id = host_id  # the holder moved with its interface
    eni.host_id, eni.device = host_id, device


def _check_mac_free(uow: UnitOfWork, mac: str) -> str:
    mac = rules.check_mac(mac)
    if uow.interfaces.count(mac=mac):
        raise Conflict(f"MAC address {mac} is already used by another network interface", code="InvalidMac.AlreadyUsed")
    return mac


def _fresh_mac(uow: UnitOfWork) -> str:
    while True:
        mac = ids.new_mac()
        if not uow.interfaces.count(mac=mac):
            return mac


def _new_interface(
    ctx: Ctx,
    uow: UnitOfWork,
    *,
    subnet_id: str,
    primary_ip: str | None,
    secondary_ips: list[str],
    mac: str | None,
    instance_id: str | None,
    primary: bool,
    placement: Placement,
    name: str,
    description: str,
) -> NetworkInterface:
    subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
    eni = NetworkInterface(
        id=ids.new_id("network_interface"),
        account_id=subnet.account_id,
        region=subnet.region,
        vpc_id=subnet.vpc_id,
        subnet_id=subnet.id,
        primary_ip="",
        mac=_check_mac_free(uow, mac) if mac else _fresh_mac(uow),
        instance_id=instance_id,
        primary=primary,
        name=rules.check_name(name),
        description=rules.check_description(description),
        created_at=ctx.now(),
    )
    eni.primary_ip = take_address(
        uow, subnet, primary_ip, "network_interface", eni.id, "primary IP address", ctx.address_rule
    )
    eni.secondary_ips = [
        take_address(uow, subnet, ip, "network_interface", eni.id, "secondary IP address", ctx.address_rule)
        for ip in secondary_ips
    ]
    _place(uow, eni, placement)
    uow.interfaces.add(eni)
    return eni


def create_interface(
    ctx: Ctx,
    *,
    subnet_id: str,
    primary_ip: str | None = None,
    secondary_ips: list[str] | None = None,
    mac: str | None = None,
    instance_id: str | None = None,
    placement: Placement = Placement(),
    name: str = "",
    description: str = "",
    client_token: str | None = None,
) -> NetworkInterface:
    scope_filters(ctx)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
        if (
            again := replay(
                uow,
                subnet.account_id,
                "create_interface",
                token,
                uow.interfaces,
                dict(
                    subnet_id=subnet.id,
                    primary_ip=primary_ip,
                    mac=mac,
                    instance_id=instance_id,
                    name=name,
                    description=description,
                ),
            )
        ) is not None:
            return again
        if instance_id is not None:
            inst = get_owned(ctx, uow.instances, "Instance", instance_id)
            if inst.vpc_id != subnet.vpc_id:
                raise InvalidParameter(
                    f"instance {inst.id} is in VPC {inst.vpc_id}, the subnet in {subnet.vpc_id}; "
                    "an interface can only be attached to an instance of its own VPC",
                    code="InvalidInstance.VpcMismatch",
                )
        eni = _new_interface(
            ctx,
            uow,
            subnet_id=subnet_id,
            primary_ip=primary_ip,
            secondary_ips=list(secondary_ips or []),
            mac=mac,
            instance_id=instance_id,
            primary=False,
            placement=placement,
            name=name,
            description=description,
        )
        remember(uow, subnet.account_id, "create_interface", token, eni.id)
        uow.touch(vpc_ids=[eni.vpc_id])
        uow.commit()
        return eni


def list_interfaces(
    ctx: Ctx,
    page: Page,
    account_id: str | None = None,
    subnet_id: str | None = None,
    vpc_id: str | None = None,
    instance_id: str | None = None,
) -> tuple[list[NetworkInterface], int]:
    f = scope_filters(ctx, account_id)
    for key, value in (("subnet_id", subnet_id), ("vpc_id", vpc_id), ("instance_id", instance_id)):
        if value:
            f[key] = value
    with ctx.uow() as uow:
        return uow.interfaces.find(limit=page.limit, offset=page.offset, **f), uow.interfaces.count(**f)


def get_interface(ctx: Ctx, eni_id: str) -> NetworkInterface:
    scope_filters(ctx)
    with ctx.uow() as uow:
        return get_owned(ctx, uow.interfaces, "NetworkInterface", eni_id)


def update_interface(
    ctx: Ctx,
    eni_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    placement: Placement = Placement(),
    secondary_ips: list[str] | None = None,
) -> NetworkInterface:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        eni = get_owned(ctx, uow.interfaces, "NetworkInterface", eni_id)
        if name is not None:
            eni.name = rules.check_name(name)
        if description is not None:
            eni.description = rules.check_description(description)
        was_on = eni.host_id
        _place(uow, eni, placement)
        if secondary_ips is not None:
            subnet = get_owned(ctx, uow.subnets, "Subnet", eni.subnet_id)
            wanted = rules.check_secondary_ips(eni.primary_ip, secondary_ips)
            release_addresses(uow, eni.id, keep=lambda ip: ip == eni.primary_ip or ip in wanted)
            uow.flush()
            kept = set(eni.secondary_ips) & set(wanted)
            eni.secondary_ips = [
                ip
                if ip in kept
                else take_address(
                    uow, subnet, ip, "network_interface", eni.id, "secondary IP address", ctx.address_rule
                )
                for ip in wanted
            ]
        uow.touch(vpc_ids=[eni.vpc_id], host_ids=[was_on] if was_on else [])  # the host it left, too
        uow.commit()
        return eni


def check_interface_free(uow: UnitOfWork, eni: NetworkInterface) -> None:
    """Nothing may depend on an interface that is deleted."""
    check_deletable(
        Deletable.NETWORK_INTERFACE,
        eni.id,
        {
            Dependent.HAVIP_MEMBERSHIPS: uow.members.count(member_id=eni.id),
            Dependent.EIPS: uow.eips.count(network_interface_id=eni.id),
            Dependent.NEXT_HOP_OF: uow.route_entries.count(next_hop_id=eni.id),
        },
    )


def _drop_interface(ctx: Ctx, uow: UnitOfWork, eni: NetworkInterface) -> None:
    for havip in uow.havips.find(holder_interface_id=eni.id):
        drop_holder(uow, havip, ctx.now(), "the holding network interface was deleted")
    release_addresses(uow, eni.id)
    uow.interfaces.remove(eni)


def delete_interface(ctx: Ctx, eni_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        eni = get_owned(ctx, uow.interfaces, "NetworkInterface", eni_id)
        if eni.primary:
            raise Conflict(
                f"network interface {eni.id} is the primary interface of instance {eni.instance_id}; "
                "delete the instance instead",
                code="Conflict.PrimaryInterface",
            )
        check_interface_free(uow, eni)
        _drop_interface(ctx, uow, eni)
        uow.touch(vpc_ids=[eni.vpc_id], host_ids=[eni.host_id] if eni.host_id else [])
        uow.commit()


# ---------------------------------------------------------------- instances


def create_instance(
    ctx: Ctx,
    *,
    subnet_id: str,
    primary_ip: str | None = None,
    mac: str | None = None,
    placement: Placement = Placement(),
    name: str = "",
    client_token: str | None = None,
) -> tuple[Instance, NetworkInterface]:
    scope_filters(ctx)
    token = check_client_token(client_token)
    with ctx.uow(write=True) as uow:
        subnet = get_owned(ctx, uow.subnets, "Subnet", subnet_id)
        if (
            again := replay(
                uow, subnet.account_id, "create_instance", token, uow.instances, dict(subnet_id=subnet.id, name=name)
            )
        ) is not None:
            return again, uow.interfaces.find(instance_id=again.id, primary=True)[0]
        inst = Instance(
            ids.new_id("instance"),
            subnet.account_id,
            subnet.region,
            subnet.vpc_id,
            subnet.id,
            rules.check_name(name),
            created_at=ctx.now(),
        )
        uow.instances.add(inst)
        eni = _new_interface(
            ctx,
            uow,
            subnet_id=subnet.id,
            primary_ip=primary_ip,
            secondary_ips=[],
            mac=mac,
            instance_id=inst.id,
            primary=True,
            placement=placement,
            name=f"{(name or inst.id)[: rules.NAME_MAX - len(' primary')]} primary",  # within NAME_MAX
            description="",
        )
        remember(uow, subnet.account_id, "create_instance", token, inst.id)
        uow.touch(vpc_ids=[inst.vpc_id])
        uow.commit()
        return inst, eni


def list_instances(
    ctx: Ctx, page: Page, account_id: str | None = None, subnet_id: str | None = None, vpc_id: str | None = None
) -> tuple[list[tuple[Instance, list[NetworkInterface]]], int]:
    """A page of instances, each with its interfaces (one query for the whole page's interfaces)."""
    f = scope_filters(ctx, account_id)
    for key, value in (("subnet_id", subnet_id), ("vpc_id", vpc_id)):
        if value:
            f[key] = value
    with ctx.uow() as uow:
        items = uow.instances.find(limit=page.limit, offset=page.offset, **f)
        enis = uow.interfaces.find(instance_id=[i.id for i in items]) if items else []
        of = group_by(enis, lambda e: e.instance_id)
        return [(i, of.get(i.id, [])) for i in items], uow.instances.count(**f)


def get_instance(ctx: Ctx, instance_id: str) -> tuple[Instance, list[NetworkInterface]]:
    scope_filters(ctx)
    with ctx.uow() as uow:
        inst = get_owned(ctx, uow.instances, "Instance", instance_id)
        return inst, uow.interfaces.find(instance_id=inst.id)


def update_instance(ctx: Ctx, instance_id: str, *, name: str | None = None) -> Instance:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        inst = get_owned(ctx, uow.instances, "Instance", instance_id)
        if name is not None:
            inst.name = rules.check_name(name)
        uow.commit()
        return inst


def delete_instance(ctx: Ctx, instance_id: str) -> None:
    scope_filters(ctx)
    with ctx.uow(write=True) as uow:
        inst = get_owned(ctx, uow.instances, "Instance", instance_id)
        enis = uow.interfaces.find(instance_id=inst.id)
        check_deletable(
            Deletable.INSTANCE,
            inst.id,
            {
                Dependent.HAVIP_MEMBERSHIPS: uow.members.count(member_id=inst.id),
                Dependent.NEXT_HOP_OF: uow.route_entries.count(next_hop_id=inst.id),
                Dependent.SECONDARY_INTERFACES: sum(1 for e in enis if not e.primary),
            },
        )
        for eni in enis:
            check_interface_free(uow, eni)
            _drop_interface(ctx, uow, eni)
        uow.instances.remove(inst)
        uow.touch(vpc_ids=[inst.vpc_id], host_ids=[str(e.host_id) for e in enis if e.host_id])
        uow.commit()
