"""EIPs on the host: translation on the uplink, the holder switch, and what ends a flow.

The real control plane and agent; a namespace plays the internet behind the host's
uplink (198.51.100.0/24, inside the lab only); instances run the lab's service;
claims are crafted GARPs, as in ``test_agent_claims``.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from havip.agent import marks
from havip.agent.runtime import Agent

from .cloud import FAST_UPLINK, VIP, AgentPair
from .netlab import INTERNET_CLIENT, Instance, sh, wait_until
from .test_agent_claims import converged, drop_vip, garp, take_vip

pytestmark = pytest.mark.kernel

IP_TRANSPARENT = 19
PORT = 7000  # the lab service: UDP answers and TCP line echo, both "<name> <request>"


@pytest.fixture
def eip_pair(pair: AgentPair) -> Iterator[AgentPair]:
    pair.lab.add_internet()
    for key in ("i1", "i2", "i3"):
        pair.service(key)
    yield pair


def ask_udp(inet: Instance, target: str, tries: int = 3) -> tuple[str, str] | None:
    """One UDP request from the internet client: (who answered, the answer's source)."""

    def go() -> tuple[str, str] | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            for _ in range(tries):
                s.sendto(b"1 0", (target, PORT))
                try:
                    data, peer = s.recvfrom(2048)
                except TimeoutError:
                    continue
                return data.split()[0].decode(), peer[0]
        return None

    return inet.runner.run(go)


def connect(inet: Instance, target: str) -> socket.socket:
    """A TCP connection from the internet client to ``target``'s echo, opened in its namespace."""

    def go() -> socket.socket:
        s = socket.create_connection((target, PORT), timeout=2)
        s.settimeout(None)
        return s

    return inet.runner.run(go)


def echo(conn: socket.socket, line: bytes = b"hello") -> str:
    conn.settimeout(2)
    conn.sendall(line + b"\n")
    return conn.recv(2048).split()[0].decode()


@dataclass
class Waiter:
    """Waits on an idle connection in a thread: what ended it, and when (time.time_ns)."""

    conn: socket.socket
    outcome: str = ""
    at_ns: int = 0

    def start(self) -> Waiter:
        threading.Thread(target=self._wait, daemon=True).start()
        return self

    def _wait(self) -> None:
        self.conn.settimeout(self.conn.gettimeout() or 10)
        try:
            data = self.conn.recv(2048)
            self.outcome = "data" if data else "closed"
        except ConnectionResetError:
            self.outcome = "reset"
        except TimeoutError:
            self.outcome = "hang"
        self.at_ns = time.time_ns()


class Sink:
    """A UDP listener (on the internet client by default): who did a packet come from."""

    def __init__(self, inst: Instance, port: int = 9999, address: str = INTERNET_CLIENT) -> None:
        self.sock = inst.runner.run(self._open, address, port)
        self.port = port

    @staticmethod
    def _open(address: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, port))
        s.settimeout(1.0)
        return s

    def source_of_next(self) -> str | None:
        try:
            return str(self.sock.recvfrom(2048)[1][0])
        except TimeoutError:
            return None


def send_from(p: AgentPair, key: str, source: str, target: str, port: int) -> None:
    def go() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)  # a backup sends from the VIP it lacks
            s.bind((source, 0))
            s.sendto(b"out", (target, port))

    p.lab.instances[key].runner.run(go)


def nat_table(p: AgentPair) -> str:
    return sh("nft", "list", "table", "ip", "havip_nat", ns=p.lab.host, check=False)


def start(p: AgentPair) -> Agent:
    take_vip(p, "i1")
    agent = p.start_agent(FAST_UPLINK)
    converged(p, "i1")
    return agent


def switch(p: AgentPair, old: str, new: str) -> int:
    """keepalived's move: the new master takes the address and announces; returns when sent."""
    drop_vip(p, old)
    take_vip(p, new)
    sent = time.time_ns()
    garp(p, new)
    return sent


RESET_MS: list[float] = []


