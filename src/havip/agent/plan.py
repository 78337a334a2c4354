"""Desired vs observed -> the kernel operations that close the gap.

``plan`` is the agent's one decision about the kernel: called on every reconcile with
the output of ``build_desired`` and the data plane's read-back, it returns the actions
the data plane executes in order. Two rules it never breaks: it only deletes objects
that carry the agent's marks (``havip.agent.marks``), and it deletes nothing at all
until the observed snapshot is complete. Planning the result of applying a plan yields
no action. Pure: no I/O.
"""

from __future__ import annotations

from havip.agent import marks
from havip.agent import ruleset as rs
from havip.agent.actions import (
    Action,
    AddRule,
    ApplyNftTable,
    ConfigurePort,
    ConfigureUplink,
    CreateSink,
    CreateTunnel,
    CreateVeth,
    DeleteLink,
    DeleteNeigh,
    DeleteNftTable,
    DeleteRoute,
    DeleteRule,
    ReleasePort,
    ReplaceNeigh,
    ReplaceRoute,
    SetHostSysctls,
)
from havip.agent.desired import DesiredHost
from havip.agent.observed import Encap, Link, Observed, Rule
from havip.agent.selector import IifRules, TableSelector
from havip.agent.settings import NftLimits

DEFAULT_ROUTE = "0.0.0.0/0"
Via = tuple[str, str | None, Encap | None]  # (device, gateway, tunnel)


def plan(
    desired: DesiredHost,
    observed: Observed,
    selector: TableSelector | None = None,
    limits: NftLimits | None = None,
) -> list[Action]:
    """Actions, in execution order: create and bind first, then fill, then sweep.
    ``desired`` is admitted already (``pipeline.reconcile_pass``): every port in it may be
    adopted."""
    selector = selector or IifRules()
    links = observed.links
    present = {p.device for p in desired.ports if p.device in links or p.create_peer}
    acts: list[Action] = []
    if not observed.host_ready:
        acts.append(SetHostSysctls())
    for vpc in desired.vpcs:
        if not _is_sink(links.get(vpc.sink), vpc.vpc_id):
            acts.append(CreateSink(vpc.vpc_id, vpc.sink))
    for p in desired.ports:
        if p.create_peer and p.device not in links:
            acts.append(CreateVeth(p.device, p.create_peer))
    tun = desired.tunnel
    if tun is not None and not (_is_tunnel(links.get(tun.device), tun.port, tun.mtu) and observed.fwmark_reflect):
        acts.append(CreateTunnel(name=tun.device, port=tun.port, mtu=tun.mtu))
    bind, unbind = selector.plan(desired, observed)
    acts += bind
    tunnel_adds, tunnel_dels = _tunnel_rules(desired, observed)
    acts += tunnel_adds
    for p in desired.ports:
        link = links.get(p.device)
        if p.device in present and not _is_configured(link, p.alias, desired.gateway_mac):
            acts.append(ConfigurePort(p.device, p.alias, desired.gateway_mac))
    up = desired.uplink
    if up is not None and up.device in links and not links[up.device].uplink_sysctls_ok:
        acts.append(ConfigureUplink(up.device))
    nat_adds, nat_dels = _nat_rules(desired, observed)
    acts += nat_adds
    tables = rs.render_tables(desired, limits)
    for (family, name), (digest, text) in sorted(tables.items()):
        if observed.nft.get((family, name)) != digest:
            acts.append(ApplyNftTable(family, name, digest, text))
    acts += _fill_routes(desired, observed, present)
    acts += _fill_neighs(desired, observed, present)
    if observed.complete:
        acts += _sweep(desired, observed, tables, unbind + nat_dels + tunnel_dels)
    return acts


def _is_sink(link: Link | None, vpc_id: str) -> bool:
    return link is not None and link.alias == marks.ALIAS_SINK + vpc_id and link.up


def _is_tunnel(link: Link | None, port: int, mtu: int) -> bool:
    return (
        link is not None
        and link.alias == marks.ALIAS_TUNNEL
        and link.kind == "vxlan"
        and link.tunnel_port == port
        and link.mtu == mtu
        and link.up
        and link.uplink_sysctls_ok
    )


def _is_configured(link: Link | None, alias: str, gateway_mac: str) -> bool:
    return (
        link is not None
        and link.alias == alias
        and link.mac.lower() == gateway_mac
        and link.up
        and link.port_sysctls_ok
    )


