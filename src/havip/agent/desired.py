"""The host's desired kernel state, derived from the control plane's desired state.

``build_desired`` turns the control plane's ``havip.domain.desired.DesiredState`` (the one
model of it: the wire model is converted at the agent's edge) into what the kernel of this
host must contain: one routing table and sink per VPC, one port per
interface placed here, one VIP route per HaVip held on this host, one route per route
table entry (via its next hop's port, a HaVip's via its holder), the EIPs to translate
(with an uplink), and the inputs of the anti-spoofing ruleset. A host with an underlay
address also gets the tunnel (``tunnel.py``: the device, a route per address of its VPCs
that lives on a peer, a rule per VNI, what the tunnel may receive). Called by the agent
loop before ``plan``. Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from havip.agent import marks
from havip.agent.observed import Encap
from havip.agent.settings import TunnelSettings
from havip.agent.tunnel import Tunnel, TunnelRoute, tunnel_of
from havip.domain.desired import DesiredState

# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    table: int
    cidr: str = ""

    @property
    def sink(self) -> str:
        return marks.sink_name(self.table)


@dataclass(frozen=True, kw_only=True)
class Port:
    interface_id: str
    vpc_id: str
    table: int
    device: str
    mac: str  # the instance's MAC (the host side carries the gateway MAC)
    addresses: tuple[str, ...]
    claimable: tuple[str, ...] = ()  # HaVip addresses this port may announce and source
    create_peer: str | None = None  # set when the agent creates the veth itself
    forwards: tuple[str, ...] = ()  # route entry destinations it may source from (it is their next hop)

    @property
    def alias(self) -> str:
        prefix = marks.ALIAS_VETH if self.create_peer else marks.ALIAS_PORT
        return prefix + self.interface_id


@dataclass(frozen=True, kw_only=True)
class VipRoute:
    havip_id: str
    vpc_id: str
    table: int
    ip: str
    device: str  # the holder's port
    mac: str  # the holder's MAC


@dataclass(frozen=True, kw_only=True)
class EntryRoute:
    """A route table entry in its VPC's table: via its next hop's port, or into the sink."""

    route_id: str
    vpc_id: str
    table: int
    dst: str
    device: str  # the next hop's port; the VPC's sink while the next hop is not here; the tunnel
    gateway: str | None = None  # the next hop's address (onlink); None on the sink
    havip_id: str | None = None  # switched together with this HaVip's VIP
    encap: Encap | None = None  # the next hop is on a peer: into the tunnel towards it


@dataclass(frozen=True)
class Uplink:
    """The host's way to the internet: a device someone else set up, and its gateway."""

    device: str
    gateway: str


@dataclass(frozen=True, kw_only=True)
class EipNat:
    """One EIP translated to a private address of a VPC (DNAT in, SNAT out)."""

    eip: str
    private_ip: str
    vpc_id: str
    table: int
    sources: tuple[str, ...]  # ports that may send from private_ip: a HaVip's claimants, the ENI's port
    havip_id: str | None = None


@dataclass(frozen=True)
class DesiredHost:
    revision: int
    vpcs: tuple[Vpc, ...] = ()
    ports: tuple[Port, ...] = ()
    vips: tuple[VipRoute, ...] = ()
    havip_ips: tuple[str, ...] = ()  # every HaVip address of the host's VPCs
    gateway_mac: str = marks.GATEWAY_MAC
    routes: tuple[EntryRoute, ...] = ()
    eips: tuple[EipNat, ...] = ()  # only with an uplink
    uplink: Uplink | None = None
    tunnel: Tunnel | None = None  # None: one host, no tunnel
    tunnel_routes: tuple[TunnelRoute, ...] = ()
    problems: tuple[str, ...] = field(default=(), compare=False)

    def switched_routes(self, havip_id: str) -> tuple[str, ...]:
        """Destinations of the route entries that follow ``havip_id``'s holder."""
        return tuple(r.dst for r in self.routes if r.havip_id == havip_id)


# ------------------------------------------------------------------------- building


