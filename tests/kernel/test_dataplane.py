"""The routed VPC data plane in real namespaces: proxy ARP, forwarding, isolation,
anti-spoofing, scale of the ruleset, and idempotent reconciles."""

from __future__ import annotations

import functools

import pytest

from havip.agent import arp, marks
from havip.agent.dataplane import Dataplane
from havip.domain.desired import DesiredState

from .netlab import (
    Lab,
    arp_request,
    counters,
    ipv6_frame,
    ping,
    reconcile,
    send_frames,
    sh,
    udp_frame,
    wait_until,
)
from .states import Iface, State, Vip


def counted(dp: Dataplane, key: str, at_least: int) -> bool:
    return counters(dp)[key] >= at_least


pytestmark = pytest.mark.kernel

MACS = {n: f"52:54:00:00:00:{n:02x}" for n in range(1, 32)}


def three_instances(lab: Lab) -> DesiredState:
    """i1, i2 may claim the VIP 10.0.0.3 (held by i1); i3 is an unbound neighbour."""
    for n in (1, 2, 3):
        lab.add_instance(f"i{n}", f"10.0.0.1{n}", MACS[n])
    return State(
        [Iface(f"eni-{n}", "vpc-1", MACS[n], f"p-i{n}", [f"10.0.0.1{n}"]) for n in (1, 2, 3)],
        [Vip("havip-1", "vpc-1", "10.0.0.3", ["eni-1", "eni-2"], "eni-1", "h1")],
    )


def test_proxy_arp_answers_with_gateway_mac_at_once(lab: Lab) -> None:
    state = three_instances(lab)
    reconcile(lab.dataplane(), state)
    i3 = lab.instances["i3"]  # not the VIP's holder: the host never proxies back into the ingress port
    for target in ("10.0.0.1", "10.0.0.12", "10.0.0.3", "10.0.0.200"):
        answer = arp_request(i3, target)
        assert answer is not None, f"no proxy ARP answer for {target}"
        mac, seconds = answer
        assert mac == marks.GATEWAY_MAC
        assert seconds < 0.1, f"proxy ARP for {target} took {seconds * 1000:.1f} ms (proxy_delay not 0?)"


def test_instances_reach_each_other_through_the_host(lab: Lab) -> None:
    state = three_instances(lab)
    reconcile(lab.dataplane(), state)
    assert ping(lab.instances["i1"], "10.0.0.12", count=3) == 3
    assert ping(lab.instances["i3"], "10.0.0.11", count=3) == 3
    assert ping(lab.instances["i1"], "10.0.0.3", count=1) == 0  # nobody has the VIP configured yet


def test_same_cidr_in_two_vpcs_stays_isolated(lab: Lab) -> None:
    a1 = lab.add_instance("a1", "10.0.0.11", MACS[1])
    lab.add_instance("a2", "10.0.0.12", MACS[2])
    b1 = lab.add_instance("b1", "10.0.0.11", MACS[3])
    lab.add_instance("b2", "10.0.0.13", MACS[4])
    state = State(
        [
            Iface("eni-a1", "vpc-1", MACS[1], "p-a1", ["10.0.0.11"]),
            Iface("eni-a2", "vpc-1", MACS[2], "p-a2", ["10.0.0.12"]),
            Iface("eni-b1", "vpc-2", MACS[3], "p-b1", ["10.0.0.11"]),
            Iface("eni-b2", "vpc-2", MACS[4], "p-b2", ["10.0.0.13"]),
        ]
    )
    reconcile(lab.dataplane(), state)
    assert ping(a1, "10.0.0.12") == 1
    assert ping(b1, "10.0.0.13") == 1
    assert ping(a1, "10.0.0.13", timeout=0.3) == 0, "vpc-1 reached an instance of vpc-2"
    assert ping(b1, "10.0.0.12", timeout=0.3) == 0, "vpc-2 reached an instance of vpc-1"
    tables = {line.split()[-3] for line in sh("ip", "rule", ns=lab.host).splitlines() if "lookup" in line}
    assert {str(marks.TABLE_MIN), str(marks.TABLE_MIN + 1)} <= tables


def test_anti_spoofing_drops_and_counts_by_reason(lab: Lab) -> None:
    state = three_instances(lab)
    dp = lab.dataplane()
    reconcile(dp, state)
    i3 = lab.instances["i3"]
    before = counters(dp)
    gw = marks.GATEWAY_MAC
    cases = {
        "bad_ip": [udp_frame(i3.mac, gw, "10.0.0.11", "10.0.0.12"), udp_frame(i3.mac, gw, "10.0.0.3", "10.0.0.12")],
        "bad_mac": [udp_frame(MACS[1], gw, "10.0.0.13", "10.0.0.12")],
        "bad_arp": [arp.build_arp(arp.ARP_REPLY, i3.mac, "10.0.0.11", "10.0.0.12", gw, eth_dst=gw)],  # poisoning
        "refused_claim": [arp.build_garp(i3.mac, "10.0.0.3")],  # a HaVip it may not claim
        "bad_arp_sha": [arp.build_arp(arp.ARP_REQUEST, "52:54:00:99:99:99", "10.0.0.13", "10.0.0.1", eth_src=i3.mac)],
        "bad_proto": [ipv6_frame(i3.mac)],
    }
    for reason, frames in cases.items():
        send_frames(i3, frames)
        key = f"{marks.NFT_ANTISPOOF}.{reason}"
        wait_until(functools.partial(counted, dp, key, before[key] + len(frames)), timeout=2)
    # the control: the port's own traffic passes, and i2 (a claimant) may source the VIP
    assert ping(i3, "10.0.0.12") == 1
    key = f"{marks.NFT_ANTISPOOF}.bad_ip"
    ip_drops = counters(dp)[key]
    send_frames(lab.instances["i2"], [udp_frame(MACS[2], gw, "10.0.0.3", "10.0.0.11")])
    assert counters(dp)[key] == ip_drops