def _wanted_routes(desired: DesiredHost, present: set[str], links: set[str]) -> dict[tuple[int, str], Via]:
    """(table, dst) -> (device, gateway) of every route the host needs whose device is there."""
    out: dict[tuple[int, str], Via] = {}
    egress_vpcs = {e.vpc_id for e in desired.eips}
    # EIPs translated on a peer: the catch-all is the tunnel towards it (below), the VPC's own CIDR stays here
    egress_vpcs |= {t.vpc_id for t in desired.tunnel_routes if t.dst == DEFAULT_ROUTE}
    sinks = {vpc.sink for vpc in desired.vpcs}
    for vpc in desired.vpcs:
        out[(vpc.table, DEFAULT_ROUTE)] = (vpc.sink, None, None)
        if vpc.vpc_id in egress_vpcs and vpc.cidr:
            # an EIP's traffic tries the VPC's routes first, minus the default (rule 9000):
            # an address of the VPC that nothing answers for must end in the sink, not leave
            out[(vpc.table, vpc.cidr)] = (vpc.sink, None, None)
    if desired.tunnel is not None:  # created earlier in the same plan, as the sinks
        sinks.add(desired.tunnel.device)
        for t in desired.tunnel_routes:
            out[(t.table, t.dst)] = (desired.tunnel.device, None, t.encap)
    for p in desired.ports:
        if p.device in present:
            for a in p.addresses:
                out[(p.table, f"{a}/32")] = (p.device, None, None)
    for v in desired.vips:
        if v.device in present:
            out[(v.table, f"{v.ip}/32")] = (v.device, None, None)
    for r in desired.routes:
        if r.device in present or r.device in sinks:
            out[(r.table, r.dst)] = (r.device, r.gateway, r.encap)
    up = desired.uplink
    if desired.eips and up is not None and up.device in links:
        out[(marks.EGRESS_TABLE, DEFAULT_ROUTE)] = (up.device, up.gateway, None)
    return out


def _wanted_tunnel_rules(desired: DesiredHost) -> set[Rule]:
    """One ``tun_id VNI lookup T`` per local VPC, then the tunnel's unreachable catch-all."""
    tun = desired.tunnel
    if tun is None:
        return set()
    p = marks.RTPROT_HAVIP
    out = {Rule(priority=marks.RULE_PREF_TUNNEL, iif=None, table=t, proto=p, tun_id=vni) for vni, t in tun.vnis}
    out.add(Rule(priority=marks.RULE_PREF_TUNNEL_UNREACHABLE, iif=tun.device, table=None, proto=p))
    for t in {port.table for port in desired.ports}:
        out.add(
            Rule(
                priority=marks.RULE_PREF_TUNNEL_REPLY,
                iif="lo",
                table=t,
                proto=p,
                fwmark=marks.port_mark(t),
                fwmask=marks.MARK_FULL,
                suppress_prefixlength=0,
            )
        )
    return out


def _tunnel_rules(desired: DesiredHost, observed: Observed) -> tuple[list[Action], list[Action]]:
    wanted = _wanted_tunnel_rules(desired)
    have = {r for r in observed.rules if marks.is_our_tunnel_rule(r.priority, r.proto)}
    adds: list[Action] = [
        AddRule(r.priority, r.iif, r.table, r.fwmark, r.fwmask, r.suppress_prefixlength, r.tun_id)
        for r in sorted(wanted - have, key=_rule_key)
    ]
    dels: list[Action] = [
        DeleteRule(r.priority, r.iif, r.table, r.fwmark, r.fwmask, r.suppress_prefixlength, r.tun_id)
        for r in sorted(have - wanted, key=_rule_key)
    ]
    return adds, dels


def _wanted_nat_rules(desired: DesiredHost) -> set[Rule]:
    """The EIP path's policy rules (marks.NAT_RULE_PREFS); none without EIPs."""
    up = desired.uplink
    if not desired.eips or up is None:
        return set()
    p = marks.RTPROT_HAVIP
    out = {
        Rule(
            priority=marks.RULE_PREF_EGRESS,
            iif=None,
            table=marks.EGRESS_TABLE,
            proto=p,
            fwmark=marks.MARK_EGRESS,
            fwmask=marks.MARK_MASK,
        )
    }
    for table in {e.table for e in desired.eips}:
        out.add(
            Rule(
                priority=marks.RULE_PREF_EGRESS_VPC,
                iif=None,
                table=table,
                proto=p,
                fwmark=marks.egress_mark(table),
                fwmask=marks.MARK_FULL,
                suppress_prefixlength=0,
            )
        )
        out.add(
            Rule(
                priority=marks.RULE_PREF_INBOUND,
                iif=up.device,
                table=table,
                proto=p,
                fwmark=marks.inbound_mark(table),
                fwmask=marks.MARK_FULL,
            )
        )
    return out


