"""``havip agent`` without ``--netns``, started inside the host namespace as on a hypervisor
(``ip netns exec HOST havip agent ...``): the same ports, anti-spoofing, claims and restart
without loss as with ``--netns``; and in the machine's initial namespace it refuses before it
touches anything unless told ``--allow-initial-netns`` (never used here) (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from havip.agent import arp, marks

from .cloud import VIP, AgentPair
from .netlab import send_frames, sh, udp_frame, wait_until
from .test_agent_claims import converged, garp, take_vip
from .test_agent_lifecycle import PORT, receive, stream

pytestmark = pytest.mark.kernel

HAVIP = os.path.join(os.path.dirname(sys.executable), "havip")


class InHost:
    """``havip agent`` as a process inside the host namespace, its stderr kept for the failure message."""

    def __init__(self, pair: AgentPair) -> None:
        self.pair = pair
        self.env = {**os.environ, "HAVIP_AGENT_TOKEN": pair.token}
        self.cmd = ["ip", "netns", "exec", pair.lab.host, HAVIP, "agent", "--server", pair.cloud.unix_url()]
        self.cmd += ["--host", pair.host, "--resync", "5"]
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, stderr=subprocess.PIPE, text=True)

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.terminate()
        _out, err = self.proc.communicate(timeout=40)
        assert self.proc.returncode == 0, err[-2000:]
        return err


@pytest.fixture
def in_host(pair: AgentPair) -> Iterator[InHost]:
    agent = InHost(pair)
    yield agent
    if agent.proc is not None and agent.proc.poll() is None:
        agent.proc.kill()
        agent.proc.communicate(timeout=40)


def adopted(pair: AgentPair, key: str) -> bool:
    return "havip:" in sh("ip", "-d", "link", "show", pair.lab.instances[key].port, ns=pair.lab.host)


def test_an_agent_started_in_the_host_namespace_builds_guards_claims_and_restarts_without_loss(
    pair: AgentPair, in_host: InHost
) -> None:
    p = pair
    take_vip(p, "i1")
    in_host.start()
    wait_until(lambda: all(adopted(p, k) for k in ("i1", "i2", "i3", "c")), timeout=30)
    converged(p, "i1")  # found at start by discovery, as with --netns
    # anti-spoofing: i3 sending as i1, and i3 poisoning ARP for i1, are dropped and counted
    observer = p.lab.dataplane()  # a reader only; the lab closes it
    before = observer.nft_counters()
    i1, i3, gw = p.lab.instances["i1"], p.lab.instances["i3"], marks.GATEWAY_MAC
    send_frames(i3, [udp_frame(i3.mac, gw, i1.ip, p.lab.instances["c"].ip)])
    send_frames(i3, [arp.build_arp(arp.ARP_REPLY, i3.mac, i1.ip, p.lab.instances["c"].ip, gw, eth_dst=gw)])
    for reason in ("bad_ip", "bad_arp"):
        key = f"{marks.NFT_ANTISPOOF}.{reason}"
        wait_until(lambda: observer.nft_counters()[key] >= before[key] + 1, timeout=5)  # noqa: B023 - used at once
    # a claim moves the VIP
    sh("ip", "addr", "del", f"{VIP}/32", "dev", "eth0", ns=p.lab.instances["i1"].ns)
    take_vip(p, "i2")
    garp(p, "i2")
    converged(p, "i2")
    # a restart of the process under a 1 ms stream to i2 and to the VIP loses nothing
    i2, client = p.lab.instances["i2"], p.lab.instances["c"]
    count = 2000
    rx = i2.runner.submit(receive, count, 5.0)
    time.sleep(0.05)  # the receiver's bind must precede the first datagram
    tx = client.runner.submit(stream, [(i2.ip, PORT), (VIP, PORT + 1)], count, 0.001)
    time.sleep(0.3)
    err = in_host.stop()
    in_host.start()
    tx.result(30)
    got = rx.result(30)
    lost = {port: count - len(seqs) for port, seqs in got.items()}
    assert lost == {PORT: 0, PORT + 1: 0}, f"datagrams lost across the restart (own address, VIP): {lost}"
    assert '"reconciled"' in err, err[-2000:]
    converged(p, "i2")


def test_in_the_initial_namespace_the_agent_refuses_before_touching_anything(pair: AgentPair) -> None:
    env = {**os.environ, "HAVIP_AGENT_TOKEN": pair.token}
    before = sh("ip", "-o", "link", "show")
    done = subprocess.run(
        [HAVIP, "agent", "--server", pair.cloud.url, "--host", pair.host],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "refusing to configure the machine's initial network namespace" in done.stderr
    assert "--allow-initial-netns" in done.stderr
    assert sh("ip", "-o", "link", "show") == before
    hosts = pair.cloud.call(pair.cloud.operator, "GET", f"/v1/hosts/{pair.host}")
    assert hosts["agent"]["state"] == "never-seen"  # it never reached the control plane either
