"""Small desired states for the agent's tests: builders of the domain's one model.

``Iface``, ``Vip``, ``Eip``, ``Route`` and ``State`` build ``havip.domain.desired`` values
with the defaults the tests share (subnet ``vsw-1``, host ``h1``, two VPCs); the kernel
tier uses the same builders (``tests/kernel/states.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from havip.domain.desired import (
    DesiredEip,
    DesiredHaVip,
    DesiredInterface,
    DesiredRoute,
    DesiredState,
    DesiredSubnet,
)

VPCS = {"vpc-1": "10.0.0.0/24", "vpc-2": "10.0.0.0/24"}


def Iface(
    id: str, vpc_id: str, mac: str, device: str | None, addresses: Sequence[str], subnet_id: str = "vsw-1"
) -> DesiredInterface:
    return DesiredInterface(
        id=id, vpc_id=vpc_id, subnet_id=subnet_id, mac=mac, device=device, addresses=list(addresses)
    )


def Vip(
    id: str,
    vpc_id: str,
    ip: str,
    claimants: Sequence[str],
    holder_interface_id: str | None = None,
    holder_host: str | None = None,
    subnet_id: str = "vsw-1",
) -> DesiredHaVip:
    return DesiredHaVip(
        id=id,
        vpc_id=vpc_id,
        subnet_id=subnet_id,
        ip=ip,
        claimants=list(claimants),
        holder_interface_id=holder_interface_id,
        holder_host=holder_host,
    )


def Eip(
    ip: str, vpc_id: str, private_ip: str, havip_id: str | None = None, network_interface_id: str | None = None
) -> DesiredEip:
    return DesiredEip(
        id=f"eip-{ip}",
        ip=ip,
        vpc_id=vpc_id,
        private_ip=private_ip,
        havip_id=havip_id,
        network_interface_id=network_interface_id,
    )


def Route(
    id: str,
    vpc_id: str,
    destination: str,
    next_hop_type: str,
    next_hop_id: str,
    next_hop_interface_id: str | None = None,
    next_hop_ip: str | None = None,
) -> DesiredRoute:
    return DesiredRoute(
        id=id,
        vpc_id=vpc_id,
        destination=destination,
        next_hop_type=next_hop_type,
        next_hop_id=next_hop_id,
        next_hop_interface_id=next_hop_interface_id,
        next_hop_ip=next_hop_ip,
    )


def State(
    interfaces: Sequence[DesiredInterface],
    havips: Sequence[DesiredHaVip] = (),
    revision: int = 1,
    host: str = "h1",
    vpcs: Mapping[str, str] | None = None,
    eips: Sequence[DesiredEip] = (),
    routes: Sequence[DesiredRoute] = (),
    subnets: Sequence[DesiredSubnet] = (),
) -> DesiredState:
    return DesiredState(
        revision=revision,
        host=host,
        vpcs=dict(VPCS if vpcs is None else vpcs),
        subnets=list(subnets),
        interfaces=list(interfaces),
        havips=list(havips),
        routes=list(routes),
        eips=list(eips),
    )


def two_ports(holder: str | None = "eni-1", holder_host: str | None = "h1") -> DesiredState:
    return State(
        interfaces=[
            Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "p1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-1", "52:54:00:00:00:02", "p2", ["10.0.0.12"]),
        ],
        havips=[Vip("havip-1", "vpc-1", "10.0.0.3", ["eni-1", "eni-2"], holder, holder_host)],
    )
