"""What the network refuses and allows, with real keepalived holding the VIP.

Explicit mode: a non-member's announcement of the VIP never takes it (and is
recorded); nobody can take another instance's ordinary address by ARP or send with
a spoofed source; broadcast and multicast do not cross the VPC. Subnet mode: any
interface of the subnet may take the VIP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .labkit import Lab, build

pytestmark = pytest.mark.lab

VIP = "172.17.16.3"

SEND_GARP = """
import socket
from havip.agent.arp import build_garp
mac = open('/sys/class/net/eth0/address').read().strip()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
for _ in range({count}):
    s.send(build_garp(mac, '{ip}'))
"""

ASK = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
{bind}
answers = []
for i in range(5):
    s.sendto(b'1 0', ('{target}', 7000))
    try:
        answers.append(s.recvfrom(2048)[0].split()[0].decode())
    except socket.timeout:
        pass
print(' '.join(answers))
"""


def ask(lab: Lab, instance: str, target: str, source: str | None = None) -> list[str]:
    bind = f"s.bind(('{source}', 0))" if source else ""
    return lab.py(instance, ASK.format(target=target, bind=bind)).split()


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1)


def test_a_non_members_announcement_never_takes_the_vip(lab: Lab) -> None:
    holder = lab.status()["holder"]
    refused_before = lab.host_counter("refused_claim")
    lab.py("client", SEND_GARP.format(count=5, ip=VIP))
    assert wait_until(lambda: lab.host_counter("refused_claim") >= refused_before + 1)
    assert wait_until(lambda: any(e["kind"] == "claim_refused" and e["to"] == "client" for e in lab.status()["events"]))
    time.sleep(0.3)
    assert lab.status()["holder"] == holder
    assert set(ask(lab, "client", VIP)) == {holder}


def test_nobody_takes_another_instances_address_by_arp(lab: Lab) -> None:
    before = lab.host_counter("bad_arp")
    lab.py("client", SEND_GARP.format(count=3, ip="172.17.16.7"))
    assert wait_until(lambda: lab.host_counter("bad_arp") >= before + 3)
    assert set(ask(lab, "i2", "172.17.16.7")) == {"i1"}


def test_a_spoofed_source_is_dropped(lab: Lab) -> None:
    ns = lab.ns("client")
    import subprocess

    subprocess.run(["ip", "-n", ns, "addr", "add", "172.17.16.7/32", "dev", "eth0"], check=True)
    # resolved already (as a guest would be), so the spoofed IP packets themselves go out
    subprocess.run(
        ["ip", "-n", ns, "neigh", "replace", "172.17.16.13", "lladdr", "ee:ff:ff:ff:ff:ff", "dev", "eth0"], check=True
    )
    try:
        before = lab.host_counter("bad_ip")
        assert ask(lab, "client", "172.17.16.13", source="172.17.16.7") == []
        assert lab.host_counter("bad_ip") >= before + 5
    finally:
        subprocess.run(["ip", "-n", ns, "addr", "del", "172.17.16.7/32", "dev", "eth0"], check=True)
    assert set(ask(lab, "client", "172.17.16.13")) == {"i2"}


LISTEN = """
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 7001))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton('239.1.1.1'), socket.inet_aton('0.0.0.0')))
s.settimeout(0.2)
got = 0
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    try:
        s.recvfrom(2048); got += 1
    except socket.timeout:
        pass
print(got)
"""

BLAST = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
time.sleep(0.5)
for _ in range(5):
    for target in ('172.17.16.255', '255.255.255.255', '239.1.1.1', '224.0.0.18'):
        try:
            s.sendto(b'hello', (target, 7001))
        except OSError:
            pass
    time.sleep(0.05)
"""


def test_broadcast_and_multicast_do_not_cross_the_vpc(lab: Lab) -> None:
    import subprocess
    import sys

    listener = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("i2"), sys.executable, "-c", LISTEN.format(seconds=2.0)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lab.py("i1", BLAST)
    out, _ = listener.communicate(timeout=10)
    assert out.strip() == "0"
    # unicast between the same two instances does cross (the control case)
    assert set(ask(lab, "i1", "172.17.16.13")) == {"i2"}


@pytest.fixture(scope="module")
def subnet_lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1, binding_mode="subnet")


def test_in_subnet_mode_any_interface_of_the_subnet_takes_the_vip(subnet_lab: Lab) -> None:
    assert subnet_lab.status()["holder"] in ("i1", "i2")
    subnet_lab.py("client", SEND_GARP.format(count=1, ip=VIP))
    assert wait_until(lambda: subnet_lab.status()["holder"] == "client")
    event = next(e for e in subnet_lab.status()["events"] if e["kind"] == "holder_changed")
    assert event["to"] == "client"
