"""The claim path in real namespaces: a GARP seen by the watcher with its kernel time,
the route switch moving the VIP so a client reaches the new holder, and its latency."""

from __future__ import annotations

import json
import statistics
import time

import pytest

from havip.agent import arp, marks
from havip.agent.actions import DeleteNeigh
from havip.agent.arp import GarpSeen, classify
from havip.agent.dataplane.switch import RouteSwitch
from havip.agent.dataplane.watcher import ArpWatcher
from havip.agent.kernel import DataplaneError, Encap, Frame, Move
from havip.domain.desired import DesiredState

from .netlab import Lab, counters, link_rx_packets, ping, reconcile, send_frames, sh, wait_until
from .states import Iface, State, Vip

pytestmark = pytest.mark.kernel

VIP = "10.0.0.3"
MACS = {n: f"52:54:00:00:00:{n:02x}" for n in range(1, 8)}


def claim_lab(lab: Lab) -> DesiredState:
    """i1 holds the VIP, i2 may claim it (keepalived pair), c is a client."""
    for n in (1, 2):
        lab.add_instance(f"i{n}", f"10.0.0.1{n}", MACS[n])
        sh("ip", "addr", "add", f"{VIP}/32", "dev", "eth0", ns=lab.instances[f"i{n}"].ns)
    lab.add_instance("c", "10.0.0.10", MACS[3])
    return State(
        [
            Iface("eni-1", "vpc-1", MACS[1], "p-i1", ["10.0.0.11"]),
            Iface("eni-2", "vpc-1", MACS[2], "p-i2", ["10.0.0.12"]),
            Iface("eni-c", "vpc-1", MACS[3], "p-c", ["10.0.0.10"]),
        ],
        [Vip("havip-1", "vpc-1", VIP, ["eni-1", "eni-2"], "eni-1", "h1")],
    )


def next_claim(watcher: ArpWatcher, timeout: float = 2.0) -> tuple[Frame, GarpSeen]:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        frame = watcher.receive(left)
        if frame is None:
            break
        seen = classify(frame.data, frame.ifindex, frame.pkttype)
        if isinstance(seen, GarpSeen):
            return frame, seen
    raise AssertionError("no gratuitous ARP reached the watcher")


def test_garp_moves_the_vip_and_the_client_follows(lab: Lab) -> None:
    state = claim_lab(lab)
    dp = lab.dataplane()
    reconcile(dp, state)
    client, i1, i2 = lab.instances["c"], lab.instances["i1"], lab.instances["i2"]
    table = marks.TABLE_MIN
    assert ping(client, VIP, count=2) == 2
    watcher, switch = ArpWatcher(dp.ns), RouteSwitch(dp.ns)
    try:
        # noise the watcher must never see: a probe, an ordinary request, a spoofed claim
        send_frames(i2, [arp.build_arp(arp.ARP_REQUEST, i2.mac, "0.0.0.0", VIP)])
        send_frames(i2, [arp.build_arp(arp.ARP_REQUEST, i2.mac, i2.ip, "10.0.0.1")])
        send_frames(client, [arp.build_garp(client.mac, VIP)])  # not a claimant: nft drops it
        before = counters(dp)
        sent_ns = time.time_ns()
        send_frames(i2, [arp.build_garp(i2.mac, VIP)])
        frame, seen = next_claim(watcher)
        assert (frame.ifname, seen.ip, seen.sender_mac) == ("p-i2", VIP, i2.mac)
        assert sent_ns - 50_000_000 < frame.rx_ns < time.time_ns(), "kernel receive time out of range"
        acked_ns = switch.switch(table, VIP, seen.ifindex, seen.sender_mac)
        latency_ms = (acked_ns - frame.rx_ns) / 1e6
        print(f"\nGARP rx -> route ack (raw rtnetlink, incl. test overhead): {latency_ms:.3f} ms")
        assert 0 < latency_ms < 100
        assert f"{VIP} dev p-i2" in sh("ip", "route", "show", "table", str(table), ns=lab.host)
        # the host did not proxy-answer the claim, and the spoofed claim was dropped
        assert (
            counters(dp)[f"{marks.NFT_GARP}.garp_proxy_suppressed"] > before[f"{marks.NFT_GARP}.garp_proxy_suppressed"]
        )
        rx1, rx2 = link_rx_packets(i1.ns), link_rx_packets(i2.ns)
        assert ping(client, VIP, count=5) == 5
        assert link_rx_packets(i2.ns) - rx2 >= 5
        assert link_rx_packets(i1.ns) - rx1 == 0, "the old holder still got the client's traffic"
        # the reconciler, told about the local claim, keeps the switched route
        assert reconcile(dp, state, local_holders={"havip-1": "eni-2"}) == [DeleteNeigh("p-i1", VIP)]
    finally:
        watcher.close()
        switch.close()


