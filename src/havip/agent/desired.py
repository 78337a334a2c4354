"""The host's desired kernel state, derived from the control plane's desired state.

``build_desired`` turns a ``DesiredState``-shaped value (the service dataclass or the
wire model in ``havip.contract.agents``; both fit the protocols below) into what the
kernel of this host must contain: one routing table and sink per VPC, one port per
interface placed here, one VIP route per HaVip held on this host, and the inputs of the
anti-spoofing ruleset. Called by the agent loop before ``plan``. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from havip.agent import marks

# ---------------------------------------------------------------------------- input


class InterfaceLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def vpc_id(self) -> str: ...
    @property
    def subnet_id(self) -> str: ...
    @property
    def mac(self) -> str: ...
    @property
    def device(self) -> str | None: ...
    @property
    def addresses(self) -> Sequence[str]: ...


class HaVipLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def vpc_id(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def claimants(self) -> Sequence[str]: ...
    @property
    def holder_interface_id(self) -> str | None: ...
    @property
    def holder_host(self) -> str | None: ...


class DesiredStateLike(Protocol):
    @property
    def revision(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def vpcs(self) -> Mapping[str, str]: ...
    @property
    def interfaces(self) -> Sequence[InterfaceLike]: ...
    @property
    def havips(self) -> Sequence[HaVipLike]: ...


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    table: int

    @property
    def sink(self) -> str:
        return marks.sink_name(self.table)


@dataclass(frozen=True)
class Port:
    interface_id: str
    vpc_id: str
    table: int
    device: str
    mac: str  # the instance's MAC (the host side carries the gateway MAC)
    addresses: tuple[str, ...]
    claimable: tuple[str, ...] = ()  # HaVip addresses this port may announce and source
    create_peer: str | None = None  # set when the agent creates the veth itself

    @property
    def alias(self) -> str:
        prefix = marks.ALIAS_VETH if self.create_peer else marks.ALIAS_PORT
        return prefix + self.interface_id


@dataclass(frozen=True)
class VipRoute:
    havip_id: str
    vpc_id: str
    table: int
    ip: str
    device: str  # the holder's port
    mac: str  # the holder's MAC


@dataclass(frozen=True)
class DesiredHost:
    revision: int
    vpcs: tuple[Vpc, ...] = ()
    ports: tuple[Port, ...] = ()
    vips: tuple[VipRoute, ...] = ()
    havip_ips: tuple[str, ...] = ()  # every HaVip address of the host's VPCs
    gateway_mac: str = marks.GATEWAY_MAC
    problems: tuple[str, ...] = field(default=(), compare=False)


# ------------------------------------------------------------------------- building


def port_device_names(interface_id: str) -> tuple[str, str]:
    """Host-side and instance-side names of a veth the agent creates (<= 15 chars)."""
    digest = hashlib.sha1(interface_id.encode(), usedforsecurity=False).hexdigest()[:11]
    return f"hv{digest}", f"hp{digest}"


def allocate_tables(vpc_ids: Sequence[str], existing: Mapping[str, int]) -> dict[str, int]:
    """Keep the tables VPCs already have; give new VPCs the lowest free table ids."""
    wanted = sorted(set(vpc_ids))
    out = {v: existing[v] for v in wanted if v in existing}
    used = set(existing.values())
    candidate = marks.TABLE_MIN
    for v in wanted:
        if v in out:
            continue
        while candidate in used:
            candidate += 1
        if candidate > marks.TABLE_MAX:
            raise ValueError("no free routing table left for another VPC")
        out[v] = candidate
        used.add(candidate)
    return out


def build_desired(
    state: DesiredStateLike,
    existing_tables: Mapping[str, int] | None = None,
    local_holders: Mapping[str, str] | None = None,
) -> DesiredHost:
    """What this host's kernel must contain.

    ``existing_tables`` (VPC id -> table, read back from the kernel) keeps table ids
    stable across restarts. ``local_holders`` (HaVip id -> interface id) are claims the
    agent has already acted on and the control plane has not yet confirmed: they win
    over the control plane's holder so a resync never undoes a fresh claim.
    """
    local_holders = local_holders or {}
    interfaces = sorted(state.interfaces, key=lambda i: i.id)
    tables = allocate_tables([i.vpc_id for i in interfaces], existing_tables or {})
    problems: list[str] = []
    claimable: dict[str, list[str]] = {}
    for h in state.havips:
        for claimant in h.claimants:
            claimable.setdefault(claimant, []).append(h.ip)

    ports: list[Port] = []
    for i in interfaces:
        peer = None
        device = i.device
        if not device:
            device, peer = port_device_names(i.id)
        ports.append(
            Port(
                interface_id=i.id,
                vpc_id=i.vpc_id,
                table=tables[i.vpc_id],
                device=device,
                mac=i.mac.lower(),
                addresses=tuple(sorted(set(i.addresses), key=ipaddress.IPv4Address)),
                claimable=tuple(sorted(set(claimable.get(i.id, ())), key=ipaddress.IPv4Address)),
                create_peer=peer,
            )
        )
    ports = _unique_devices(ports, problems)
    by_id = {p.interface_id: p for p in ports}

    vips: list[VipRoute] = []
    vpc_ids = set(tables)
    for h in sorted(state.havips, key=lambda h: h.id):
        holder = local_holders.get(h.id)
        if holder is None and h.holder_host in (None, state.host):
            holder = h.holder_interface_id
        port = by_id.get(holder) if holder else None
        if port is None or h.vpc_id != port.vpc_id:
            continue  # unheld, or held on another host: the VPC's catch-all covers it
        vips.append(VipRoute(h.id, h.vpc_id, port.table, h.ip, port.device, port.mac))

    return DesiredHost(
        revision=state.revision,
        vpcs=tuple(Vpc(v, tables[v]) for v in sorted(tables)),
        ports=tuple(ports),
        vips=tuple(vips),
        havip_ips=tuple(sorted({h.ip for h in state.havips if h.vpc_id in vpc_ids}, key=ipaddress.IPv4Address)),
        problems=tuple(problems),
    )


def _unique_devices(ports: Sequence[Port], problems: list[str]) -> list[Port]:
    """Two interfaces naming one device: keep the first, report the second."""
    seen: dict[str, str] = {}
    out = []
    for p in ports:
        if p.device in seen:
            problems.append(f"device {p.device} claimed by {seen[p.device]} and {p.interface_id}; ignoring the latter")
            continue
        seen[p.device] = p.interface_id
        out.append(p)
    return out
