"""The product pages' public service: an EIP on the HaVip, reached from the internet.

Real keepalived (VRRPv3, advert_int 0.1) in the ``eip`` scenario: the internet client
(198.51.100.100, in the lab's internet namespace) reaches the EIP before and after a
failover each way and always sees the EIP as the source of the answers; a connection
open across a failover ends with a reset; the holder's own traffic leaves as the EIP;
removing the EIP removes the translation from the host.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .labkit import Lab, build, wait_until

pytestmark = pytest.mark.lab

ASK = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
out = []
for i in range({count}):
    s.sendto(b'1 0', ('{target}', 7000))
    try:
        data, peer = s.recvfrom(2048)
        out.append(data.split()[0].decode() + '@' + peer[0])
    except socket.timeout:
        pass
print(' '.join(out))
"""

HTTP = """
import urllib.request
print(urllib.request.urlopen('http://{target}:8080/', timeout=2).read().decode().strip())
"""

LISTEN_THEN_SEND = """
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('198.51.100.100', 9999))
s.settimeout(2)
subprocess.run(['ip', 'netns', 'exec', '{sender}', sys.executable, '-c',
    "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('{source}', 0)); "
    "u.sendto(b'out', ('198.51.100.100', 9999))"], check=True)
try:
    print(s.recvfrom(2048)[1][0])
except socket.timeout:
    print('nothing')
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1, scenario="eip")


def answers(lab: Lab, count: int = 5) -> set[str]:
    st = lab.status()
    return set(lab.py_in(st["internet_namespace"], ASK.format(target=st["eip"], count=count)).split())


def test_the_internet_client_reaches_the_eip_before_and_after_failover_each_way(lab: Lab) -> None:
    st = lab.status()
    eip, inet = st["eip"], st["internet_namespace"]
    assert eip.startswith("198.51.100.")
    assert answers(lab) == {f"{st['holder']}@{eip}"}  # the holder answers, the answer carries the EIP
    assert lab.py_in(inet, HTTP.format(target=eip)) == st["holder"]
    for _ in range(2):  # there and back
        old = lab.status()["holder"]
        result = lab.failover("kill")
        new = result["new_holder"]
        assert (result["old_holder"], new) == (old, {"i1": "i2", "i2": "i1"}[old])
        path = result["paths"]["eip"]
        # after the GARP that moved it, not after the ack the agent logged: the kernel applies the route
        # before the agent reads its ack, which a busy machine can delay by a few ms
        assert path["first_answer_ms"] is not None and path["first_answer_ms"] >= result["garp_seen_ms"]
        assert path["stale_answers_after_switch"] == 0
        assert answers(lab) == {f"{new}@{eip}"}
        assert lab.py_in(inet, HTTP.format(target=eip)) == new
        held = result["connection"]
        assert held["opened_with"] == old
        assert held["outcome"] == "reset"  # not a hang: the old holder's connection ends at once
        assert held["after_switch_ms"] is not None and held["after_switch_ms"] < 1000
        print(
            f"\n{old}->{new}: EIP answered by {new} {path['first_answer_ms']:.1f} ms after the failure; "
            f"the idle connection was reset {held['after_switch_ms']:.1f} ms after the switch"
        )


def test_the_holders_own_traffic_leaves_as_the_eip_and_others_do_not_leave(lab: Lab) -> None:
    st = lab.status()
    holder = next(i for i in st["instances"] if i["name"] == st["holder"])
    client = next(i for i in st["instances"] if i["name"] == "client")
    inet = st["internet_namespace"]
    got = lab.py_in(inet, LISTEN_THEN_SEND.format(sender=holder["namespace"], source=st["vip"]))
    assert got == st["eip"]
    got = lab.py_in(inet, LISTEN_THEN_SEND.format(sender=client["namespace"], source=client["address"]))
    assert got == "nothing"  # no EIP, no internet
    assert lab.host_counter("egress_without_eip", "ip", "havip_nat") == 0


def test_removing_the_eip_removes_the_translation_on_the_host(lab: Lab) -> None:
    eip = lab.status()["eip"]
    assert "havip_nat" in lab.host("nft", "list", "tables")
    assert lab.remove() == "eip"
    wait_until(lambda: "havip_nat" not in lab.host("nft", "list", "tables"), timeout=10)
    assert eip not in lab.host("nft", "list", "ruleset")
    assert "fwmark" not in lab.host("ip", "rule")
    st = lab.status()
    assert st["eip"] is None
    assert lab.py_in(st["internet_namespace"], ASK.format(target=eip, count=3)) == ""