def _nat_rules(desired: DesiredHost, observed: Observed) -> tuple[list[Action], list[Action]]:
    wanted = _wanted_nat_rules(desired)
    have = {r for r in observed.rules if marks.is_our_nat_rule(r.priority, r.proto)}
    adds: list[Action] = [
        AddRule(r.priority, r.iif, r.table, r.fwmark, r.fwmask, r.suppress_prefixlength)
        for r in sorted(wanted - have, key=_rule_key)
    ]
    dels: list[Action] = [
        DeleteRule(r.priority, r.iif, r.table, r.fwmark, r.fwmask, r.suppress_prefixlength)
        for r in sorted(have - wanted, key=_rule_key)
    ]
    return adds, dels


def _rule_key(r: Rule) -> tuple[int, int, str]:
    return (r.priority, r.table or 0, r.iif or "")


def _wanted_neighs(desired: DesiredHost, present: set[str]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for p in desired.ports:
        if p.device in present:
            for a in p.addresses:
                out[(p.device, a)] = p.mac
    for v in desired.vips:
        if v.device in present:
            out[(v.device, v.ip)] = v.mac
    return out


def _fill_routes(desired: DesiredHost, observed: Observed, present: set[str]) -> list[Action]:
    have = {(r.table, r.dst): (r.device, r.gateway, r.encap) for r in observed.routes}
    return [
        ReplaceRoute(table, dst, dev, gateway, encap)
        for (table, dst), (dev, gateway, encap) in sorted(_wanted_routes(desired, present, set(observed.links)).items())
        if have.get((table, dst)) != (dev, gateway, encap)
    ]


def _fill_neighs(desired: DesiredHost, observed: Observed, present: set[str]) -> list[Action]:
    have = {(n.device, n.ip): n.mac.lower() for n in observed.neighs if n.permanent}
    return [
        ReplaceNeigh(dev, ip, mac)
        for (dev, ip), mac in sorted(_wanted_neighs(desired, present).items())
        if have.get((dev, ip)) != mac
    ]


def _sweep(
    desired: DesiredHost,
    observed: Observed,
    tables: dict[tuple[str, str], tuple[str, str]],
    unbind: list[Action],
) -> list[Action]:
    """Deletions of our objects that are no longer desired (complete snapshot only)."""
    acts: list[Action] = []
    devices = set(observed.links) | {p.device for p in desired.ports}
    wanted_routes = _wanted_routes(desired, devices, devices)
    for r in sorted(observed.routes, key=lambda r: (r.table, r.dst)):
        if (
            r.proto == marks.RTPROT_HAVIP
            and marks.is_our_route_table(r.table)
            and (r.table, r.dst) not in wanted_routes
        ):
            acts.append(DeleteRoute(r.table, r.dst))
    ours = {n for n, link in observed.links.items() if marks.is_our_alias(link.alias)}
    wanted_neighs = _wanted_neighs(desired, {p.device for p in desired.ports})
    for n in sorted(observed.neighs, key=lambda n: (n.device, n.ip)):
        if n.permanent and n.device in ours and (n.device, n.ip) not in wanted_neighs:
            acts.append(DeleteNeigh(n.device, n.ip))
    for family, name in sorted(observed.nft):
        if marks.is_our_nft_table(name) and (family, name) not in tables:
            acts.append(DeleteNftTable(family, name))
    acts += unbind
    desired_links = {p.device for p in desired.ports} | {v.sink for v in desired.vpcs}
    if desired.tunnel is not None:
        desired_links.add(desired.tunnel.device)
    for name, link in sorted(observed.links.items()):
        if name in desired_links or not link.alias:
            continue
        if link.alias.startswith((marks.ALIAS_VETH, marks.ALIAS_SINK, marks.ALIAS_TUNNEL)):
            acts.append(DeleteLink(name))
        elif link.alias.startswith(marks.ALIAS_PORT):
            acts.append(ReleasePort(name))
    return acts
