"""The read-back's raw rtnetlink dumps give exactly what pyroute2's decoding gave.

A host namespace is populated the way the agent leaves it (a reconcile: sinks, ports,
VPC tables, VIP and route entry routes, neighbours, rules, all with the agent's marks)
and then with what an operator or another tool may add: links of other kinds (tap, tun,
bridge, down, aliased), rules with marks, masks, ``suppress_prefixlength``, ``iif``,
unreachable rules, routes with gateways, multipath and blackhole routes in several
tables, dynamic and permanent neighbours; and a few hundred of each so that every
dump spans several datagrams. ``pyroute2_read`` is the read-back as it was before
``rtdump`` (pyroute2's ``IPRoute``); both must agree on every field.
"""

from __future__ import annotations

import socket

import pytest
from pyroute2 import IPRoute

from havip.agent import actions as a
from havip.agent import marks
from havip.agent.dataplane import Dataplane
from havip.agent.dataplane.kernel import (
    FR_ACT_TO_TBL,
    IFF_UP,
    NO_SUPPRESS,
    NUD_PERMANENT,
    PORT_SYSCTLS,
    UPLINK_SYSCTLS,
)
from havip.agent.observed import Link, Neigh, Route, Rule

from .netlab import Lab, ping, reconcile, sh
from .states import Iface, State, Vip
from .states import Route as Entry

pytestmark = pytest.mark.kernel

MACS = {n: f"52:54:00:00:01:{n:02x}" for n in range(1, 8)}
MANY = 300  # ifbs, routes and neighbours: each dump needs several 32 KiB datagrams
IFF_TAP = 2


def pyroute2_read(
    dp: Dataplane,
) -> tuple[dict[str, Link], frozenset[Route], frozenset[Neigh], frozenset[Rule]]:
    """Links, routes, neighbours and rules as the read-back decoded them with pyroute2."""

    def read() -> tuple[dict[str, Link], frozenset[Route], frozenset[Neigh], frozenset[Rule]]:
        with IPRoute() as ipr:
            links = {}
            with_ipv4 = {msg["index"] for msg in ipr.get_addr(family=socket.AF_INET)}
            for msg in ipr.get_links():
                name = msg.get("ifname")
                info = msg.get("linkinfo")
                kind = info.get("kind") if info is not None else None
                data = info.get("data") if info is not None else None
                if kind == "tun" and data is not None and data.get("IFLA_TUN_TYPE") == IFF_TAP:
                    kind = "tap"
                links[name] = Link(
                    name=name,
                    index=msg["index"],
                    alias=msg.get("ifalias") or None,
                    mac=(msg.get("address") or "").lower(),
                    up=bool(msg["flags"] & IFF_UP),
                    kind=kind,
                    has_ipv4=msg["index"] in with_ipv4,
                    mtu=msg.get("mtu") or 0,
                    tunnel_port=data.get("IFLA_VXLAN_PORT") if kind == "vxlan" and data is not None else None,
                    port_sysctls_ok=name != "lo" and dp._sysctls_ok(PORT_SYSCTLS, name),
                    uplink_sysctls_ok=name != "lo" and dp._sysctls_ok(UPLINK_SYSCTLS, name),
                )
            names = {link.index: n for n, link in links.items()}
            routes = set()
            for msg in ipr.route("dump", family=socket.AF_INET):
                table = msg.get("table")
                if marks.is_our_route_table(table):
                    dst = f"{msg.get('dst') or '0.0.0.0'}/{msg['dst_len']}"
                    routes.add(
                        Route(
                            table=table,
                            dst=dst,
                            device=names.get(msg.get("oif")),
                            proto=msg["proto"],
                            gateway=msg.get("gateway"),
                        )
                    )
            neighs = set()
            for msg in ipr.get_neighbours(family=socket.AF_INET):
                dev = names.get(msg["ifindex"])
                if dev is not None and msg.get("dst") is not None:
                    mac = (msg.get("lladdr") or "").lower()
                    neighs.add(Neigh(dev, msg.get("dst"), mac, bool(msg["state"] & NUD_PERMANENT)))
            rules = set()
            for msg in ipr.get_rules(family=socket.AF_INET):
                suppress = msg.get("suppress_prefixlen")
                rules.add(
                    Rule(
                        priority=msg.get("priority") or 0,
                        iif=msg.get("iifname"),
                        table=msg.get("table") if msg["action"] == FR_ACT_TO_TBL else None,
                        proto=msg.get("protocol") or 0,
                        fwmark=msg.get("fwmark"),
                        fwmask=msg.get("fwmask") if msg.get("fwmark") is not None else None,
                        suppress_prefixlength=None if suppress in (None, NO_SUPPRESS) else suppress,
                        tun_id=msg.get("tun_id"),
                    )
                )
            return links, frozenset(routes), frozenset(neighs), frozenset(rules)

    return dp.ns.run(read)