def test_route_switch_latency_raw_vs_pyroute2(lab: Lab) -> None:
    state = claim_lab(lab)
    dp = lab.dataplane()
    reconcile(dp, state)
    table = marks.TABLE_MIN
    targets = [(lab.instances[k], p) for k, p in (("i1", "p-i1"), ("i2", "p-i2"))]
    index = {p: dp.read().links[p].index for _, p in targets}
    switch = RouteSwitch(dp.ns)
    raw, pyr = [], []
    try:
        for n in range(100):
            inst, port = targets[n % 2]
            t0 = time.perf_counter_ns()
            switch.switch(table, VIP, index[port], inst.mac)
            raw.append((time.perf_counter_ns() - t0) / 1e6)
        for n in range(100):
            inst, port = targets[n % 2]
            t0 = time.perf_counter_ns()
            dp.switch_vip(table, VIP, port, inst.mac)
            pyr.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        switch.close()
    med_raw, med_pyr = statistics.median(raw), statistics.median(pyr)
    print(
        f"\nroute switch (neigh + route, acked), n=100 each: raw rtnetlink median {med_raw:.3f} ms max {max(raw):.3f} ms; "
        f"pyroute2 median {med_pyr:.3f} ms max {max(pyr):.3f} ms"
    )
    assert f"{VIP} dev p-i2" in sh("ip", "route", "show", "table", str(table), ns=lab.host)
    assert med_raw < 20 and med_pyr < 50
    wait_until(lambda: ping(lab.instances["c"], VIP) == 1, timeout=2)


def test_the_watcher_resolves_a_port_recreated_under_its_name_after_forget(lab: Lab) -> None:
    i1 = lab.add_instance("i1", "10.0.0.11", MACS[1])
    sh("ip", "link", "set", "p-i1", "up", ns=lab.host)
    watcher = ArpWatcher(lab.dataplane().ns)
    garp = arp.build_arp(arp.ARP_REQUEST, MACS[1], i1.ip, i1.ip)
    send_frames(i1, [garp])
    first, _seen = next_claim(watcher)
    assert first.ifindex == link_index(lab.host, "p-i1")
    sh("ip", "link", "del", "p-i1", ns=lab.host)
    sh("ip", "link", "add", "p-i1", "netns", lab.host, "type", "veth", "peer", "name", "eth0", "netns", i1.ns)
    sh("ip", "link", "set", "p-i1", "up", ns=lab.host)
    sh("ip", "link", "set", "eth0", "address", MACS[1], "up", ns=i1.ns)
    recreated = link_index(lab.host, "p-i1")
    assert recreated != first.ifindex
    watcher.forget()  # the agent does it on every view swap
    send_frames(i1, [garp])
    again, _seen = next_claim(watcher)
    watcher.close()
    assert (again.ifname, again.ifindex) == ("p-i1", recreated)


def link_index(ns: str, dev: str) -> int:
    return int(json.loads(sh("ip", "-j", "link", "show", dev, ns=ns))[0]["ifindex"])


def test_switch_many_moves_every_vip_of_a_batch_and_reports_each_failure_alone(lab: Lab) -> None:
    """A mass failover's batch: 300 VIPs (three sendmsg batches) move in one call; a
    move the kernel refuses (a port that does not exist) fails alone."""
    reconcile(dp := lab.dataplane(), claim_lab(lab))
    table = marks.TABLE_MIN
    port = dp.read().links["p-i2"].index
    vips = [f"10.0.{1 + n // 250}.{1 + n % 250}" for n in range(300)]
    moves = [Move(table, v, port, MACS[2]) for v in vips]
    moves.insert(150, Move(table, "10.0.9.9", 999_999, MACS[2]))  # no such device
    switch = RouteSwitch(dp.ns)
    try:
        before = time.time_ns()
        results = switch.switch_many(moves)
    finally:
        switch.close()
    assert len(results) == 301
    failed = results.pop(150)
    assert isinstance(failed, DataplaneError) and "10.0.9.9" in str(failed)
    assert all(isinstance(r, int) and before < r <= time.time_ns() for r in results), results[:3]
    routes = sh("ip", "route", "show", "table", str(table), ns=lab.host)
    assert all(f"{v} dev p-i2" in routes for v in vips) and "10.0.9.9" not in routes
    neigh = sh("ip", "neigh", "show", "dev", "p-i2", ns=lab.host)
    assert sum(1 for v in vips if f"{v} lladdr {MACS[2]} PERMANENT" in neigh) == 300


def test_a_move_into_the_tunnel_is_one_encapsulated_route_per_destination(lab: Lab) -> None:
    """A VIP held on another host: the switch points it (and its route entries) into a
    VXLAN-GPE device with the VPC's VNI and the holder's underlay; no neighbour."""
    reconcile(dp := lab.dataplane(), claim_lab(lab))
    sh("ip", "link", "add", "tun-t", "type", "vxlan", "gpe", "external", "dstport", "4790", ns=lab.host)
    sh("ip", "link", "set", "tun-t", "up", ns=lab.host)
    table = marks.TABLE_MIN
    tun = link_index(lab.host, "tun-t")
    switch = RouteSwitch(dp.ns)
    try:
        switch.switch(table, VIP, link_index(lab.host, "p-i1"), MACS[1])  # first held here
        (acked,) = switch.switch_many(
            [Move(table, VIP, tun, "", ("192.168.50.0/24",), encap=Encap(vni=4242, dst="10.255.0.2"))]
        )
    finally:
        switch.close()
    assert isinstance(acked, int), acked
    routes = sh("ip", "-d", "route", "show", "table", str(table), ns=lab.host)
    for dst in (VIP, "192.168.50.0/24"):
        line = next(r for r in routes.splitlines() if r.split()[1] == dst)
        assert "encap ip id 4242" in line and "dst 10.255.0.2" in line and "dev tun-t" in line, line
    assert "tun-t" not in sh("ip", "neigh", "show", ns=lab.host)