def holder_here(
    havip_id: str, holder_interface_id: str | None, holder_host: str | None, host: str, local: Mapping[str, str]
) -> str | None:
    """The interface ``host`` routes a HaVip to: its local claim first (the agent's own
    word until the control plane has answered it), then the control plane's record when
    that names this host or no host; None when another host holds it."""
    if havip_id in local:
        return local[havip_id]
    if holder_host in (None, host):
        return holder_interface_id
    return None


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
    state: DesiredState,
    existing_tables: Mapping[str, int] | None = None,
    local_holders: Mapping[str, str] | None = None,
    uplink: Uplink | None = None,
    tunnel: TunnelSettings | None = None,
) -> DesiredHost:
    """What this host's kernel must contain.

    ``existing_tables`` (VPC id -> table, read back from the kernel) keeps table ids
    stable across restarts. ``local_holders`` (HaVip id -> interface id) are claims the
    agent has already acted on and the control plane has not yet confirmed: they win
    over the control plane's holder so a resync never undoes a fresh claim. ``uplink``
    is the host's way to the internet (``havip agent --uplink``); EIPs need one.
    ``tunnel`` sets the tunnel device's MTU and port when the state has an underlay.
    """
    local_holders = local_holders or {}
    interfaces = sorted(state.interfaces, key=lambda i: i.id)
    tables = allocate_tables([i.vpc_id for i in interfaces], existing_tables or {})
    problems: list[str] = []
    claimable: dict[str, list[str]] = {}
    for h in state.havips:
        for claimant in h.claimants:
            claimable.setdefault(claimant, []).append(h.ip)
    forwards = _forwards(state, tables)

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
                forwards=tuple(sorted(set(forwards.get(i.id, ())), key=ipaddress.IPv4Network)),
            )
        )
    ports = _unique_devices(ports, problems)
    by_id = {p.interface_id: p for p in ports}

    vips: list[VipRoute] = []
    holders: dict[str, Port] = {}
    vpc_ids = set(tables)
    for h in sorted(state.havips, key=lambda h: h.id):
        holder = holder_here(h.id, h.holder_interface_id, h.holder_host, state.host, local_holders)
        port = by_id.get(holder) if holder else None
        if port is None or h.vpc_id != port.vpc_id:
            continue  # unheld, or held on another host: the VPC's catch-all covers it
        vips.append(
            VipRoute(havip_id=h.id, vpc_id=h.vpc_id, table=port.table, ip=h.ip, device=port.device, mac=port.mac)
        )
        holders[h.id] = port

    eips = _eips(state, tables, by_id)
    if eips and uplink is None:
        elsewhere = tunnel is not None and tunnel.eip_host not in (None, state.host) and state.underlay is not None
        if not elsewhere:  # else the tunnel carries them to the peer that translates them
            problems.append(f"{len(eips)} EIP(s) in this host's VPCs, but the agent has no uplink (--uplink)")
        eips = []
    tun = tunnel_of(state, tables, local_holders, tunnel or TunnelSettings(), problems)
    routes = _entry_routes(state, tables, by_id, holders, problems)
    if tun is not None:  # an entry whose next hop is on a peer: into the tunnel towards it
        routes = [
            dataclasses.replace(r, device=tun.tunnel.device, gateway=None, encap=tun.entries[r.route_id])
            if r.route_id in tun.entries
            else r
            for r in routes
        ]
    return DesiredHost(
        revision=state.revision,
        vpcs=tuple(Vpc(v, tables[v], state.vpcs.get(v, "")) for v in sorted(tables)),
        ports=tuple(ports),
        vips=tuple(vips),
        havip_ips=tuple(sorted({h.ip for h in state.havips if h.vpc_id in vpc_ids}, key=ipaddress.IPv4Address)),
        routes=tuple(routes),
        eips=tuple(eips),
        uplink=uplink,
        tunnel=tun.tunnel if tun is not None else None,
        tunnel_routes=tun.routes if tun is not None else (),
        problems=tuple(problems),
    )


def _forwards(state: DesiredState, tables: Mapping[str, int]) -> dict[str, list[str]]:
    """Interface id -> route entry destinations it may send from (source check off for them).

    The next hop of an entry forwards for its destination: every claimant of a HaVip
    next hop (whichever holds it forwards), or the instance's / ENI's interface."""
    claimants = {h.id: h.claimants for h in state.havips}
    out: dict[str, list[str]] = {}
    for r in state.routes:
        if r.vpc_id not in tables:
            continue
        if r.next_hop_type == "havip":
            for c in claimants.get(r.next_hop_id, ()):
                out.setdefault(c, []).append(r.destination)
        elif r.next_hop_interface_id:
            out.setdefault(r.next_hop_interface_id, []).append(r.destination)
    return out


def _entry_routes(
    state: DesiredState,
    tables: Mapping[str, int],
    by_id: Mapping[str, Port],
    holders: Mapping[str, Port],
    problems: list[str],
) -> list[EntryRoute]:
    """Each route entry of a local VPC: via its next hop's port when the next hop is here
    (a HaVip: its holder, the VIP as gateway), else into the sink (never elsewhere)."""
    havips = {h.id: h for h in state.havips}
    out: list[EntryRoute] = []
    for r in sorted(state.routes, key=lambda r: r.id):
        table = tables.get(r.vpc_id)
        if table is None:
            continue
        entry = functools.partial(EntryRoute, route_id=r.id, vpc_id=r.vpc_id, table=table, dst=r.destination)
        sink = entry(device=marks.sink_name(table))
        if r.next_hop_type == "havip":
            h = havips.get(r.next_hop_id)
            port = holders.get(r.next_hop_id)
            if h is None:
                problems.append(f"route entry {r.id}: next hop HaVip {r.next_hop_id} is not in the desired state")
                out.append(sink)
            elif port is None:
                out.append(entry(device=sink.device, havip_id=h.id))
            else:
                out.append(entry(device=port.device, gateway=h.ip, havip_id=h.id))
            continue
        port = by_id.get(r.next_hop_interface_id or "")
        if port is None or not r.next_hop_ip or port.vpc_id != r.vpc_id:
            out.append(sink)  # the next hop is on another host (later: the tunnel) or gone
        else:
            out.append(entry(device=port.device, gateway=r.next_hop_ip))
    return out


def _eips(state: DesiredState, tables: Mapping[str, int], by_id: Mapping[str, Port]) -> list[EipNat]:
    havips = {h.id: h for h in state.havips}
    out: list[EipNat] = []
    for e in sorted(state.eips, key=lambda e: ipaddress.IPv4Address(e.ip)):
        table = tables.get(e.vpc_id)
        if table is None:
            continue
        if e.havip_id is not None:
            h = havips.get(e.havip_id)
            claimants = h.claimants if h is not None else ()
            sources = tuple(sorted(by_id[c].device for c in claimants if c in by_id))
        else:
            port = by_id.get(e.network_interface_id or "")
            sources = (port.device,) if port is not None else ()
        out.append(
            EipNat(
                eip=e.ip, private_ip=e.private_ip, vpc_id=e.vpc_id, table=table, sources=sources, havip_id=e.havip_id
            )
        )
    return out


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