def populate(lab: Lab) -> None:
    """The agent's objects (one reconcile, two VPCs) and everything else a host may hold."""
    for n in (1, 2, 3):
        lab.add_instance(f"i{n}", f"10.0.0.1{n}", MACS[n])
    lab.add_instance("b1", "10.0.0.11", MACS[4])
    lab.add_internet()
    state = State(
        [Iface(f"eni-{n}", "vpc-1", MACS[n], f"p-i{n}", [f"10.0.0.1{n}"]) for n in (1, 2, 3)]
        + [Iface("eni-b1", "vpc-2", MACS[4], "p-b1", ["10.0.0.11"])],
        [Vip("havip-1", "vpc-1", "10.0.0.3", ["eni-1", "eni-2"], "eni-1", "h1")],
        routes=[
            Entry("rte-1", "vpc-1", "192.168.50.0/24", "havip", "havip-1"),
            Entry("rte-2", "vpc-1", "192.168.60.0/24", "instance", "i-3", "eni-3"),
        ],
    )
    reconcile(lab.dataplane(), state)
    assert ping(lab.instances["i1"], "10.0.0.12") == 1  # dynamic neighbours on both ports
    t0, t1, egress = str(marks.TABLE_MIN), str(marks.TABLE_MIN + 1), str(marks.EGRESS_TABLE)
    commands = [
        "link add d-alias type ifb",
        "link set d-alias alias havip:other up",
        "link add d-down type ifb",
        "link add br0 type bridge",
        "tuntap add dev tp0 mode tap",
        "tuntap add dev tn0 mode tun",
        "addr add 10.77.0.1/24 dev d-alias",
        f"rule add pref 9001 fwmark 0x10000/0xffff0000 lookup {egress} proto 77",
        "rule add pref 100 iif p-i1 unreachable proto 77",
        "rule add pref 200 lookup main suppress_prefixlength 0",
        f"rule add pref 300 fwmark 0x5 lookup {t1}",
        "rule add from 10.9.0.0/16 lookup 300",
        "rule add pref 400 tun_id 100 lookup 300",
        "link add vx0 type vxlan external dstport 4791",
        f"route add default via 198.51.100.253 dev uplink table {egress} proto 77",
        f"route add blackhole 10.50.0.0/16 table {t1}",
        f"route add 10.60.0.0/16 table {t0} nexthop via 10.0.0.11 dev p-i1 onlink nexthop via 10.0.0.12 dev p-i2 onlink",
        f"route add 10.61.0.0/16 via 10.0.0.13 dev p-i3 onlink table {t0} proto 77",
        "route add 10.62.0.0/16 dev p-i3 table 300",
        "neigh add 10.0.0.99 lladdr 52:54:00:AA:BB:CC dev p-i3 nud permanent",
        "neigh add 10.0.0.98 lladdr 52:54:00:aa:bb:cd dev p-i3 nud stale",
    ]
    commands += [f"link add x{n} type ifb" for n in range(MANY)]
    commands += [f"route add 10.{100 + n // 250}.{n % 250}.0/24 dev p-i3 table {t1} proto 77" for n in range(MANY)]
    commands += [
        f"neigh add 10.0.{1 + n // 250}.{n % 250} lladdr 02:00:00:00:01:{n % 256:02x} dev p-i3 nud permanent"
        for n in range(MANY)
    ]
    sh("ip", "-batch", "-", ns=lab.host, stdin="\n".join(commands) + "\n")


def test_raw_dumps_read_what_pyroute2_read(lab: Lab) -> None:
    populate(lab)
    dp = lab.dataplane()
    observed = dp.read()
    links, routes, neighs, rules = pyroute2_read(dp)
    assert len(observed.links) > MANY and len(observed.routes) > MANY and len(observed.neighs) > MANY
    assert {observed.links[n].kind for n in ("tp0", "tn0", "d-alias", "p-i1", "lo")} == {
        "tap",
        "tun",
        "ifb",
        "veth",
        None,
    }
    assert observed.links["d-alias"].alias == "havip:other" and observed.links["d-alias"].has_ipv4
    assert any(r.gateway for r in observed.routes) and any(r.fwmask for r in observed.rules)
    assert observed.links["vx0"].tunnel_port == 4791 and any(r.tun_id == 100 for r in observed.rules)
    assert observed.links == links
    assert observed.routes == routes
    assert observed.neighs == neighs
    assert observed.rules == rules


def test_an_action_on_a_device_recreated_since_the_read_finds_its_new_ifindex(lab: Lab) -> None:
    """The apply takes ifindexes from the last read; a port deleted and recreated under
    its name in between answers ENODEV to the old one, and the action is run again."""
    inst = lab.add_instance("i1", "10.0.0.11", MACS[1])
    dp = lab.dataplane()
    old = dp.read().links[inst.port].index
    sh("ip", "link", "del", inst.port, ns=lab.host)
    sh("ip", "link", "add", inst.port, "netns", lab.host, "type", "veth", "peer", "name", "eth0", "netns", inst.ns)
    sh("ip", "link", "set", inst.port, "up", ns=lab.host)
    sh("ip", "link", "set", "eth0", "up", ns=inst.ns)
    table = marks.TABLE_MIN
    acts: list[a.Action] = [
        a.ReplaceNeigh(inst.port, inst.ip, inst.mac),
        a.ReplaceRoute(table, f"{inst.ip}/32", inst.port),
    ]
    assert dp.apply(acts) == []
    observed = dp.read()
    assert observed.links[inst.port].index != old
    assert Route(table=table, dst=f"{inst.ip}/32", device=inst.port, proto=marks.RTPROT_HAVIP) in observed.routes
    assert Neigh(inst.port, inst.ip, inst.mac, True) in observed.neighs
