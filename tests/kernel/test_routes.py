"""Route table entries on the host: via a HaVip's holder (switched with the VIP), via an
instance (static), their removal, and the anti-spoofing exception of their next hops.

The gateways here answer for the remote network themselves (its address on their
``lo``): what matters to the host is that a packet for the destination reaches the
holder and that the answer, whose source is inside the destination, passes.
"""

from __future__ import annotations

import socket
import threading

import pytest

from havip.agent import marks

from .cloud import VIP, AgentPair
from .netlab import Instance, sh, wait_until
from .test_agent_claims import converged, garp, take_vip
from .test_eip import IP_TRANSPARENT, Sink
from .test_eip import switch as move

pytestmark = pytest.mark.kernel

REMOTE = "192.168.50.0/24"
REMOTE_HOST = "192.168.50.10"
OTHER = "192.168.60.0/24"


def ask(inst: Instance, target: str, tries: int = 3) -> tuple[str, str] | None:
    """A UDP request to the lab service: (who answered, the answer's source)."""

    def go() -> tuple[str, str] | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            for _ in range(tries):
                s.sendto(b"1 0", (target, 7000))
                try:
                    data, peer = s.recvfrom(2048)
                except TimeoutError:
                    continue
                return data.split()[0].decode(), peer[0]
        return None

    return inst.runner.run(go)


def send_from(inst: Instance, source: str, target: str, port: int) -> None:
    def go() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
            s.bind((source, 0))
            s.sendto(b"from-the-range", (target, port))

    inst.runner.run(go)


def gateways(p: AgentPair, *keys: str) -> None:
    for key in keys:
        sh("ip", "addr", "add", f"{REMOTE_HOST}/32", "dev", "lo", ns=p.lab.instances[key].ns)
        p.service(key)


def entry_route(p: AgentPair, dst: str = REMOTE) -> str:
    for line in sh("ip", "route", "show", "table", str(marks.TABLE_MIN), ns=p.lab.host).splitlines():
        if line.startswith(dst + " "):
            return line
    return ""


def test_a_route_entry_via_a_havip_follows_the_holder_in_the_same_step(pair: AgentPair) -> None:
    p = pair
    gateways(p, "i1", "i2")
    p.route_entry(REMOTE, "havip", p.havip)
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    wait_until(lambda: p.routes().get(REMOTE) == p.lab.instances["i1"].port, timeout=5)
    assert f"via {VIP} dev p-i1" in entry_route(p) and "onlink" in entry_route(p)
    client = p.lab.instances["c"]
    bad_ip = agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"]
    assert ask(client, REMOTE_HOST) == ("i1", REMOTE_HOST)  # the answer's source is in the range: it passes
    for old, new in (("i1", "i2"), ("i2", "i1")):
        seen: list[tuple[str | None, str | None]] = []
        stop = threading.Event()

        def watch(stop: threading.Event = stop, seen: list[tuple[str | None, str | None]] = seen) -> None:
            while not stop.is_set():
                r = p.routes()
                seen.append((r.get(VIP), r.get(REMOTE)))

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            move(p, old, new)
            port = p.lab.instances[new].port
            wait_until(lambda: p.route_dev() == port, timeout=2, interval=0.001)  # noqa: B023 - used at once
        finally:
            stop.set()
            watcher.join()
        # never a moment with the VIP on the new holder and the route entry still on the old one
        assert (port, p.lab.instances[old].port) not in seen
        assert p.routes().get(REMOTE) == port
        assert ask(client, REMOTE_HOST) == (new, REMOTE_HOST)
        converged(p, new)
    assert agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"] == bad_ip
    lat = [int(e["latency_us"]) for e in p.events("holder_changed")[:2]]
    print(f"\nclaim latency with a route entry in the same send (GARP rx -> last ack): {lat} us")
    assert max(lat) < 50_000


def test_only_the_next_hops_may_send_from_a_route_entrys_destination(pair: AgentPair) -> None:
    p = pair
    p.route_entry(REMOTE, "havip", p.havip)
    p.route_entry(OTHER, "instance", p.instance_of("i3"))
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    wait_until(lambda: p.routes().get(OTHER) == p.lab.instances["i3"].port, timeout=5)
    assert "via 10.0.1.13 dev p-i3" in entry_route(p, OTHER)  # an instance next hop: static, via its address
    sink = Sink(p.lab.instances["c"], port=9998, address="0.0.0.0")
    i1, i2, i3 = (p.lab.instances[k] for k in ("i1", "i2", "i3"))
    c = p.lab.instances["c"]
    send_from(i2, "192.168.50.77", c.ip, sink.port)  # a member (the backup) forwards for the range
    assert sink.source_of_next() == "192.168.50.77"
    send_from(i3, "192.168.60.5", c.ip, sink.port)  # the instance next hop, for its own entry
    assert sink.source_of_next() == "192.168.60.5"
    before = agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"]
    send_from(i3, "192.168.50.77", c.ip, sink.port)  # not a member of the HaVip
    send_from(p.lab.instances["c"], "192.168.50.78", i1.ip, 9)  # nor is the client
    send_from(i1, "192.168.60.5", c.ip, sink.port)  # a member, but not this entry's next hop
    assert sink.source_of_next() is None
    wait_until(lambda: agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"] >= before + 3, timeout=2)


def test_an_unheld_next_hop_routes_into_the_sink_and_removal_removes_route_and_exception(pair: AgentPair) -> None:
    p = pair
    entry = p.route_entry(REMOTE, "havip", p.havip)
    agent = p.start_agent()
    sink_dev = marks.sink_name(marks.TABLE_MIN)
    wait_until(lambda: p.routes().get(REMOTE) == sink_dev, timeout=5)  # nobody holds it: nowhere
    take_vip(p, "i1")
    garp(p, "i1")
    wait_until(lambda: p.routes().get(REMOTE) == p.lab.instances["i1"].port, timeout=5)
    sink = Sink(p.lab.instances["c"], port=9998, address="0.0.0.0")
    send_from(p.lab.instances["i1"], "192.168.50.77", p.lab.instances["c"].ip, sink.port)
    assert sink.source_of_next() == "192.168.50.77"
    p.delete_route_entry(entry)
    wait_until(lambda: REMOTE not in p.routes(), timeout=5)
    before = agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"]
    send_from(p.lab.instances["i1"], "192.168.50.77", p.lab.instances["c"].ip, sink.port)
    assert sink.source_of_next() is None
    wait_until(lambda: agent.kernel.state.nft_counters()["havip_antispoof.bad_ip"] == before + 1, timeout=2)
