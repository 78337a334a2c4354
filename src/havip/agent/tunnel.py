"""The tunnel between hosts, as this host must build it: the part of ``build_desired``
that exists only when the host has an underlay address.

Several hosts carry a VPC over one VXLAN-GPE device per host (collect_md: the route says
VNI and peer, ``research/multihost.md`` 5.1). ``tunnel_of`` derives from the control
plane's state:

* a ``TunnelRoute`` per address of a local VPC that lives on a peer: every address of
  the remote interfaces, and the VIP of a HaVip held on a peer (a local claim wins, as
  for the ports: ``desired.holder_here``); ``entries``: the route entries whose next hop
  is on a peer (a remote interface, or a HaVip held on a peer) go into the tunnel too;
* the receive side: one (VNI, table) per local VPC (a fib rule each) and what each peer
  may send in each VNI (``TunnelSource``): its interfaces' addresses, the VIPs they may
  claim, and the destinations of the route entries they are (or may become) the next hop
  of, the rule the ports' ``forwards`` follow;
* EIPs translated on a peer (``TunnelSettings.eip_host``, a host with an uplink): the
  VPC's catch-all goes into the tunnel towards that peer instead of the sink (the VPC's
  own CIDR stays in the sink), so a holder's replies to the internet reach the host whose
  conntrack un-NATs them; and that peer may send, in the VPC's VNI, packets from any
  source outside the VPC to the private address of an EIP (``translated``).

Without an underlay it returns None and nothing of the one-host build changes. Called by
``desired.build_desired`` only. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from havip.agent import marks
from havip.agent.observed import Encap
from havip.agent.settings import TunnelSettings
from havip.domain.desired import DesiredRemoteInterface, DesiredState

DEFAULT_ROUTE = "0.0.0.0/0"


@dataclass(frozen=True, kw_only=True)
class TunnelRoute:
    """An address of a local VPC that lives on a peer (an interface's, or a VIP held
    there): ``dst encap ip id VNI dst REMOTE dev <tunnel>`` in the VPC's table."""

    vpc_id: str
    table: int
    dst: str  # "a.b.c.d/32"
    encap: Encap
    havip_id: str | None = None  # a VIP held on the peer: a local claim replaces it


@dataclass(frozen=True, kw_only=True)
class TunnelSource:
    """Inner sources a peer may send in one VNI: (its underlay, the VNI, a CIDR)."""

    underlay: str
    vni: int
    cidr: str


@dataclass(frozen=True, kw_only=True)
class Tunnel:
    """The host's side of the tunnel between hosts (only with an underlay address)."""

    device: str = marks.TUNNEL_DEVICE
    underlay: str  # this host's underlay address
    port: int  # UDP port (VXLAN-GPE)
    mtu: int
    vnis: tuple[tuple[int, int], ...] = ()  # (VNI, table) of each local VPC: the receive side's rules
    peers: tuple[str, ...] = ()  # underlay addresses of the known hosts
    sources: tuple[TunnelSource, ...] = ()
    # EIPs translated on a peer: (its underlay, VNI, an EIP's private address /32) it may
    # send to from any source outside the VPC (``vpc_nets``: (VNI, the VPC's CIDR))
    translated: tuple[TunnelSource, ...] = ()
    vpc_nets: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class TunnelBuild:
    tunnel: Tunnel
    routes: tuple[TunnelRoute, ...]
    entries: Mapping[str, Encap]  # route entry id -> its tunnel (the next hop is on a peer)


def tunnel_of(
    state: DesiredState,
    tables: Mapping[str, int],
    local_holders: Mapping[str, str],
    settings: TunnelSettings,
    problems: list[str],
) -> TunnelBuild | None:
    """The tunnel of a host with an underlay address; None without one."""
    if state.underlay is None:
        return None
    peers = {p.host: p.underlay for p in state.peers if p.host != state.host}
    vnis = {v: state.vnis[v] for v in tables if v in state.vnis}
    for v in sorted(set(tables) - set(vnis)):
        problems.append(f"VPC {v} has no VNI: nothing of it crosses the tunnel")
    remotes: list[DesiredRemoteInterface] = []
    for r in sorted(state.remote_interfaces, key=lambda r: r.id):
        if r.vpc_id not in vnis:
            continue
        if r.host not in peers:
            problems.append(f"remote interface {r.id}: its host {r.host!r} is not a peer with an underlay")
            continue
        remotes.append(r)

    def encap(vpc_id: str, host: str) -> Encap:
        return Encap(vnis[vpc_id], peers[host])

    routes: dict[tuple[int, str], TunnelRoute] = {}
    for r in remotes:
        for addr in r.addresses:
            dst = f"{addr}/32"
            routes[(tables[r.vpc_id], dst)] = TunnelRoute(
                vpc_id=r.vpc_id, table=tables[r.vpc_id], dst=dst, encap=encap(r.vpc_id, r.host)
            )
    held = _held_on_peers(state, vnis, peers, local_holders)
    havips = {h.id: h for h in state.havips}
    for havip_id, host in sorted(held.items()):
        h = havips[havip_id]
        dst = f"{h.ip}/32"
        routes[(tables[h.vpc_id], dst)] = TunnelRoute(
            vpc_id=h.vpc_id, table=tables[h.vpc_id], dst=dst, encap=encap(h.vpc_id, host), havip_id=h.id
        )
    by_id = {r.id: r for r in remotes}
    entries: dict[str, Encap] = {}
    for e in state.routes:
        if e.vpc_id not in vnis:
            continue
        if e.next_hop_type == "havip":
            if e.next_hop_id in held:
                entries[e.id] = encap(e.vpc_id, held[e.next_hop_id])
        elif e.next_hop_interface_id in by_id:
            entries[e.id] = encap(e.vpc_id, by_id[e.next_hop_interface_id].host)
    translated = _translated_by_peer(state, vnis, peers, settings.eip_host, problems)
    for vpc_id in sorted({vpc_id for vpc_id, _ip in translated}):
        routes[(tables[vpc_id], DEFAULT_ROUTE)] = TunnelRoute(
            vpc_id=vpc_id, table=tables[vpc_id], dst=DEFAULT_ROUTE, encap=encap(vpc_id, str(settings.eip_host))
        )
    tunnel = Tunnel(
        underlay=state.underlay,
        port=settings.port,
        mtu=settings.mtu,
        vnis=tuple(sorted((vni, tables[v]) for v, vni in vnis.items())),
        peers=tuple(sorted(set(peers.values()), key=ipaddress.IPv4Address)),
        sources=_sources(state, remotes, vnis, peers, problems),
        translated=tuple(
            sorted(
                {
                    TunnelSource(underlay=peers[str(settings.eip_host)], vni=vnis[v], cidr=f"{ip}/32")
                    for v, ip in translated
                },
                key=lambda t: (t.vni, ipaddress.IPv4Network(t.cidr)),
            )
        ),
        vpc_nets=tuple(sorted({(vnis[v], state.vpcs[v]) for v, _ip in translated if state.vpcs.get(v)})),
    )
    return TunnelBuild(tunnel, tuple(routes[k] for k in sorted(routes)), entries)


