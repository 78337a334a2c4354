"""The desired state of one host: what the control plane wants its agent to build.

One model for the whole system: the control plane derives it from the store
(``service.agents.desired_state``), the API sends it as ``contract.agents.DesiredState``
(pydantic only at the wire: ``to_domain`` turns it back into this), and the agent builds
the host's kernel state from it (``agent.desired.build_desired``). Records of more than
four fields are keyword-only. Pure values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class DesiredInterface:
    id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None = None
    mac: str
    device: str | None = None  # the host's device for it; None: the agent creates a veth
    addresses: list[str]


@dataclass(frozen=True)
class DesiredSubnet:
    id: str
    vpc_id: str
    cidr: str
    gateway: str


@dataclass(frozen=True, kw_only=True)
class DesiredHaVip:
    id: str
    vpc_id: str
    subnet_id: str
    ip: str
    binding_mode: str = "static"
    claimants: list[str]  # interfaces on this host that may claim it
    holder_interface_id: str | None = None
    holder_host: str | None = None  # host name of the holder; None when unheld
    eips: list[str] = field(default_factory=list)
    epoch: int = 0  # the holder's claim epoch as the store recorded it (claims order by it)


@dataclass(frozen=True, kw_only=True)
class DesiredRoute:
    id: str
    vpc_id: str
    destination: str
    next_hop_type: str
    next_hop_id: str
    next_hop_interface_id: str | None = None  # instance/ENI next hops: the interface (an instance's primary)
    next_hop_ip: str | None = None  # that interface's primary address; a HaVip next hop: the VIP


@dataclass(frozen=True, kw_only=True)
class DesiredEip:
    id: str
    ip: str
    vpc_id: str
    private_ip: str  # what it is translated to: the VIP, or the interface's primary address
    havip_id: str | None = None
    network_interface_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DesiredPeer:
    """Another host that shares a VPC with this one, reached over the underlay."""

    host: str  # its name
    underlay: str  # its underlay IPv4 address: where the tunnel and the claim messages go


@dataclass(frozen=True, kw_only=True)
class DesiredRemoteInterface:
    """An interface of one of this host's VPCs placed on another host (a peer with an underlay).

    Its addresses are routed into the tunnel towards ``host``; packets that arrive from that
    host's underlay in the VPC's VNI may carry them (and the HaVips of ``claimable``, and the
    destinations of route entries whose next hop it is or may hold) as inner source."""

    id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None = None
    host: str  # the peer's name (a DesiredPeer of this state)
    addresses: list[str]
    claimable: list[str] = field(default_factory=list)  # ids of the HaVips it may claim


@dataclass(frozen=True, kw_only=True)
class DesiredState:
    revision: int
    host: str
    vpcs: dict[str, str]  # vpc id -> CIDR
    subnets: list[DesiredSubnet] = field(default_factory=list)
    interfaces: list[DesiredInterface] = field(default_factory=list)
    havips: list[DesiredHaVip] = field(default_factory=list)
    routes: list[DesiredRoute] = field(default_factory=list)
    eips: list[DesiredEip] = field(default_factory=list)  # of the host's HaVips' VPCs and of its interfaces
    # several hosts (all empty on a host without an underlay address: one-host behaviour)
    underlay: str | None = None  # this host's underlay address; None: no tunnel
    vnis: dict[str, int] = field(default_factory=dict)  # vpc id -> VNI (every VPC of ``vpcs``)
    peers: list[DesiredPeer] = field(default_factory=list)  # hosts with an underlay sharing a VPC
    remote_interfaces: list[DesiredRemoteInterface] = field(default_factory=list)