def test_an_eip_of_a_havip_follows_the_holder_each_way_and_ends_old_flows_with_a_reset(eip_pair: AgentPair) -> None:
    p = eip_pair
    eip = p.eip(havip=p.havip)["ip"]
    agent = start(p)
    inet = p.lab.instances["inet"]
    wait_until(lambda: eip in nat_table(p), timeout=5)
    assert ask_udp(inet, eip) == ("i1", eip)  # reaches the holder; the reply carries the EIP
    sink = Sink(inet)
    send_from(p, "i1", VIP, INTERNET_CLIENT, sink.port)  # the holder's own traffic leaves as the EIP
    assert sink.source_of_next() == eip
    for old, new in (("i1", "i2"), ("i2", "i1")):
        idle = Waiter(connect(inet, eip))
        busy = connect(inet, eip)
        assert echo(idle.conn) == old and echo(busy) == old
        idle.start()
        switched = switch(p, old, new)
        port = p.lab.instances[new].port
        wait_until(lambda: p.route_dev() == port, timeout=2, interval=0.001)  # noqa: B023 - used at once
        assert echo(connect(inet, eip)) == new  # a new connection reaches the new holder at once
        assert ask_udp(inet, eip) == (new, eip)
        with pytest.raises(ConnectionResetError):
            echo(busy)  # the old holder's connection: the new holder resets it
        wait_until(lambda: idle.outcome, timeout=5)  # noqa: B023 - used at once
        assert idle.outcome == "reset"  # waiting, never sending: reset by the agent's kick
        RESET_MS.append((idle.at_ns - switched) / 1e6)
        converged(p, new)
        send_from(p, new, VIP, INTERNET_CLIENT, sink.port)
        assert sink.source_of_next() == eip
    assert agent.metrics.flows.labels(action="kicked")._value.get() >= 2
    last = agent.dump()["last_flow_reset"]
    assert last["job"]["reason"] == "switch" and last["kicked"] >= 1 and last["deleted"] >= 1
    print(f"\nidle connection reset after the GARP: {', '.join(f'{ms:.1f}' for ms in RESET_MS)} ms")
    assert statistics.median(RESET_MS) < 1000


def test_only_an_address_with_an_eip_reaches_the_internet(eip_pair: AgentPair) -> None:
    p = eip_pair
    eip = p.eip(havip=p.havip)["ip"]
    start(p)
    inet = p.lab.instances["inet"]
    wait_until(lambda: eip in nat_table(p), timeout=5)
    sink = Sink(inet)
    send_from(p, "i2", p.lab.instances["i2"].ip, INTERNET_CLIENT, sink.port)  # no EIP of its own
    send_from(p, "c", p.lab.instances["c"].ip, INTERNET_CLIENT, sink.port)
    assert sink.source_of_next() is None
    send_from(p, "i2", VIP, INTERNET_CLIENT, sink.port)  # a member may send from the VIP: as the EIP
    assert sink.source_of_next() == eip
    # the routing of the VIP's marked packets: the VPC's routes first, the uplink only for the rest
    port, table = p.lab.instances["i1"].port, marks.TABLE_MIN
    mark = f"{marks.egress_mark(table):#x}"

    def via(dst: str) -> str:
        got = sh("ip", "route", "get", dst, "from", VIP, "iif", port, "mark", mark, ns=p.lab.host, check=False)
        return got.split(" dev ")[1].split()[0] if " dev " in got else got

    assert via(INTERNET_CLIENT) == "uplink"
    assert via(p.lab.instances["c"].ip) == p.lab.instances["c"].port
    assert via("10.0.1.250") == marks.sink_name(table)  # in the VPC, unanswered: never out to the internet
    assert via("10.0.9.9") == marks.sink_name(table)


def test_an_eip_of_an_interface_is_translated_without_switching(eip_pair: AgentPair) -> None:
    p = eip_pair
    eip = p.eip(eni=p.eni["i3"])["ip"]
    start(p)
    inet = p.lab.instances["inet"]
    wait_until(lambda: eip in nat_table(p), timeout=5)
    assert ask_udp(inet, eip) == ("i3", eip)
    assert echo(connect(inet, eip)) == "i3"
    sink = Sink(inet)
    send_from(p, "i3", p.lab.instances["i3"].ip, INTERNET_CLIENT, sink.port)
    assert sink.source_of_next() == eip
    switch(p, "i1", "i2")  # a HaVip moving changes nothing for it
    converged(p, "i2")
    assert ask_udp(inet, eip) == ("i3", eip)


def test_removing_an_eip_removes_its_translation_and_its_flows(eip_pair: AgentPair) -> None:
    p = eip_pair
    created = p.eip(havip=p.havip)
    eip = created["ip"]
    start(p)
    inet = p.lab.instances["inet"]
    wait_until(lambda: eip in nat_table(p), timeout=5)
    assert ask_udp(inet, eip) == ("i1", eip)
    p.unassociate_eip(created["id"])
    wait_until(lambda: "havip_nat" not in sh("nft", "list", "tables", ns=p.lab.host), timeout=5)
    assert ask_udp(inet, eip, tries=2) is None
    sink = Sink(inet)
    send_from(p, "i1", VIP, INTERNET_CLIENT, sink.port)
    assert sink.source_of_next() is None
    rules = sh("ip", "rule", ns=p.lab.host)
    assert "fwmark" not in rules
    assert "19999" not in sh("ip", "route", "show", "table", "all", ns=p.lab.host)
