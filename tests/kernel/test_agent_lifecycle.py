"""The agent's life: restart under traffic, idempotent reconciles, control-plane
outages, metrics and the dump, and the ``havip agent`` command itself."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from havip.agent.control import HttpControlPlane
from havip.agent.metrics import serve
from havip.agent.runtime import Agent

from .cloud import VIP, AgentPair
from .netlab import sh, wait_until
from .test_agent_claims import converged, drop_vip, garp, take_vip

pytestmark = pytest.mark.kernel

PORT = 5000


def receive(count: int, timeout: float) -> dict[int, set[int]]:
    """In the receiver's namespace: per port (PORT: own address, PORT+1: the VIP), the
    sequence numbers received, until ``count`` arrived on each or ``timeout`` of silence."""
    got: dict[int, set[int]] = {PORT: set(), PORT + 1: set()}
    socks = {}
    for port in got:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        socks[s] = port
    try:
        while any(len(v) < count for v in got.values()):
            ready, _, _ = select.select(list(socks), [], [], timeout)
            if not ready:
                break
            for s in ready:
                got[socks[s]].add(int.from_bytes(s.recv(64)[:4], "big"))
    finally:
        for s in socks:
            s.close()
    return got


def stream(targets: list[tuple[str, int]], count: int, interval: float) -> None:
    """In the sender's namespace: ``count`` numbered datagrams to each target, one per ``interval``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        start = time.monotonic()
        for n in range(count):
            for t in targets:
                s.sendto(n.to_bytes(4, "big"), t)
            delay = start + (n + 1) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def test_agent_restart_with_traffic_flowing_loses_nothing(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    i1, client = p.lab.instances["i1"], p.lab.instances["c"]
    count = 3000  # 3 s at 1 ms, to i1's own address and to the VIP
    rx = i1.runner.submit(receive, count, 5.0)
    time.sleep(0.05)  # the receiver's bind must precede the first datagram (no observable signal)
    tx = client.runner.submit(stream, [(i1.ip, PORT), (VIP, PORT + 1)], count, 0.001)
    time.sleep(0.3)
    p.stop_agent(agent)
    second = p.start_agent()
    wait_until(lambda: second.reconciled_revision is not None, timeout=5)
    tx.result(30)
    got = rx.result(30)
    lost = {port: count - len(seqs) for port, seqs in got.items()}
    assert lost == {PORT: 0, PORT + 1: 0}, f"datagrams lost across the restart (own address, VIP): {lost}"
    # the restarted agent found the kernel as it wanted it (nothing to do but nothing)
    assert second.reconcile(second.state) == [] if second.state else False


def test_reconcile_through_the_control_plane_is_idempotent(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    assert agent.state is not None
    wait_until(lambda: agent.reconcile(agent.state) == [] if agent.state else False, timeout=5)
    assert agent.reconcile(agent.state) == []
    assert agent.metrics.reconcile_errors._value.get() == 0


def test_a_control_plane_outage_keeps_the_data_plane_and_delivers_claims_later(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    # the control plane goes away: every request fails from now on
    control = agent.control
    assert isinstance(control, HttpControlPlane)
    real = control.client
    control.client = Unreachable()  # type: ignore[assignment]  # the follow loop and the reporter share it
    wait_until(lambda: agent.metrics.control_plane_up._value.get() == 0, timeout=5)
    drop_vip(p, "i1")
    take_vip(p, "i2")
    garp(p, "i2")
    wait_until(lambda: p.route_dev() == p.lab.instances["i2"].port, timeout=2)
    assert agent.state is not None
    acts = agent.reconcile(agent.state)  # a resync from the last known state keeps the claim
    assert set(acts) <= {sh_neigh_cleanup(p)}, acts
    assert p.route_dev() == p.lab.instances["i2"].port
    assert p.holder() == p.eni["i1"]  # not yet known
    control.client = real
    converged(p, "i2")
    wait_until(lambda: agent.metrics.control_plane_up._value.get() == 1, timeout=5)
    assert p.route_dev() == p.lab.instances["i2"].port


def sh_neigh_cleanup(p: AgentPair) -> object:
    from havip.agent.actions import DeleteNeigh

    return DeleteNeigh(p.lab.instances["i1"].port, VIP)


class Unreachable:
    def desired_state(self, *args: object, **kw: object) -> object:
        from havip.client import ApiError

        raise ApiError(0, "ConnectionFailed", "test: the control plane is down")

    def report_batch(self, *args: object, **kw: object) -> object:
        return self.desired_state()


def test_metrics_sum_drops_across_ruleset_replaces_and_dump_shows_state(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    agent = p.start_agent()
    converged(p, "i1")
    server = serve(agent.metrics, agent.dump, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        take_vip(p, "i3")
        garp(p, "i3", count=3)
        agent.read_counters()
        wait_until(lambda: _refused_drops(agent) == 3, timeout=5)
        # a new instance on the host replaces the antispoof table (its counters restart at 0)
        p.add_instance("i4", "10.0.1.40", "52:54:00:00:01:40")
        wait_until(lambda: "p-i4" in sh("nft", "list", "table", "netdev", "havip_antispoof", ns=p.lab.host), timeout=5)
        garp(p, "i3", count=2)
        agent.read_counters()
        wait_until(lambda: _refused_drops(agent) == 5, timeout=5)
        text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        assert 'havip_agent_drops_total{reason="refused_claim"} 5.0' in text
        for name in (
            "havip_agent_claims_total",
            "havip_agent_switch_latency_seconds_bucket",
            "havip_agent_split_brains_total",
        ):
            assert name in text
        dump = json.loads(urllib.request.urlopen(base + "/debug/state", timeout=5).read())
        assert dump["desired_state"]["host"] == p.host
        assert dump["claim_view"]["vips"]
        assert any(r["dst"] == f"{VIP}/32" for r in dump["observed"]["routes"])
    finally:
        server.shutdown()


def _refused_drops(agent: Agent) -> float:
    agent.read_counters()
    return float(agent.metrics.drops.labels(reason="refused_claim")._value.get())


def test_havip_agent_command_dumps_and_runs(pair: AgentPair) -> None:
    p = pair
    take_vip(p, "i1")
    env = {**os.environ, "HAVIP_AGENT_TOKEN": p.token}
    havip = os.path.join(os.path.dirname(sys.executable), "havip")
    cmd = [havip, "agent", "--server", p.cloud.url, "--host", p.host, "--netns", p.lab.host]
    done = subprocess.run([*cmd, "--dump"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    dump = json.loads(done.stdout)
    assert dump["plan"] and dump["desired_state"]["host"] == p.host
    assert "havip:" not in sh("ip", "-d", "link", "show", "p-i1", ns=p.lab.host)  # --dump changed nothing
    proc = subprocess.Popen([*cmd, "--resync", "5"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        converged(p, "i1")
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=40)
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "reconciled" in events and "claim-healed" in events, err[-2000:]
