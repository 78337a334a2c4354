"""The tunnel between hosts in the desired host and the plan (kernel side: tests/kernel/test_tunnel.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from havip.agent import actions as a
from havip.agent import marks
from havip.agent.desired import DesiredHost, Uplink, build_desired
from havip.agent.fakekernel import FakeState
from havip.agent.observed import Encap
from havip.agent.plan import plan
from havip.agent.ruleset import render_tables
from havip.agent.settings import TunnelSettings
from havip.agent.tunnel import TunnelSource
from havip.domain.desired import DesiredPeer, DesiredRemoteInterface, DesiredState

from .agent_fixtures import Eip, Iface, Route, State, Vip

pytestmark = pytest.mark.unit

T = marks.TABLE_MIN
TUN = marks.TUNNEL_DEVICE
H2 = "10.255.0.2"
H3 = "10.255.0.3"


def remote(id: str, host: str, addresses: list[str], claimable: list[str] | None = None) -> DesiredRemoteInterface:
    return DesiredRemoteInterface(
        id=id, vpc_id="vpc-1", subnet_id="vsw-1", host=host, addresses=addresses, claimable=claimable or []
    )


def world(underlay: str | None = "10.255.0.1", holder_host: str = "h2") -> DesiredState:
    """eni-1 here (h1); eni-2 on h2 and eni-3 on h3; the HaVip's claimants are eni-1
    (here) and eni-2 (on h2), held as ``holder_host`` says; route entries via the HaVip,
    via eni-3 (on h3) and via eni-1 (here)."""
    holder = "eni-1" if holder_host == "h1" else "eni-2"
    base = State(
        [Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "p1", ["10.0.0.11"])],
        [Vip("havip-1", "vpc-1", "10.0.0.3", ["eni-1"], holder, holder_host)],
        vpcs={"vpc-1": "10.0.0.0/24"},
        routes=[
            Route("rte-h", "vpc-1", "192.168.1.0/24", "havip", "havip-1", None, "10.0.0.3"),
            Route("rte-3", "vpc-1", "192.168.3.0/24", "instance", "i-3", "eni-3", "10.0.0.13"),
            Route("rte-1", "vpc-1", "192.168.4.0/24", "instance", "i-1", "eni-1", "10.0.0.11"),
        ],
    )
    return replace(
        base,
        underlay=underlay,
        vnis={"vpc-1": 100},
        peers=[DesiredPeer(host="h2", underlay=H2), DesiredPeer(host="h3", underlay=H3)],
        remote_interfaces=[
            remote("eni-2", "h2", ["10.0.0.12", "10.0.0.22"], ["havip-1"]),
            remote("eni-3", "h3", ["10.0.0.13"]),
        ],
    )


def tunnel_routes(d: DesiredHost) -> dict[str, Encap]:
    return {r.dst: r.encap for r in d.tunnel_routes}


# ----------------------------------------------------------------- desired model


def test_without_an_underlay_nothing_of_the_tunnel_is_built() -> None:
    with_remotes = build_desired(world(underlay=None))
    plain = build_desired(replace(world(underlay=None), vnis={}, peers=[], remote_interfaces=[]))
    assert with_remotes == plain
    assert with_remotes.tunnel is None and with_remotes.tunnel_routes == ()
    assert ("ip", marks.NFT_TUNNEL) not in render_tables(with_remotes)
    acts = plan(with_remotes, FakeState().read())
    assert not [x for x in acts if isinstance(x, a.CreateTunnel) or getattr(x, "encap", None)]


def test_remote_addresses_and_the_vip_held_on_a_peer_go_into_the_tunnel_towards_it() -> None:
    d = build_desired(world(), tunnel=TunnelSettings(mtu=1400, port=4791))
    assert tunnel_routes(d) == {
        "10.0.0.3/32": Encap(100, H2),  # the VIP, held on h2
        "10.0.0.12/32": Encap(100, H2),
        "10.0.0.22/32": Encap(100, H2),
        "10.0.0.13/32": Encap(100, H3),
    }
    assert [r.havip_id for r in d.tunnel_routes if r.dst == "10.0.0.3/32"] == ["havip-1"]
    assert d.vips == ()
    entries = {r.route_id: (r.device, r.gateway, r.encap, r.havip_id) for r in d.routes}
    assert entries == {
        "rte-h": (TUN, None, Encap(100, H2), "havip-1"),  # follows the HaVip held on h2
        "rte-3": (TUN, None, Encap(100, H3), None),  # its next hop lives on h3
        "rte-1": ("p1", "10.0.0.11", None, None),  # here: unchanged
    }
    tun = d.tunnel
    assert tun is not None
    assert (tun.device, tun.underlay, tun.port, tun.mtu) == (TUN, "10.255.0.1", 4791, 1400)
    assert tun.vnis == ((100, T),)
    assert tun.peers == (H2, H3)
    assert tun.sources == (
        TunnelSource(underlay=H2, vni=100, cidr="10.0.0.3/32"),  # the HaVip eni-2 may claim
        TunnelSource(underlay=H2, vni=100, cidr="10.0.0.12/32"),
        TunnelSource(underlay=H2, vni=100, cidr="10.0.0.22/32"),
        TunnelSource(underlay=H2, vni=100, cidr="192.168.1.0/24"),  # eni-2 may hold the entry's next hop
        TunnelSource(underlay=H3, vni=100, cidr="10.0.0.13/32"),
        TunnelSource(underlay=H3, vni=100, cidr="192.168.3.0/24"),  # eni-3 is the entry's next hop
    )


@pytest.mark.parametrize(
    ("holder_host", "local"),
    [pytest.param("h1", {}, id="held-here"), pytest.param("h2", {"havip-1": "eni-1"}, id="claimed-here-first")],
)
def test_a_vip_held_or_claimed_here_stays_on_its_port(holder_host: str, local: dict[str, str]) -> None:
    d = build_desired(world(holder_host=holder_host), local_holders=local)
    assert "10.0.0.3/32" not in tunnel_routes(d)
    assert [(v.ip, v.device) for v in d.vips] == [("10.0.0.3", "p1")]
    assert {r.route_id: r.device for r in d.routes}["rte-h"] == "p1"


def test_what_cannot_cross_is_reported_not_built() -> None:
    state = replace(
        world(), vnis={}, remote_interfaces=[*world().remote_interfaces, remote("eni-9", "h9", ["10.0.0.99"])]
    )
    d = build_desired(state)
    assert d.tunnel_routes == () and d.tunnel is not None and d.tunnel.vnis == ()
    assert d.problems == ("VPC vpc-1 has no VNI: nothing of it crosses the tunnel",)
    d = build_desired(replace(state, vnis={"vpc-1": 100}))
    assert "10.0.0.99/32" not in tunnel_routes(d)
    assert d.problems == ("remote interface eni-9: its host 'h9' is not a peer with an underlay",)


def test_overlapping_sources_are_merged_for_the_interval_set() -> None:
    state = world()
    state = replace(state, routes=[Route("r", "vpc-1", "10.0.0.12/31", "instance", "i-2", "eni-2", "10.0.0.12")])
    d = build_desired(state)
    assert d.tunnel is not None
    cidrs = [s.cidr for s in d.tunnel.sources if s.underlay == H2]
    assert cidrs == ["10.0.0.3/32", "10.0.0.12/31", "10.0.0.22/32"]
    text = render_tables(d)[("ip", marks.NFT_TUNNEL)][1]
    assert f"{H2} . 100 . 167772172-167772173," in text  # 10.0.0.12-10.0.0.13 as integers
    assert f"{H2} . 100 . 167772163," in text


# ------------------------------------------------------------------------- plan


def applied(state: DesiredState, fake: FakeState) -> list[a.Action]:
    acts = plan(build_desired(state, fake.read().vpc_tables()), fake.read())
    assert fake.apply(acts) == []
    return acts


def fake_host() -> FakeState:
    fake = FakeState()
    fake.add_device("p1")
    return fake


def test_the_plan_builds_the_tunnel_and_then_plans_nothing() -> None:
    fake = fake_host()
    acts = applied(world(), fake)
    assert a.CreateTunnel(name=TUN, port=4790, mtu=1464) in acts
    assert a.AddRule(marks.RULE_PREF_TUNNEL, None, T, tun_id=100) in acts
    assert a.AddRule(marks.RULE_PREF_TUNNEL_UNREACHABLE, TUN, None) in acts
    assert a.AddRule(marks.RULE_PREF_TUNNEL_REPLY, "lo", T, marks.port_mark(T), marks.MARK_FULL, 0) in acts
    assert a.ReplaceRoute(T, "10.0.0.13/32", TUN, None, Encap(100, H3)) in acts
    assert [x.name for x in acts if isinstance(x, a.ApplyNftTable) and x.name == marks.NFT_TUNNEL] == [marks.NFT_TUNNEL]
    assert applied(world(), fake) == []


def test_a_peer_that_moves_its_underlay_gets_its_routes_replaced_and_only_those() -> None:
    fake = fake_host()
    applied(world(), fake)
    moved = replace(
        world(), peers=[DesiredPeer(host="h2", underlay=H2), DesiredPeer(host="h3", underlay="10.255.0.33")]
    )
    acts = applied(moved, fake)
    routes = [x for x in acts if isinstance(x, a.ReplaceRoute)]
    assert routes == [
        a.ReplaceRoute(T, "10.0.0.13/32", TUN, None, Encap(100, "10.255.0.33")),
        a.ReplaceRoute(T, "192.168.3.0/24", TUN, None, Encap(100, "10.255.0.33")),
    ]
    assert [type(x) for x in acts if not isinstance(x, a.ReplaceRoute)] == [a.ApplyNftTable]


def test_removing_a_peer_removes_its_routes_and_the_underlay_the_whole_tunnel() -> None:
    fake = fake_host()
    applied(world(), fake)
    without_h3 = replace(
        world(), peers=world().peers[:1], remote_interfaces=[r for r in world().remote_interfaces if r.host == "h2"]
    )
    acts = applied(without_h3, fake)
    assert a.DeleteRoute(T, "10.0.0.13/32") in acts
    assert a.ReplaceRoute(T, "192.168.3.0/24", f"havip-s{T}", None, None) in acts  # back into the sink
    gone = applied(replace(world(), underlay=None), fake)
    assert a.DeleteLink(TUN) in gone
    assert a.DeleteNftTable("ip", marks.NFT_TUNNEL) in gone
    assert {x.priority for x in gone if isinstance(x, a.DeleteRule)} == set(marks.TUNNEL_RULE_PREFS)
    assert not [r for r in fake.read().routes if r.encap is not None]
    assert applied(replace(world(), underlay=None), fake) == []


# ------------------------------------------------------- EIPs translated on a peer


def eip_world(holder_host: str = "h1") -> DesiredState:
    """``world`` with an EIP on the HaVip (the VIP 10.0.0.3), translated by h2."""
    return replace(world(holder_host=holder_host), eips=[Eip("198.51.100.1", "vpc-1", "10.0.0.3", "havip-1")])


def test_with_eips_translated_on_a_peer_the_catch_all_goes_to_it_and_the_vpc_stays_here() -> None:
    d = build_desired(eip_world(), tunnel=TunnelSettings(eip_host="h2"))
    assert d.eips == () and not d.problems  # nothing to translate here, and nothing missing
    assert tunnel_routes(d)["0.0.0.0/0"] == Encap(100, H2)
    assert d.tunnel is not None
    assert d.tunnel.translated == (TunnelSource(underlay=H2, vni=100, cidr="10.0.0.3/32"),)
    assert d.tunnel.vpc_nets == ((100, "10.0.0.0/24"),)
    routes = {
        (r.table, r.dst): (r.device, r.encap) for r in plan(d, FakeState().read()) if isinstance(r, a.ReplaceRoute)
    }
    assert routes[(T, "0.0.0.0/0")] == (TUN, Encap(100, H2))
    assert routes[(T, "10.0.0.0/24")] == (marks.sink_name(T), None)  # an unknown VPC address ends here
    text = render_tables(d)[("ip", marks.NFT_TUNNEL)][1]
    assert f"{H2} . 100 . {int(ipaddress.IPv4Address('10.0.0.3'))}," in text
    assert "@th,96,24 . @th,224,32 @vpc_nets counter name tunnel_foreign_source drop" in text
    assert "ip saddr . @th,96,24 . @th,256,32 != @translated counter name tunnel_foreign_source drop" in text
    assert "vni_mark" not in text  # h1 translates nothing itself


@pytest.mark.parametrize(
    "eip_host",
    [pytest.param(None, id="no-eip-host"), pytest.param("h1", id="this-host"), pytest.param("h9", id="not-a-peer")],
)
def test_without_a_translating_peer_the_vpc_keeps_its_sink_and_takes_nothing_translated(eip_host: str | None) -> None:
    d = build_desired(eip_world(), tunnel=TunnelSettings(eip_host=eip_host))
    assert "0.0.0.0/0" not in tunnel_routes(d)
    assert d.tunnel is not None and d.tunnel.translated == () and d.tunnel.vpc_nets == ()
    text = render_tables(d)[("ip", marks.NFT_TUNNEL)][1]
    assert "@translated" not in text and "@vpc_nets" not in text
    assert d.problems  # no uplink and no peer to send the EIP's traffic to: said so


def test_the_translating_host_marks_a_peer_holders_packets_from_the_eip_address_for_the_uplink() -> None:
    """h1 with the uplink, the VIP held on h2: the tunnel's VNI mark and the EIP's private
    address give the egress mark and the VPC's conntrack zone, so the reply is un-NATed."""
    d = build_desired(eip_world(holder_host="h2"), uplink=Uplink("uplink", "198.51.100.253"))
    assert [e.eip for e in d.eips] == ["198.51.100.1"] and tunnel_routes(d)["10.0.0.3/32"] == Encap(100, H2)
    tables = render_tables(d)
    tunnel, nat = tables[("ip", marks.NFT_TUNNEL)][1], tables[("ip", marks.NFT_NAT)][1]
    assert f"100 : {marks.tunnel_mark(T):#x}," in tunnel
    assert "udp dport 4790 meta mark set @th,96,24 map @vni_mark" in tunnel
    assert f'oifname "{TUN}" meta mark != 0 meta mark set 0' in tunnel  # the outer route never sees a VPC's mark
    assert f"{marks.tunnel_mark(T):#x} . 10.0.0.3 : {marks.egress_mark(T):#x}," in nat
    assert f"{marks.tunnel_mark(T):#x} : {T}," in nat
    assert f'iifname "{TUN}" meta mark . ip saddr @tunnel_egress ct zone set meta mark map @tunnel_zone' in nat
