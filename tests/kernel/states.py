"""Small DesiredState-shaped values for the kernel tier (same shape as tests/unit/agent_fixtures.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Iface:
    id: str
    vpc_id: str
    mac: str
    device: str | None
    addresses: list[str]
    subnet_id: str = "vsw-1"


@dataclass
class Vip:
    id: str
    vpc_id: str
    ip: str
    claimants: list[str]
    holder_interface_id: str | None = None
    holder_host: str | None = None


@dataclass
class Eip:
    ip: str
    vpc_id: str
    private_ip: str
    havip_id: str | None = None
    network_interface_id: str | None = None


@dataclass
class Route:
    id: str
    vpc_id: str
    destination: str
    next_hop_type: str
    next_hop_id: str
    next_hop_interface_id: str | None = None
    next_hop_ip: str | None = None


@dataclass
class State:
    interfaces: list[Iface]
    havips: list[Vip] = field(default_factory=list)
    revision: int = 1
    host: str = "h1"
    vpcs: dict[str, str] = field(default_factory=lambda: {"vpc-1": "10.0.0.0/24", "vpc-2": "10.0.0.0/24"})
    eips: list[Eip] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