def test_more_than_255_ports_are_filtered(lab: Lab) -> None:
    n = 300
    peer_ns = lab.add_ns(f"{lab.host}-peers")
    batch = "".join(f"link add h{i} netns {lab.host} type veth peer name q{i} netns {peer_ns}\n" for i in range(n))
    sh("ip", "-batch", "-", stdin=batch)
    sh(
        "ip",
        "-batch",
        "-",
        ns=peer_ns,
        stdin="".join(f"link set q{i} address 52:54:00:01:{i // 256:02x}:{i % 256:02x} up\n" for i in range(n)),
    )
    ifaces = [
        Iface(
            f"eni-{i:03d}",
            "vpc-1",
            f"52:54:00:01:{i // 256:02x}:{i % 256:02x}",
            f"h{i}",
            [f"10.1.{i // 200}.{i % 200 + 2}"],
        )
        for i in range(n)
    ]
    dp = lab.dataplane()
    reconcile(dp, State(ifaces))
    listing = sh("nft", "list", "table", "netdev", marks.NFT_ANTISPOOF, ns=lab.host)
    assert listing.count("hook ingress devices") == 2
    assert reconcile(dp, State(ifaces)) == []
    # a spoofed frame on the last port (second base chain) is dropped and counted
    last = n - 1
    runner = lab.runner(peer_ns)
    before = counters(dp)[f"{marks.NFT_ANTISPOOF}.bad_ip"]

    def send() -> None:
        import socket

        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((f"q{last}", 0))
            s.send(udp_frame(ifaces[last].mac, marks.GATEWAY_MAC, "10.9.9.9", "10.1.0.2"))

    runner.run(send)
    wait_until(lambda: counters(dp)[f"{marks.NFT_ANTISPOOF}.bad_ip"] > before, timeout=2)


def test_reconcile_is_idempotent_and_sweeps_only_its_own(lab: Lab) -> None:
    state = three_instances(lab)
    dp = lab.dataplane()
    first = reconcile(dp, state)
    assert first
    assert reconcile(dp, state) == []
    # objects that are not ours survive a sweep
    sh("ip", "rule", "add", "pref", "500", "iif", "p-i1", "lookup", "100", ns=lab.host)
    sh("ip", "route", "add", "192.0.2.0/24", "dev", "p-i1", "table", str(marks.TABLE_MIN), ns=lab.host)
    sh("nft", "add", "table", "inet", "someone_else", ns=lab.host)
    removed = State(state.interfaces[:2], state.havips)
    reconcile(dp, removed)
    assert reconcile(dp, removed) == []
    assert "lookup 100" in sh("ip", "rule", ns=lab.host)
    assert "192.0.2.0/24" in sh("ip", "route", "show", "table", str(marks.TABLE_MIN), ns=lab.host)
    assert "someone_else" in sh("nft", "list", "tables", ns=lab.host)
    assert "p-i3" not in sh("ip", "rule", ns=lab.host)
    assert "havip:" not in sh("ip", "-d", "link", "show", "p-i3", ns=lab.host)


def test_only_a_veth_or_tap_without_ipv4_is_adopted_as_a_port(lab: Lab) -> None:
    """A tenant names host devices as its ENIs' devices: only the tap is adopted; the
    uplink-like device with an address and the bridge stay exactly as they were."""
    sh("ip", "tuntap", "add", "tp1", "mode", "tap", ns=lab.host)
    sh("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up0p", ns=lab.host)
    sh("ip", "addr", "add", "192.0.2.2/30", "dev", "up0", ns=lab.host)
    sh("ip", "link", "add", "dm0", "type", "bridge", ns=lab.host)
    dp = lab.dataplane()
    before = dp.read().links
    assert (before["tp1"].kind, before["up0"].has_ipv4, before["up0p"].has_ipv4) == ("tap", True, False)
    state = State(
        [
            Iface("eni-1", "vpc-1", "52:54:00:00:00:01", "tp1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-1", "52:54:00:00:00:02", "up0", ["10.0.0.12"]),
            Iface("eni-3", "vpc-1", "52:54:00:00:00:03", "dm0", ["10.0.0.13"]),
        ]
    )
    reconcile(dp, state)
    after = dp.read().links
    assert (after["tp1"].alias, after["tp1"].mac) == (marks.ALIAS_PORT + "eni-1", marks.GATEWAY_MAC)
    for dev in ("up0", "dm0"):  # (host-wide sysctls may change the per-device views of forwarding)
        seen = [(x.index, x.alias, x.mac, x.up, x.has_ipv4, x.port_sysctls_ok) for x in (before[dev], after[dev])]
        assert seen[0] == seen[1] and not seen[1][5], dev
    assert "up0" not in sh("ip", "rule", ns=lab.host) and "dm0" not in sh("nft", "list", "ruleset", ns=lab.host)
