"""EIPs and route entries in the agent's pure parts: the desired model, the plan, the
NAT ruleset (golden), the claim view, the switch's netlink messages, the flow reset
decision and the conntrack parser."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from havip.agent import actions as a
from havip.agent import claims as c
from havip.agent import marks
from havip.agent.dataplane import conntrack as ct
from havip.agent.dataplane import netlink
from havip.agent.dataplane.switch import RTA_GATEWAY, RTNH_F_ONLINK, route_msg
from havip.agent.desired import Uplink, build_desired
from havip.agent.flows import IPS_DST_NAT, IPS_SRC_NAT, TCP_TIME_WAIT, Flow, Kick, select
from havip.agent.observed import Link, Neigh, Observed, Route, Rule
from havip.agent.pipeline import split_vip_actions
from havip.agent.plan import plan
from havip.agent.ruleset import render_tables
from havip.domain.desired import DesiredState, DesiredSubnet

from .agent_fixtures import Eip, Iface, State, Vip
from .agent_fixtures import Route as RouteEntry

pytestmark = pytest.mark.unit

T = marks.TABLE_MIN
P = marks.RTPROT_HAVIP
UPLINK = Uplink("uplink", "198.51.100.253")
GOLDEN = Path(__file__).parent / "golden" / "agent-ruleset-eip.nft"
VIP = "10.0.0.3"
EIP = "198.51.100.1"


def gateway_pair(holder: str | None = "eni-1") -> DesiredState:
    """A pair (eni-1, eni-2) holding a HaVip with an EIP and a route entry; eni-3 with its own EIP
    and a route entry of its own (an instance next hop); eni-4 a bystander."""
    return State(
        interfaces=[
            Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "p1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-1", "52:54:00:00:00:02", "p2", ["10.0.0.12"]),
            Iface("eni-3", "vpc-1", "52:54:00:00:00:03", "p3", ["10.0.0.13"]),
            Iface("eni-4", "vpc-1", "52:54:00:00:00:04", "p4", ["10.0.0.14"]),
        ],
        havips=[Vip("havip-1", "vpc-1", VIP, ["eni-1", "eni-2"], holder, "h1" if holder else None)],
        vpcs={"vpc-1": "10.0.0.0/24"},
        eips=[
            Eip(EIP, "vpc-1", VIP, havip_id="havip-1"),
            Eip("198.51.100.2", "vpc-1", "10.0.0.13", network_interface_id="eni-3"),
        ],
        routes=[
            RouteEntry("rte-1", "vpc-1", "192.168.50.0/24", "havip", "havip-1", None, VIP),
            RouteEntry("rte-2", "vpc-1", "192.168.60.0/24", "instance", "i-3", "eni-3", "10.0.0.13"),
        ],
    )


# ------------------------------------------------------------------ desired model


def test_route_entries_follow_the_holder_or_stay_static() -> None:
    d = build_desired(gateway_pair(), uplink=UPLINK)
    by_dst = {r.dst: r for r in d.routes}
    assert (by_dst["192.168.50.0/24"].device, by_dst["192.168.50.0/24"].gateway) == ("p1", VIP)
    assert by_dst["192.168.50.0/24"].havip_id == "havip-1"
    assert (by_dst["192.168.60.0/24"].device, by_dst["192.168.60.0/24"].gateway) == ("p3", "10.0.0.13")
    assert by_dst["192.168.60.0/24"].havip_id is None
    assert d.switched_routes("havip-1") == ("192.168.50.0/24",)
    moved = build_desired(gateway_pair(), local_holders={"havip-1": "eni-2"}, uplink=UPLINK)
    assert {r.dst: r.device for r in moved.routes}["192.168.50.0/24"] == "p2"  # a local claim moves it too


@pytest.mark.parametrize(
    ("holder", "holder_host"),
    [pytest.param(None, None, id="unheld"), pytest.param("eni-1", "h2", id="held-on-another-host")],
)
def test_a_route_entry_without_a_holder_here_goes_into_the_sink(holder: str | None, holder_host: str | None) -> None:
    base = gateway_pair(holder)
    state = replace(base, havips=[replace(base.havips[0], holder_host=holder_host)])
    (entry,) = [r for r in build_desired(state, uplink=UPLINK).routes if r.havip_id]
    assert (entry.device, entry.gateway) == (marks.sink_name(T), None)


def test_next_hops_may_source_their_destinations_and_nobody_else() -> None:
    ports = {p.interface_id: p for p in build_desired(gateway_pair(), uplink=UPLINK).ports}
    assert ports["eni-1"].forwards == ("192.168.50.0/24",)  # every claimant of the HaVip: the backup too
    assert ports["eni-2"].forwards == ("192.168.50.0/24",)
    assert ports["eni-3"].forwards == ("192.168.60.0/24",)
    assert ports["eni-4"].forwards == ()


def test_eips_need_an_uplink_and_know_who_may_send_from_their_address() -> None:
    d = build_desired(gateway_pair(), uplink=UPLINK)
    assert [(e.eip, e.private_ip, e.sources) for e in d.eips] == [
        (EIP, VIP, ("p1", "p2")),
        ("198.51.100.2", "10.0.0.13", ("p3",)),
    ]
    without = build_desired(gateway_pair())
    assert without.eips == () and any("uplink" in p for p in without.problems)


# --------------------------------------------------------------------------- plan


def converged(d_state: DesiredState) -> Observed:
    d = build_desired(d_state, uplink=UPLINK)
    nft = {key: digest for key, (digest, _text) in render_tables(d).items()}
    links = {
        v.sink: Link(
            name=v.sink, index=1, alias=marks.ALIAS_SINK + v.vpc_id, mac="aa:00:00:00:00:01", up=True, kind="ifb"
        )
        for v in d.vpcs
    }
    links |= {
        p.device: Link(
            name=p.device,
            index=2,
            alias=marks.ALIAS_PORT + p.interface_id,
            mac=marks.GATEWAY_MAC,
            up=True,
            kind="veth",
            port_sysctls_ok=True,
        )
        for p in d.ports
    }
    links["uplink"] = Link(
        name="uplink",
        index=9,
        alias=None,
        mac="aa:00:00:00:00:09",
        up=True,
        kind="veth",
        port_sysctls_ok=False,
        uplink_sysctls_ok=True,
    )
    routes = {Route(table=v.table, dst="0.0.0.0/0", device=v.sink, proto=P) for v in d.vpcs}
    routes |= {Route(table=T, dst="10.0.0.0/24", device=marks.sink_name(T), proto=P)}
    routes |= {Route(table=p.table, dst=f"{ip}/32", device=p.device, proto=P) for p in d.ports for ip in p.addresses}
    routes |= {Route(table=v.table, dst=f"{v.ip}/32", device=v.device, proto=P) for v in d.vips}
    routes |= {Route(table=r.table, dst=r.dst, device=r.device, proto=P, gateway=r.gateway) for r in d.routes}
    routes |= {Route(table=marks.EGRESS_TABLE, dst="0.0.0.0/0", device="uplink", proto=P, gateway=UPLINK.gateway)}
    neighs = {Neigh(p.device, ip, p.mac, True) for p in d.ports for ip in p.addresses}
    neighs |= {Neigh(v.device, v.ip, v.mac, True) for v in d.vips}
    rules = {Rule(priority=marks.RULE_PREF_LOOKUP, iif=p.device, table=p.table, proto=P) for p in d.ports}
    rules |= {Rule(priority=marks.RULE_PREF_UNREACHABLE, iif=p.device, table=None, proto=P) for p in d.ports}
    rules |= {
        Rule(
            priority=marks.RULE_PREF_EGRESS_VPC,
            iif=None,
            table=T,
            proto=P,
            fwmark=marks.egress_mark(T),
            fwmask=marks.MARK_FULL,
            suppress_prefixlength=0,
        ),
        Rule(
            priority=marks.RULE_PREF_EGRESS,
            iif=None,
            table=marks.EGRESS_TABLE,
            proto=P,
            fwmark=marks.MARK_EGRESS,
            fwmask=marks.MARK_MASK,
        ),
        Rule(
            priority=marks.RULE_PREF_INBOUND,
            iif="uplink",
            table=T,
            proto=P,
            fwmark=marks.inbound_mark(T),
            fwmask=marks.MARK_FULL,
        ),
    }
    return Observed(True, True, links, frozenset(routes), frozenset(neighs), frozenset(rules), nft)


def test_a_converged_kernel_with_eips_and_route_entries_plans_nothing() -> None:
    assert plan(build_desired(gateway_pair(), uplink=UPLINK), converged(gateway_pair())) == []


def test_the_eip_path_is_planned_on_an_uplink_that_is_not_ready() -> None:
    observed = converged(gateway_pair())
    links = dict(observed.links)
    links["uplink"] = replace(links["uplink"], uplink_sysctls_ok=False)
    rules = frozenset(r for r in observed.rules if r.priority not in marks.NAT_RULE_PREFS)
    acts = plan(build_desired(gateway_pair(), uplink=UPLINK), replace(observed, links=links, rules=rules))
    assert acts[0] == a.ConfigureUplink("uplink")
    assert acts[1:] == [
        a.AddRule(marks.RULE_PREF_EGRESS_VPC, None, T, marks.egress_mark(T), marks.MARK_FULL, 0),
        a.AddRule(marks.RULE_PREF_EGRESS, None, marks.EGRESS_TABLE, marks.MARK_EGRESS, marks.MARK_MASK),
        a.AddRule(marks.RULE_PREF_INBOUND, "uplink", T, marks.inbound_mark(T), marks.MARK_FULL),
    ]


def test_a_claim_moves_the_route_entry_and_nothing_else_of_the_eip_path() -> None:
    moved = build_desired(gateway_pair(), local_holders={"havip-1": "eni-2"}, uplink=UPLINK)
    acts = plan(moved, converged(gateway_pair()))
    assert sorted(map(repr, acts)) == sorted(
        map(
            repr,
            [
                a.ReplaceRoute(T, f"{VIP}/32", "p2"),
                a.ReplaceRoute(T, "192.168.50.0/24", "p2", VIP),
                a.ReplaceNeigh("p2", VIP, "52:54:00:00:00:02"),
                a.DeleteNeigh("p1", VIP),
            ],
        )
    )
    mine, rest = split_vip_actions(acts, {VIP}, {"192.168.50.0/24"})
    assert rest == [] and len(mine) == 4  # all of it waits for the claim path's lock


def test_removing_the_eips_and_entries_sweeps_their_kernel_objects() -> None:
    bare = replace(gateway_pair(), eips=[], routes=[])
    acts = plan(build_desired(bare, uplink=UPLINK), converged(gateway_pair()))
    deleted = {repr(x) for x in acts if isinstance(x, a.DeleteRoute | a.DeleteRule | a.DeleteNftTable)}
    assert deleted == {
        repr(a.DeleteRoute(T, "10.0.0.0/24")),
        repr(a.DeleteRoute(T, "192.168.50.0/24")),
        repr(a.DeleteRoute(T, "192.168.60.0/24")),
        repr(a.DeleteRoute(marks.EGRESS_TABLE, "0.0.0.0/0")),
        repr(a.DeleteRule(marks.RULE_PREF_EGRESS_VPC, None, T, marks.egress_mark(T), marks.MARK_FULL, 0)),
        repr(a.DeleteRule(marks.RULE_PREF_EGRESS, None, marks.EGRESS_TABLE, marks.MARK_EGRESS, marks.MARK_MASK)),
        repr(a.DeleteRule(marks.RULE_PREF_INBOUND, "uplink", T, marks.inbound_mark(T), marks.MARK_FULL)),
        repr(a.DeleteNftTable("ip", marks.NFT_NAT)),
    }


def test_no_uplink_device_no_egress_route() -> None:
    observed = converged(gateway_pair())
    links = {k: v for k, v in observed.links.items() if k != "uplink"}
    routes = frozenset(r for r in observed.routes if r.table != marks.EGRESS_TABLE)
    acts = plan(build_desired(gateway_pair(), uplink=UPLINK), replace(observed, links=links, routes=routes))
    assert not any(isinstance(x, a.ReplaceRoute) and x.table == marks.EGRESS_TABLE for x in acts)


# ------------------------------------------------------------------------ ruleset


def test_golden_nat_and_forwarding_exceptions() -> None:
    tables = render_tables(build_desired(gateway_pair(), uplink=UPLINK))
    text = "".join(tables[key][1] for key in sorted(tables))
    if os.environ.get("HAVIP_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_no_nat_table_without_eips() -> None:
    tables = render_tables(build_desired(replace(gateway_pair(), eips=[]), uplink=UPLINK))
    assert ("ip", marks.NFT_NAT) not in tables


# ----------------------------------------------------------------------- claim view


def test_the_claim_view_carries_the_route_entries_and_eips_to_switch() -> None:
    state = gateway_pair()
    d = build_desired(state, uplink=UPLINK)
    with_subnet = replace(state, subnets=[DesiredSubnet("vsw-1", "vpc-1", "10.0.0.0/24", "10.0.0.1")])
    view = c.build_view(with_subnet, d, {"p1": 1, "p2": 2, "p3": 3, "p4": 4})
    vip = view.vips[("vpc-1", VIP)]
    assert vip.routes == ("192.168.50.0/24",) and vip.eips == (EIP,)


# ----------------------------------------------------------------- switch messages


def test_a_route_entry_message_is_via_the_vip_onlink() -> None:
    msg = route_msg(7, T, "192.168.50.0/24", 4, VIP)
    length, _kind, _flags, seq, _pid = struct.unpack_from("IHHII", msg)
    family, dst_len, _s, _t, _tos, proto, scope, _rtype, flags = struct.unpack_from("BBBBBBBBI", msg, 16)
    assert (length, seq, family, dst_len, proto, scope, flags) == (len(msg), 7, socket.AF_INET, 24, P, 0, RTNH_F_ONLINK)
    assert struct.pack("HH", 8, RTA_GATEWAY) + ipaddress.IPv4Address(VIP).packed in msg
    vip_route = route_msg(8, T, VIP, 4)
    assert struct.unpack_from("BBBBBBBBI", vip_route, 16)[6] == 253  # a device route: scope link
    assert struct.pack("HH", 8, RTA_GATEWAY) not in vip_route


# -------------------------------------------------------------------- flow resets


def flow(**kw: object) -> Flow:
    base: dict[str, object] = {
        "zone": T,
        "proto": 6,
        "orig_src": "198.51.100.100",
        "orig_dst": EIP,
        "orig_sport": 40000,
        "orig_dport": 7000,
        "reply_src": VIP,
        "reply_dst": "198.51.100.100",
        "reply_sport": 7000,
        "reply_dport": 40000,
        "status": IPS_DST_NAT,
        "tcp_state": 3,
    }
    base.update(kw)
    return Flow(**base)  # type: ignore[arg-type]


INBOUND = flow()
OUTBOUND = flow(
    orig_src=VIP,
    orig_dst="203.0.113.5",
    orig_sport=50000,
    orig_dport=443,
    reply_src="203.0.113.5",
    reply_dst=EIP,
    reply_sport=443,
    reply_dport=50000,
    status=IPS_SRC_NAT,
)


@pytest.mark.parametrize(
    ("flows", "kick", "deleted", "kicks"),
    [
        pytest.param([INBOUND], True, [INBOUND], [Kick(EIP, 7000, "198.51.100.100", 40000)], id="inbound-to-the-eip"),
        pytest.param([OUTBOUND], True, [OUTBOUND], [Kick(EIP, 50000, "203.0.113.5", 443)], id="opened-by-the-holder"),
        pytest.param([flow(proto=17, tcp_state=None)], True, [flow(proto=17, tcp_state=None)], [], id="udp-no-kick"),
        pytest.param([flow(tcp_state=TCP_TIME_WAIT)], True, [flow(tcp_state=TCP_TIME_WAIT)], [], id="done-no-kick"),
        pytest.param([flow(status=0)], True, [flow(status=0)], [], id="untranslated-no-kick"),
        pytest.param([flow(zone=T + 1)], True, [], [], id="other-vpc"),
        pytest.param([flow(reply_src="10.0.0.9")], True, [], [], id="other-address"),
        pytest.param([INBOUND], False, [INBOUND], [], id="eip-removed-delete-only"),
    ],
)
def test_select(flows: list[Flow], kick: bool, deleted: list[Flow], kicks: list[Kick]) -> None:
    chosen = select(flows, T, {VIP}, kick)
    assert (list(chosen.delete), list(chosen.kick)) == (deleted, kicks)


# ------------------------------------------------------------------ conntrack parse


def nla(kind: int, payload: bytes) -> bytes:
    return netlink.attr(kind, payload)


def test_a_conntrack_message_parses_into_a_flow() -> None:
    def tup(src: str, dst: str, sport: int, dport: int) -> bytes:
        return ct._tuple_attr(src, dst, 6, sport, dport)

    body = (
        nla(ct.CTA_TUPLE_ORIG | ct.NLA_F_NESTED, tup("198.51.100.100", EIP, 40000, 7000))
        + nla(ct.CTA_TUPLE_REPLY | ct.NLA_F_NESTED, tup(VIP, "198.51.100.100", 7000, 40000))
        + nla(ct.CTA_STATUS, struct.pack("!I", IPS_DST_NAT | 0x8))
        + nla(
            ct.CTA_PROTOINFO | ct.NLA_F_NESTED,
            nla(ct.CTA_PROTOINFO_TCP | ct.NLA_F_NESTED, nla(ct.CTA_PROTOINFO_TCP_STATE, bytes([3]))),
        )
        + nla(ct.CTA_ZONE, struct.pack("!H", T))
    )
    assert ct.parse_flow(body) == replace(INBOUND, status=IPS_DST_NAT | 0x8)
    assert ct.parse_flow(nla(ct.CTA_ZONE, struct.pack("!H", T))) is None


def test_the_kick_is_a_well_formed_ack() -> None:
    packet = ct.ack_packet(Kick(EIP, 7000, "198.51.100.100", 40000), seq=1, ack=2)
    assert ct._checksum(packet[:20]) == 0  # the IP header checksums to zero
    src, dst = packet[12:16], packet[16:20]
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(packet) - 20)
    assert ct._checksum(pseudo + packet[20:]) == 0
    sport, dport, seq, ack, _off, flags = struct.unpack_from("!HHIIBB", packet, 20)
    assert (sport, dport, seq, ack, flags) == (7000, 40000, 1, 2, ct.TCP_ACK)
