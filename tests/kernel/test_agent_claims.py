"""The running agent against the real control plane: claims, refusals, discovery.

Every test runs the API (uvicorn, SQLite) and ``havip.agent.runtime.Agent`` against a
throwaway host namespace; instances are namespaces on veths; claims are crafted GARPs
sent from inside the instances, exactly as keepalived sends them.
"""

from __future__ import annotations

import statistics
import time

import pytest

from havip.agent import arp
from havip.agent.claims import RoundReason

from .cloud import VIP, VIP2, AgentPair
from .netlab import ping, send_frames, sh, wait_until

pytestmark = pytest.mark.kernel

LATENCIES_US: list[int] = []


def take_vip(p: AgentPair, key: str, ip: str = VIP) -> None:
    sh("ip", "addr", "add", f"{ip}/32", "dev", "eth0", ns=p.lab.instances[key].ns)


def drop_vip(p: AgentPair, key: str, ip: str = VIP) -> None:
    sh("ip", "addr", "del", f"{ip}/32", "dev", "eth0", ns=p.lab.instances[key].ns)


def garp(p: AgentPair, key: str, ip: str = VIP, count: int = 1) -> None:
    inst = p.lab.instances[key]
    send_frames(inst, [arp.build_garp(inst.mac, ip)] * count)


def converged(p: AgentPair, holder_key: str) -> None:
    """The route and the control plane both show ``holder_key`` as the holder."""
    want = (p.lab.instances[holder_key].port, p.eni[holder_key])
    try:
        wait_until(lambda: (p.route_dev(), p.holder()) == want, timeout=5)
    except AssertionError:
        raise AssertionError(f"wanted {want}, have {(p.route_dev(), p.holder())}; {p.eni}") from None


