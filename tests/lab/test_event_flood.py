"""A history that a flood cannot bury, with real keepalived, agent and control plane.

The client (not a member) floods GARPs for the VIP at about 20,000 frames/s for 10 s out of a raw
packet socket in its namespace, and a real failover (the holder's keepalived killed) happens
during it. The data plane drops every one of those frames and logs at most a few a second per
port to the agent (NFLOG, rate-limited), whose reports the control plane merges: the HaVip's
first page of events (the API's default page) still shows the holder change, and the refusals
are a few entries whose counts add up to what the agent logged as refused (``claim-refused``
in its log) — not to the frames sent, which the kernel never let through to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .labkit import Lab, build, wait_until

pytestmark = pytest.mark.lab

VIP = "172.17.16.3"
RATE, SECONDS = 20_000, 10.0

FLOOD = """
import socket, time
from havip.agent.arp import build_garp
mac = open('/sys/class/net/eth0/address').read().strip()
frame = build_garp(mac, '{ip}')
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
rate, seconds, sent = {rate}, {seconds}, 0
start = time.monotonic()
while (elapsed := time.monotonic() - start) < seconds:
    while sent < int(elapsed * rate):
        try:
            s.send(frame)
        except BlockingIOError:
            pass
        sent += 1
    time.sleep(0.0005)
print(sent, time.monotonic() - start)
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1)


def first_page(lab: Lab, havip_id: str) -> list[dict[str, Any]]:
    """The HaVip's events as the API's first page shows them (its default limit), newest first."""
    token = json.loads(lab.paths.credentials.read_text())["tenant_token"]
    transport = httpx.HTTPTransport(uds=str(lab.paths.api_socket))
    with httpx.Client(base_url="http://havip", transport=transport, timeout=10) as http:
        answer = http.get(f"/v1/havips/{havip_id}/events", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def agent_refusals(lab: Lab, havip_id: str) -> int:
    """How many refused claims for the HaVip the agent logged (each one it reports)."""
    n = 0
    for line in (lab.paths.root / "agent.log").read_text().splitlines():
        if '"claim-refused"' in line:
            rec = json.loads(line)
            n += rec.get("event") == "claim-refused" and rec.get("havip") == havip_id
    return n


def test_a_garp_flood_during_a_failover_leaves_the_failover_on_the_first_page(lab: Lab) -> None:
    before = lab.status()
    havip_id, old = before["havip_id"], before["holder"]
    ids = {i["name"]: i["instance_id"] for i in before["instances"]}
    assert agent_refusals(lab, havip_id) == 0
    flood = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab.ns("client"),
            sys.executable,
            "-c",
            FLOOD.format(ip=VIP, rate=RATE, seconds=SECONDS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: agent_refusals(lab, havip_id) > 0, timeout=5)  # the flood is under way
        time.sleep(2.0)
        result = lab.failover("kill")  # during the flood
        out, err = flood.communicate(timeout=SECONDS + 20)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    assert flood.returncode == 0, err
    sent, took = out.split()
    assert int(sent) >= 0.9 * RATE * SECONDS and float(took) < SECONDS + 1  # the flood was one
    new = {"i1": "i2", "i2": "i1"}[old]
    assert (result["old_holder"], result["new_holder"]) == (old, new)
    assert result["stale_answers_after_switch"] == 0

    logged = agent_refusals(lab, havip_id)
    assert logged >= 10  # the data plane let a few a second through to the agent, for 10 s

    def merged() -> list[dict[str, Any]]:
        page = first_page(lab, havip_id)
        refused = [e for e in page if e["kind"] == "claim_refused"]
        return page if sum(e["count"] for e in refused) == logged else []

    page = wait_until(merged, timeout=15)  # the reporter delivers what the agent logged
    refused = [e for e in page if e["kind"] == "claim_refused"]
    assert {e["instance_id"] for e in refused} == {ids["client"]}
    assert len(refused) <= 3, [(e["at"], e["count"]) for e in refused]  # before and after the failover
    changes = [e for e in page if e["kind"] == "holder_changed"]
    assert (changes[0]["previous_instance_id"], changes[0]["instance_id"]) == (ids[old], ids[new])
    assert len(page) <= 8  # the whole history: 2 associations, 2 holder changes and the merged refusals
    first_refusal = min(refused, key=lambda e: e["at"])
    assert first_refusal["at"] < changes[0]["at"]  # the flood began before the failover and is shown before it
