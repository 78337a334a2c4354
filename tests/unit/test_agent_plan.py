"""Planning: desired kernel state from the control plane's state, and the actions to reach it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from havip.agent import actions as a
from havip.agent import marks
from havip.agent.desired import allocate_tables, build_desired, port_device_names
from havip.agent.observed import Link, Neigh, Observed, Route, Rule
from havip.agent.plan import plan
from havip.agent.ruleset import render_tables
from havip.domain.desired import DesiredState

from .agent_fixtures import Iface, State, two_ports

pytestmark = pytest.mark.unit

GW = marks.GATEWAY_MAC
T = marks.TABLE_MIN
P = marks.RTPROT_HAVIP


def port_link(name: str, iface: str, index: int = 2) -> Link:
    return Link(
        name=name, index=index, alias=marks.ALIAS_PORT + iface, mac=GW, up=True, kind="veth", port_sysctls_ok=True
    )


def converged(state: DesiredState) -> Observed:
    """The kernel after a perfect apply of ``state`` (built by hand, not by the planner)."""
    d = build_desired(state)
    nft = {key: digest for key, (digest, _text) in render_tables(d).items()}
    links = {
        v.sink: Link(
            name=v.sink, index=1, alias=marks.ALIAS_SINK + v.vpc_id, mac="aa:00:00:00:00:01", up=True, kind="ifb"
        )
        for v in d.vpcs
    }
    links |= {p.device: port_link(p.device, p.interface_id) for p in d.ports}
    routes = {Route(table=v.table, dst="0.0.0.0/0", device=v.sink, proto=P) for v in d.vpcs}
    routes |= {Route(table=p.table, dst=f"{ip}/32", device=p.device, proto=P) for p in d.ports for ip in p.addresses}
    routes |= {Route(table=v.table, dst=f"{v.ip}/32", device=v.device, proto=P) for v in d.vips}
    neighs = {Neigh(p.device, ip, p.mac, True) for p in d.ports for ip in p.addresses}
    neighs |= {Neigh(v.device, v.ip, v.mac, True) for v in d.vips}
    rules = {Rule(priority=marks.RULE_PREF_LOOKUP, iif=p.device, table=p.table, proto=P) for p in d.ports}
    rules |= {Rule(priority=marks.RULE_PREF_UNREACHABLE, iif=p.device, table=None, proto=P) for p in d.ports}
    return Observed(True, True, links, frozenset(routes), frozenset(neighs), frozenset(rules), nft)


def kinds(acts: list[a.Action]) -> list[str]:
    return [type(x).__name__ for x in acts]


# ----------------------------------------------------------------- desired model


def test_desired_ports_tables_and_vip_route() -> None:
    d = build_desired(two_ports())
    assert [(p.device, p.table, p.addresses, p.claimable) for p in d.ports] == [
        ("p1", T, ("10.0.0.11",), ("10.0.0.3",)),
        ("p2", T, ("10.0.0.12",), ("10.0.0.3",)),
    ]
    assert [(v.ip, v.device, v.mac) for v in d.vips] == [("10.0.0.3", "p1", "52:54:00:00:00:01")]
    assert d.havip_ips == ("10.0.0.3",)


@pytest.mark.parametrize(
    ("holder", "holder_host", "local", "expected"),
    [
        pytest.param("eni-1", "h1", {}, "p1", id="held-here"),
        pytest.param("eni-1", None, {}, "p1", id="held-host-unknown"),
        pytest.param("eni-1", "h2", {}, None, id="held-on-another-host"),
        pytest.param(None, None, {}, None, id="unheld"),
        pytest.param("eni-1", "h1", {"havip-1": "eni-2"}, "p2", id="local-claim-wins"),
        pytest.param(None, None, {"havip-1": "eni-9"}, None, id="local-claim-unknown-port"),
    ],
)
def test_vip_route_follows_holder(
    holder: str | None, holder_host: str | None, local: dict[str, str], expected: str | None
) -> None:
    d = build_desired(two_ports(holder, holder_host), local_holders=local)
    assert [v.device for v in d.vips] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("vpcs", "existing", "expected"),
    [
        pytest.param(["b", "a"], {}, {"a": T, "b": T + 1}, id="fresh"),
        pytest.param(["a", "b"], {"b": T}, {"a": T + 1, "b": T}, id="keeps-existing"),
        pytest.param(["a"], {"a": T + 5, "gone": T}, {"a": T + 5}, id="ignores-others"),
    ],
)
def test_allocate_tables(vpcs: list[str], existing: dict[str, int], expected: dict[str, int]) -> None:
    assert allocate_tables(vpcs, existing) == expected


def test_same_cidr_in_two_vpcs_gets_two_tables() -> None:
    st = State(
        [
            Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "a1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-2", "52:54:00:00:00:02", "b1", ["10.0.0.11"]),
        ]
    )
    d = build_desired(st)
    assert {(p.device, p.table) for p in d.ports} == {("a1", T), ("b1", T + 1)}


def test_interface_without_device_gets_a_created_veth() -> None:
    st = State([Iface("eni-x", "vpc-1", "52:54:00:00:00:09", None, ["10.0.0.9"])])
    (port,) = build_desired(st).ports
    host, peer = port_device_names("eni-x")
    assert (port.device, port.create_peer, port.alias) == (host, peer, marks.ALIAS_VETH + "eni-x")
    assert len(host) <= 15 and len(peer) <= 15
    assert kinds(plan(build_desired(st), Observed()))[:3] == ["SetHostSysctls", "CreateSink", "CreateVeth"]


def test_two_interfaces_naming_one_device_keep_the_first() -> None:
    st = State(
        [
            Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "p1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-1", "52:54:00:00:00:02", "p1", ["10.0.0.12"]),
        ]
    )
    d = build_desired(st)
    assert [p.interface_id for p in d.ports] == ["eni-1"]
    assert d.problems and "eni-2" in d.problems[0]


# ------------------------------------------------------------------------ plan


def test_empty_kernel_gets_everything_in_order() -> None:
    st = two_ports()
    obs = Observed(
        complete=True, links={"p1": Link(name="p1", index=2, kind="veth"), "p2": Link(name="p2", index=3, kind="tap")}
    )
    acts = plan(build_desired(st), obs)
    assert kinds(acts) == [
        "SetHostSysctls",
        "CreateSink",
        *["AddRule"] * 4,
        *["ConfigurePort"] * 2,
        *["ApplyNftTable"] * 2,
        *["ReplaceRoute"] * 4,
        *["ReplaceNeigh"] * 3,
    ]
    assert a.ReplaceRoute(T, "10.0.0.3/32", "p1") in acts
    assert a.ReplaceNeigh("p1", "10.0.0.3", "52:54:00:00:00:01") in acts


def test_converged_kernel_plans_nothing() -> None:
    assert plan(build_desired(two_ports()), converged(two_ports())) == []


def test_missing_device_is_waited_for_not_routed() -> None:
    obs = replace(converged(two_ports()), links={})
    acts = plan(build_desired(two_ports()), obs)
    assert not any(isinstance(x, a.ConfigurePort | a.ReplaceNeigh) for x in acts)
    assert all(x.device not in ("p1", "p2") for x in acts if isinstance(x, a.ReplaceRoute))


def foreign(obs: Observed) -> Observed:
    """Add objects that are not ours: another daemon's route in our table range, a
    main-table route, a rule outside our priorities, an unmarked device, a foreign
    nft table and a learned neighbour."""
    links = dict(obs.links) | {
        "eth9": Link(name="eth9", index=9, alias=None, mac="02:00:00:00:00:09", up=True, kind="veth")
    }
    return replace(
        obs,
        links=links,
        routes=obs.routes
        | {
            Route(table=T, dst="192.0.2.0/24", device="eth9", proto=4),
            Route(table=254, dst="0.0.0.0/0", device="eth9", proto=P),
        },
        rules=obs.rules
        | {
            Rule(priority=500, iif="eth9", table=100, proto=P),
            Rule(priority=marks.RULE_PREF_LOOKUP, iif="eth9", table=100, proto=4),
        },
        neighs=obs.neighs
        | {Neigh("eth9", "10.9.9.9", "02:00:00:00:00:10", True), Neigh("p1", "10.0.0.99", "02:aa:00:00:00:01", False)},
        nft=dict(obs.nft) | {("inet", "filter"): ""},
    )


@pytest.mark.parametrize(
    ("name", "state", "observed", "expected"),
    [
        pytest.param(
            "vip-moves",
            two_ports("eni-2"),
            converged(two_ports("eni-1")),
            [
                a.ReplaceRoute(T, "10.0.0.3/32", "p2"),
                a.ReplaceNeigh("p2", "10.0.0.3", "52:54:00:00:00:02"),
                a.DeleteNeigh("p1", "10.0.0.3"),
            ],
            id="vip-moves",
        ),
        pytest.param(
            "vip-released",
            two_ports(None, None),
            converged(two_ports("eni-1")),
            [a.DeleteRoute(T, "10.0.0.3/32"), a.DeleteNeigh("p1", "10.0.0.3")],
            id="vip-released",
        ),
        pytest.param("foreign-untouched", two_ports(), foreign(converged(two_ports())), [], id="foreign-untouched"),
        pytest.param(
            "port-removed",
            State([Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "p1", ["10.0.0.11"])]),
            converged(two_ports(None, None)),
            [
                a.ApplyNftTable("netdev", "havip_antispoof", "", ""),
                a.DeleteRoute(T, "10.0.0.12/32"),
                a.DeleteNeigh("p2", "10.0.0.12"),
                a.DeleteNftTable("arp", "havip_garp"),
                a.DeleteRule(marks.RULE_PREF_LOOKUP, "p2", T),
                a.DeleteRule(marks.RULE_PREF_UNREACHABLE, "p2", None),
                a.ReleasePort("p2"),
            ],
            id="port-removed",
        ),
        pytest.param(
            "everything-removed",
            State([], []),
            converged(two_ports(None, None)),
            [
                a.DeleteRoute(T, "0.0.0.0/0"),
                a.DeleteRoute(T, "10.0.0.11/32"),
                a.DeleteRoute(T, "10.0.0.12/32"),
                a.DeleteNeigh("p1", "10.0.0.11"),
                a.DeleteNeigh("p2", "10.0.0.12"),
                a.DeleteNftTable("arp", "havip_garp"),
                a.DeleteNftTable("netdev", "havip_antispoof"),
                *[a.DeleteRule(pref, dev, tbl) for pref, tbl in ((10000, T), (10001, None)) for dev in ("p1", "p2")],
                a.DeleteLink(marks.sink_name(T)),
                a.ReleasePort("p1"),
                a.ReleasePort("p2"),
            ],
            id="everything-removed",
        ),
    ],
)
def test_plan_from_converged(name: str, state: DesiredState, observed: Observed, expected: list[a.Action]) -> None:
    acts = plan(build_desired(state), observed)
    # the ruleset text is checked by the golden test; compare only which table is applied
    norm = [a.ApplyNftTable(x.family, x.name, "", "") if isinstance(x, a.ApplyNftTable) else x for x in acts]
    assert norm == expected


def test_nothing_deleted_before_first_full_snapshot() -> None:
    obs = replace(converged(two_ports("eni-1")), complete=False)
    acts = plan(build_desired(State([], [])), obs)
    assert acts == []
    acts = plan(build_desired(two_ports("eni-2")), obs)
    assert not any(type(x).__name__.startswith(("Delete", "Release")) for x in acts)
    assert a.ReplaceRoute(T, "10.0.0.3/32", "p2") in acts


@pytest.mark.parametrize(
    "drift",
    [
        pytest.param(lambda o: replace(o, host_ready=False), id="host-sysctls"),
        pytest.param(
            lambda o: replace(o, links=o.links | {"p1": replace(o.links["p1"], port_sysctls_ok=False)}),
            id="port-sysctls",
        ),
        pytest.param(
            lambda o: replace(o, links=o.links | {"p1": replace(o.links["p1"], mac="52:54:00:00:00:01")}), id="port-mac"
        ),
        pytest.param(lambda o: replace(o, links=o.links | {"p1": replace(o.links["p1"], up=False)}), id="port-down"),
        pytest.param(lambda o: replace(o, nft={}), id="nft-missing"),
        pytest.param(lambda o: replace(o, nft={k: "old" for k in o.nft}), id="nft-stale"),
        pytest.param(lambda o: replace(o, rules=frozenset()), id="rules-missing"),
        pytest.param(lambda o: replace(o, neighs=frozenset()), id="neighs-missing"),
    ],
)
def test_drift_is_repaired_without_deleting(drift: object) -> None:
    obs = drift(converged(two_ports()))  # type: ignore[operator]
    acts = plan(build_desired(two_ports()), obs)
    assert acts
    assert not any(type(x).__name__.startswith(("Delete", "Release")) for x in acts)
