"""The pair as the VPC's gateway: a route entry whose next hop is the HaVip.

Real keepalived (VRRPv3, advert_int 0.1) in the ``gateway`` scenario: the client
reaches the remote host (192.168.50.10) through whichever member holds the VIP, before
and after a failover each way; the remote host's answers, whose source is inside the
route entry's destination, pass anti-spoofing on the members' ports while the client
(not a member) sending from that range is still dropped; removing the route entry
removes the route and the exception from the host.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .labkit import Lab, SourceWatch, build, wait_until

pytestmark = pytest.mark.lab

REMOTE_HOST = "192.168.50.10"
REMOTE_CIDR = "192.168.50.0/24"

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

SEND_FROM = """
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IP, 19, 1)  # IP_TRANSPARENT: a source the instance does not own
u.bind(('{source}', 0))
for _ in range({count}):
    u.sendto(b'spoof', ('{target}', 7000))
"""


LISTEN_THEN_SEND = """
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 9997))
s.settimeout(2)
subprocess.run(['ip', 'netns', 'exec', '{sender}', sys.executable, '-c',
    "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IP, 19, 1); "
    "u.bind(('{source}', 0)); u.sendto(b'fwd', ('{target}', 9997))"], check=True)
try:
    print(s.recvfrom(2048)[1][0])
except socket.timeout:
    print('nothing')
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from build(advert_int=0.1, scenario="gateway")


def through(lab: Lab, count: int = 5) -> set[str]:
    """Who forwarded the client's requests to the remote host (it answers with the gateway's name)."""
    return set(lab.py("client", ASK.format(target=REMOTE_HOST, count=count)).split())


def route_dev(lab: Lab) -> str | None:
    for line in lab.host("ip", "route", "show", "table", "all").splitlines():
        if line.startswith(REMOTE_CIDR + " "):
            return line.split(" dev ")[1].split()[0]
    return None


def test_route_entry_traffic_reaches_the_new_holder_after_failover_each_way(lab: Lab) -> None:
    st = lab.status()
    assert st["route_entry"]["destination"] == REMOTE_CIDR
    assert through(lab) == {f"{st['holder']}@{REMOTE_HOST}"}
    assert route_dev(lab) == f"p-{st['holder']}"
    bad_ip = lab.host_counter("bad_ip")
    watch = SourceWatch(lab, [f"p-{i['name']}" for i in st["instances"]])
    for _ in range(2):  # there and back
        old = lab.status()["holder"]
        result = lab.failover("kill")
        new = result["new_holder"]
        assert (result["old_holder"], new) == (old, {"i1": "i2", "i2": "i1"}[old])
        path = result["paths"]["route"]
        # after the GARP that moved it, not after the ack the agent logged: the kernel applies the route
        # before the agent reads its ack, which a busy machine can delay by a few ms
        assert path["first_answer_ms"] is not None and path["first_answer_ms"] >= result["garp_seen_ms"]
        assert path["stale_answers_after_switch"] == 0
        assert route_dev(lab) == f"p-{new}"  # switched with the VIP, by the claim
        assert through(lab) == {f"{new}@{REMOTE_HOST}"}
        print(
            f"\n{old}->{new}: the route entry's traffic reached {new} {path['first_answer_ms']:.1f} ms after the failure"
        )
    # every answer from behind the gateways came in with a source inside the entry's destination
    dropped = lab.host_counter("bad_ip") - bad_ip
    refused = watch.refused()
    watch.close()
    print(f"sources seen on the ports: {sorted(watch.seen_last)}")
    assert (dropped, refused) == (0, set()), (
        f"{dropped} packets dropped as bad_ip; (port, source) not allowed: {refused}"
    )


def test_a_non_member_sending_from_the_routed_range_is_still_dropped(lab: Lab) -> None:
    before = lab.host_counter("bad_ip")
    i1 = next(i for i in lab.status()["instances"] if i["name"] == "i1")
    lab.py("client", SEND_FROM.format(source="192.168.50.77", target=i1["address"], count=5))
    wait_until(lambda: lab.host_counter("bad_ip") >= before + 5, timeout=5)
    # while the members themselves (the backup too) may send from it
    st = lab.status()
    backup = next(i for i in st["instances"] if i["keepalived"] == "BACKUP")
    client = next(i for i in st["instances"] if i["name"] == "client")
    got = lab.py(
        "client", LISTEN_THEN_SEND.format(sender=backup["namespace"], source="192.168.50.77", target=client["address"])
    )
    assert got == "192.168.50.77"


def test_removing_the_route_entry_removes_the_route_and_the_exception(lab: Lab) -> None:
    assert route_dev(lab) is not None
    assert lab.remove() == "route"
    wait_until(lambda: route_dev(lab) is None, timeout=10)
    assert "192.168.50.0/24" not in lab.host("nft", "list", "table", "netdev", "havip_antispoof")
    assert lab.status()["route_entry"] is None
    assert through(lab, count=3) == set()
    holder = lab.status()["holder"]
    before = lab.host_counter("bad_ip")
    lab.py(holder, SEND_FROM.format(source="192.168.50.77", target="172.17.16.20", count=3))
    wait_until(lambda: lab.host_counter("bad_ip") >= before + 3, timeout=5)