def _translated_by_peer(
    state: DesiredState,
    vnis: Mapping[str, int],
    peers: Mapping[str, str],
    eip_host: str | None,
    problems: list[str],
) -> set[tuple[str, str]]:
    """(VPC id, private address) of each EIP of a local VPC that ``eip_host`` translates
    (none when this host is the translator itself, or there is none)."""
    if eip_host is None or eip_host == state.host:
        return set()
    eips = [e for e in state.eips if e.vpc_id in vnis]
    if eips and eip_host not in peers:
        problems.append(f"EIP host {eip_host!r} is not a peer with an underlay: no EIP traffic crosses the tunnel")
        return set()
    return {(e.vpc_id, e.private_ip) for e in eips}


def _held_on_peers(
    state: DesiredState, vnis: Mapping[str, int], peers: Mapping[str, str], local_holders: Mapping[str, str]
) -> dict[str, str]:
    """HaVip id -> the peer that holds it: by a peer's claim this host acted on (its message
    named an interface of that peer), else by the control plane's record (never one this host
    holds, or claimed locally)."""
    remote_host = {r.id: r.host for r in state.remote_interfaces}
    out: dict[str, str] = {}
    for h in state.havips:
        if h.vpc_id not in vnis:
            continue
        if h.id in local_holders:
            host = remote_host.get(local_holders[h.id])
            if host is not None and host in peers:
                out[h.id] = host
            continue
        if (
            h.holder_interface_id is not None
            and h.holder_host is not None
            and h.holder_host != state.host
            and h.holder_host in peers
        ):
            out[h.id] = h.holder_host
    return out


def _sources(
    state: DesiredState,
    remotes: list[DesiredRemoteInterface],
    vnis: Mapping[str, int],
    peers: Mapping[str, str],
    problems: list[str],
) -> tuple[TunnelSource, ...]:
    """What each (peer, VNI) may send from: as the ports' addresses, ``claimable`` and
    ``forwards`` (a route entry's next hop, or a claimant of a HaVip next hop, forwards)."""
    havips = {h.id: h for h in state.havips}
    claimants: dict[str, set[str]] = {}
    for r in remotes:
        for havip_id in r.claimable:
            claimants.setdefault(havip_id, set()).add(r.id)
    forwards: dict[str, set[str]] = {}
    for e in state.routes:
        hops = claimants.get(e.next_hop_id, set()) if e.next_hop_type == "havip" else {e.next_hop_interface_id or ""}
        for hop in hops:
            forwards.setdefault(hop, set()).add(e.destination)
    allowed: dict[tuple[str, int], set[str]] = {}
    for r in remotes:
        cidrs = allowed.setdefault((peers[r.host], vnis[r.vpc_id]), set())
        cidrs |= {f"{a}/32" for a in r.addresses} | forwards.get(r.id, set())
        for havip_id in r.claimable:
            h = havips.get(havip_id)
            if h is None:
                problems.append(f"remote interface {r.id}: HaVip {havip_id} is not in the desired state")
            else:
                cidrs.add(f"{h.ip}/32")
    out: list[TunnelSource] = []
    for (underlay, vni), cidrs in sorted(allowed.items(), key=lambda kv: (ipaddress.IPv4Address(kv[0][0]), kv[0][1])):
        # an interval set refuses overlapping elements: a /32 inside a forwarded range is merged
        nets = ipaddress.collapse_addresses(ipaddress.IPv4Network(c, strict=False) for c in cidrs)
        out += [TunnelSource(underlay=underlay, vni=vni, cidr=str(n)) for n in nets]
    return tuple(out)