def test_start_discovers_the_holder_then_a_claim_switches_and_is_recorded(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")  # unheld in the record: the start round found i1 by its answer
    assert p.events("holder_changed")[0]["cause"] == "discovery-start"
    assert ping(p.lab.instances["c"], VIP) == 1
    keys = ["i2", "i1"] * 10
    for n, key in enumerate(keys):
        other = "i1" if key == "i2" else "i2"
        drop_vip(p, other)
        take_vip(p, key)
        garp(p, key)
        converged(p, key)
        assert len(p.events("holder_changed")) == n + 2
    events = p.events("holder_changed")[: len(keys)]
    assert {e["cause"] for e in events} == {"garp-request"}
    lat = sorted(int(e["latency_us"]) for e in events)
    LATENCIES_US.extend(lat)
    print(
        f"\nclaim latency (GARP kernel rx -> route ack), n={len(lat)}: min {lat[0]} us, "
        f"median {statistics.median(lat):.0f} us, p90 {lat[int(len(lat) * 0.9) - 1]} us, max {lat[-1]} us"
    )
    assert lat[-1] < 50_000
    client, i1, i2 = p.lab.instances["c"], p.lab.instances["i1"], p.lab.instances["i2"]
    assert ping(client, VIP, count=3) == 3
    # keepalived's refresh: repeated GARPs of the holder are cheap no-ops
    garp(p, "i1", count=5)
    wait_until(lambda: agent.metrics.claims.labels(verdict="already-holder")._value.get() >= 5, timeout=2)
    assert len(p.events("holder_changed")) == len(keys) + 1
    assert (i1.ip, i2.ip) != ("", "")


def test_a_refused_claim_is_dropped_and_recorded(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    take_vip(p, "i3")
    garp(p, "i3")
    wait_until(lambda: p.events("claim_refused"), timeout=5)
    (refused,) = p.events("claim_refused")
    assert refused["interface_id"] == p.eni["i3"]
    assert p.route_dev() == p.lab.instances["i1"].port
    assert p.holder() == p.eni["i1"]
    assert agent.metrics.refused._value.get() == 1
    wait_until(lambda: b'reason="refused_claim"} 1.0' in agent.metrics.text(), timeout=10)


def test_a_probe_answer_from_a_stale_holder_never_overrides_a_claim(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    # i1 "crashes" holding the address; i2 becomes master and announces
    take_vip(p, "i2")
    garp(p, "i2")
    converged(p, "i2")
    # i1's stray answer (an unsolicited ordinary reply) is not a claim
    i1 = p.lab.instances["i1"]
    send_frames(i1, [arp.build_arp(arp.ARP_REPLY, i1.mac, VIP, "10.0.1.1", "ee:ff:ff:ff:ff:ff")] * 3)
    # a discovery round: both answer -> split brain, recorded; the claim keeps the VIP
    agent.claim_path.request_round(RoundReason.ASKED)
    wait_until(lambda: p.events("split_brain"), timeout=5)
    (split,) = p.events("split_brain")
    assert split["interface_id"] == p.eni["i2"]
    assert split["detail"] == {"others": p.eni["i1"]}
    assert agent.metrics.split_brains._value.get() == 1
    time.sleep(0)  # (no wait needed: the round already finished when the event exists)
    assert p.route_dev() == p.lab.instances["i2"].port
    assert p.holder() == p.eni["i2"]


def test_a_claim_made_while_the_agent_was_stopped_is_healed_at_start(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    p.stop_agent(agent)
    drop_vip(p, "i1")
    take_vip(p, "i2")
    garp(p, "i2")  # nobody listens
    assert p.route_dev() == p.lab.instances["i1"].port
    t0 = time.monotonic()
    p.start_agent()
    wait_until(lambda: p.route_dev() == p.lab.instances["i2"].port, timeout=5)
    healed = time.monotonic() - t0
    converged(p, "i2")
    last = p.events("holder_changed")[0]
    assert last["cause"] == "discovery-start"
    print(f"\nmissed claim healed {healed * 1000:.0f} ms after the agent started (one probe round)")
    assert ping(p.lab.instances["c"], VIP) == 1


def test_a_garp_flood_leaves_the_agent_responsive(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    take_vip(p, "i1", VIP2)
    agent = p.start_agent()
    converged(p, "i1")
    wait_until(lambda: p.holder(p.havip2) == p.eni["i1"], timeout=5)
    take_vip(p, "i3")
    i1, i3 = p.lab.instances["i1"], p.lab.instances["i3"]
    flood_i3 = i3.runner.submit(send_frames_now, i3.mac, [arp.build_garp(i3.mac, VIP)] * 20000)
    flood_i1 = i1.runner.submit(send_frames_now, i1.mac, [arp.build_garp(i1.mac, VIP2)] * 20000)
    drop_vip(p, "i1")
    take_vip(p, "i2")
    sent = time.monotonic()
    garp(p, "i2")
    wait_until(lambda: p.route_dev() == p.lab.instances["i2"].port, timeout=2)
    print(f"\nclaim under a 2 x 20000 GARP flood: route switched {1000 * (time.monotonic() - sent):.1f} ms after send")
    flood_i3.result(30)
    flood_i1.result(30)
    converged(p, "i2")
    text = agent.metrics.text().decode()
    assert p.route_dev(VIP2) == i1.port
    wait_until(lambda: _drops(agent, "havip_arp_flood") > 10000 and _drops(agent, "refused_claim") > 10000, timeout=10)
    refused = len(p.events("claim_refused"))
    assert 0 < refused < 200, f"{refused} refused claims reached the control plane: the log is not rate-limited"
    assert "havip_agent_claims_total" in text


def _drops(agent: object, reason: str) -> float:
    from havip.agent.runtime import Agent

    assert isinstance(agent, Agent)
    agent.read_counters()
    return float(agent.metrics.drops.labels(reason=reason)._value.get())


def send_frames_now(mac: str, frames: list[bytes]) -> None:
    import socket

    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind(("eth0", 0))
        for f in frames:
            s.send(f)
