"""Several hosts: the VXLAN-GPE tunnel between host namespaces joined by an underlay bridge.

Each host is a namespace with a real ``Dataplane`` and its own desired state (the one a
control plane would send it: underlay, VNIs, peers, remote interfaces); an underlay
namespace holds the bridge. Checked with real traffic: ping, UDP and a full-size TCP
transfer between instances on different hosts; a HaVip held on the other host; two VPCs
with the same addresses on the same two hosts kept apart by their VNI; the receive side's
drops (unknown underlay source, foreign VNI, foreign inner source), each counted, with
VXLAN-GPE packets crafted by hand; ICMP fragmentation-needed for a too-big DF packet;
re-applying plans nothing; a peer's removal removes its routes; with EIPs translated on a
peer, the internet's packets from that peer to an EIP's address pass and nothing more.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from havip.agent import marks
from havip.agent.dataplane import Dataplane
from havip.agent.dataplane.peerlink import PeerLink
from havip.agent.desired import build_desired
from havip.agent.settings import TunnelSettings
from havip.domain.desired import DesiredPeer, DesiredRemoteInterface, DesiredState

from .netlab import Instance, Lab, _checksum, ping, reconcile, sh, wait_until
from .states import Eip, Iface, State, Vip

pytestmark = pytest.mark.kernel

UNDERLAY = "10.255.0.{}"
PEER_TEST_PORT = 4791
PORT = 4790
VIP = "10.0.0.3"
IP_MTU_DISCOVER = 10
IP_PMTUDISC_PROBE = 3


@dataclass
class Host:
    name: str  # the control plane's host name
    ns: str
    underlay: str
    dp: Dataplane


class Hosts:
    """Host namespaces on one underlay bridge (research/multihost.md 5.3), and instances."""

    def __init__(self, lab: Lab, count: int) -> None:
        self.lab = lab
        self.ul = lab.add_ns(f"{lab.host}-ul")
        sh("ip", "link", "add", "name", "ulbr", "type", "bridge", ns=self.ul)
        sh("ip", "link", "set", "ulbr", "up", ns=self.ul)
        self.hosts = [self._host(k) for k in range(1, count + 1)]

    def _host(self, k: int) -> Host:
        ns = self.lab.host if k == 1 else self.lab.add_ns(f"{self.lab.host}-h{k}")
        underlay = self.plug(ns, k)
        dp = Dataplane(ns)
        self.lab._dataplanes.append(dp)
        return Host(f"h{k}", ns, underlay, dp)

    def plug(self, ns: str, k: int) -> str:
        """A veth from ``ns`` to the bridge, addressed 10.255.0.k/24."""
        sh("ip", "link", "add", "ul", "netns", ns, "type", "veth", "peer", "name", f"ul{k}", "netns", self.ul)
        sh("ip", "link", "set", f"ul{k}", "master", "ulbr", "up", ns=self.ul)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("ip", "addr", "add", f"{UNDERLAY.format(k)}/24", "dev", "ul", ns=ns)
        sh("ip", "link", "set", "ul", "up", ns=ns)
        return UNDERLAY.format(k)

    def instance(self, host: Host, key: str, ip: str, mac: str, mtu: int = 1500) -> Instance:
        ns = self.lab.add_ns(f"{self.lab.host}-{key}")
        port = f"p-{key}"
        sh("ip", "link", "add", port, "netns", host.ns, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", "eth0", "address", mac, "mtu", str(mtu), "up", ns=ns)
        sh("ip", "addr", "add", f"{ip}/24", "dev", "eth0", ns=ns)
        sh("ip", "route", "add", "default", "via", "10.0.0.1", ns=ns)
        inst = Instance(ns, port, mac, ip, self.lab.runner(ns))
        self.lab.instances[key] = inst
        return inst


@pytest.fixture
def two(lab: Lab) -> Hosts:
    return Hosts(lab, 2)


def cross(
    state: DesiredState,
    host: Host,
    peers: Sequence[Host],
    remotes: Sequence[DesiredRemoteInterface],
    vnis: dict[str, int],
) -> DesiredState:
    """``state`` as a control plane sends it to a host with an underlay."""
    return dataclasses.replace(
        state,
        host=host.name,
        underlay=host.underlay,
        vnis=vnis,
        peers=[DesiredPeer(host=p.name, underlay=p.underlay) for p in peers],
        remote_interfaces=list(remotes),
    )


def remote(
    id: str, vpc: str, host: Host, addresses: list[str], claimable: Sequence[str] = ()
) -> DesiredRemoteInterface:
    return DesiredRemoteInterface(
        id=id, vpc_id=vpc, subnet_id="vsw-1", host=host.name, addresses=addresses, claimable=list(claimable)
    )


def apply(host: Host, state: DesiredState) -> None:
    reconcile(host.dp, state)
    assert reconcile(host.dp, state) == [], "re-applying the same state must plan nothing"


# ------------------------------------------------------------------------ traffic


def udp_receiver(inst: Instance, port: int) -> socket.socket:
    s: socket.socket = inst.runner.run(socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    return s


def received(s: socket.socket, timeout: float = 0.5) -> list[tuple[bytes, str]]:
    out = []
    while select.select([s], [], [], timeout)[0]:
        data, (src, _) = s.recvfrom(4096)
        out.append((data, src))
        timeout = 0.05
    return out


def send_udp(inst: Instance, target: str, port: int, payload: bytes) -> None:
    def go() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(payload, (target, port))

    inst.runner.run(go)


def gpe_packet(vni: int, inner_src: str, inner_dst: str, port: int, payload: bytes) -> bytes:
    """A VXLAN-GPE payload (after the outer UDP header) carrying an IPv4/UDP packet."""
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
        ipaddress.IPv4Address(inner_src).packed, ipaddress.IPv4Address(inner_dst).packed,
    )  # fmt: skip
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    gpe = struct.pack("!BHB", 0x0C, 0, 1) + struct.pack("!I", vni << 8)  # flags I|P, next protocol IPv4
    return gpe + ip + udp


def send_gpe(lab: Lab, ns: str, source: str, target: str, packet: bytes) -> None:
    def go() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((source, 0))
            s.sendto(packet, (target, PORT))

    runner = lab.runner(ns)
    runner.run(go)


def tcp_transfer(client: Instance, server: Instance, size: int) -> int:
    """Bytes the server received of ``size`` sent by the client over one connection."""
    srv: socket.socket = server.runner.run(socket.create_server, ("0.0.0.0", 5001))
    got = [0]

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            while chunk := conn.recv(65536):
                got[0] += len(chunk)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cli: socket.socket = client.runner.run(socket.socket, socket.AF_INET, socket.SOCK_STREAM)
    with cli:
        cli.settimeout(5)
        cli.connect((server.ip, 5001))
        cli.sendall(os.urandom(size))
    t.join(10)
    srv.close()
    return got[0]


def frag_needed(inst: Instance, target: str, size: int) -> int | None:
    """Send a DF ICMP echo of ``size`` bytes (IP) from the instance; the MTU an ICMP
    fragmentation-needed answer reports, or None."""

    def go() -> int | None:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
            s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
            body = b"x" * (size - 28)
            hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4856, 1) + body
            s.sendto(struct.pack("!BBHHH", 8, 0, _checksum(hdr), 0x4856, 1) + body, (target, 0))
            while select.select([s], [], [], 1.0)[0]:
                data = s.recv(4096)
                ihl = (data[0] & 0xF) * 4
                typ, code, _c, _unused, mtu = struct.unpack_from("!BBHHH", data, ihl)
                if typ == 3 and code == 4:
                    return int(mtu)
        return None

    return inst.runner.run(go)


def tunnel_counters(host: Host) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in host.dp.nft_counters().items() if k.startswith(marks.NFT_TUNNEL + ".")}


def table_routes(host: Host, table: int) -> str:
    return sh("ip", "route", "show", "table", str(table), ns=host.ns)


# -------------------------------------------------------------------------- tests


@dataclass
class OneVpc:
    a1: Instance
    a2: Instance
    s1: DesiredState
    s2: DesiredState


def one_vpc(two: Hosts, mtu: int = 1500) -> OneVpc:
    """a1 (10.0.0.11) on h1, a2 (10.0.0.12) on h2 in vpc-1 (VNI 100); the HaVip's VIP
    may be claimed by a2 and is held there."""
    h1, h2 = two.hosts
    a1 = two.instance(h1, "a1", "10.0.0.11", "52:54:00:00:01:01", mtu)
    a2 = two.instance(h2, "a2", "10.0.0.12", "52:54:00:00:01:02", mtu)
    sh("ip", "addr", "add", f"{VIP}/32", "dev", "eth0", ns=a2.ns)
    vpcs = {"vpc-1": "10.0.0.0/24"}
    vip = Vip("havip-1", "vpc-1", VIP, [], "eni-a2", "h2")
    s1 = State([Iface("eni-a1", "vpc-1", a1.mac, a1.port, [a1.ip])], [vip], vpcs=vpcs)
    s2 = State(
        [Iface("eni-a2", "vpc-1", a2.mac, a2.port, [a2.ip])],
        [dataclasses.replace(vip, claimants=["eni-a2"])],
        vpcs=vpcs,
    )
    vnis = {"vpc-1": 100}
    s1 = cross(s1, h1, [h2], [remote("eni-a2", "vpc-1", h2, [a2.ip], ["havip-1"])], vnis)
    s2 = cross(s2, h2, [h1], [remote("eni-a1", "vpc-1", h1, [a1.ip])], vnis)
    apply(h1, s1)
    apply(h2, s2)
    return OneVpc(a1, a2, s1, s2)


def test_instances_on_two_hosts_reach_each_other_and_the_vip_held_across(two: Hosts) -> None:
    h1, h2 = two.hosts
    v = one_vpc(two)
    assert ping(v.a1, v.a2.ip, count=2) == 2
    assert ping(v.a2, v.a1.ip) == 1
    assert ping(v.a1, VIP) == 1, "the VIP held on h2 is reached through the tunnel"
    table = h1.dp.read().vpc_tables()["vpc-1"]
    routes = " ".join(table_routes(h1, table).split())
    assert f"{VIP} encap ip id 100 src 0.0.0.0 dst {h2.underlay} ttl 0 tos 0 dev {marks.TUNNEL_DEVICE}" in routes
    # the tunnel device as the agent built it
    link = h1.dp.read().links[marks.TUNNEL_DEVICE]
    assert (link.kind, link.tunnel_port, link.mtu, link.alias) == ("vxlan", PORT, 1464, marks.ALIAS_TUNNEL)

    # the peer leaves this VPC: its routes, its rule's sources and the host go
    alone = dataclasses.replace(v.s1, peers=[], remote_interfaces=[])
    apply(h1, alone)
    routes = table_routes(h1, table)
    assert v.a2.ip not in routes and "encap" not in routes
    assert ping(v.a1, v.a2.ip, timeout=0.3) == 0

    # no underlay any more: one host again, nothing of the tunnel left
    apply(h1, dataclasses.replace(alone, underlay=None, vnis={}))
    observed = h1.dp.read()
    assert marks.TUNNEL_DEVICE not in observed.links
    assert not [r for r in observed.rules if marks.is_our_tunnel_rule(r.priority, r.proto)]
    assert ("ip", marks.NFT_TUNNEL) not in observed.nft


def test_full_size_tcp_crosses_and_a_too_big_df_packet_gets_frag_needed(two: Hosts) -> None:
    v = one_vpc(two, mtu=1464)  # what docs/agent.md asks of a hypervisor's instances
    assert tcp_transfer(v.a1, v.a2, 1 << 20) == 1 << 20
    sh("ip", "link", "set", "eth0", "mtu", "1500", ns=v.a1.ns)
    assert frag_needed(v.a1, v.a2.ip, 1500) == 1464


def test_two_vpcs_with_the_same_addresses_stay_apart_by_vni(two: Hosts) -> None:
    h1, h2 = two.hosts
    vpcs = {"vpc-1": "10.0.0.0/24", "vpc-2": "10.0.0.0/24"}
    a1 = two.instance(h1, "a1", "10.0.0.11", "52:54:00:00:01:01")
    b1 = two.instance(h1, "b1", "10.0.0.11", "52:54:00:00:02:01")
    a2 = two.instance(h2, "a2", "10.0.0.12", "52:54:00:00:01:02")
    b2 = two.instance(h2, "b2", "10.0.0.12", "52:54:00:00:02:02")
    vnis = {"vpc-1": 100, "vpc-2": 200}

    def state(
        host: Host, mine: Sequence[tuple[str, str, Instance]], peer: Host, theirs: Sequence[tuple[str, str, Instance]]
    ) -> DesiredState:
        s = State([Iface(i, vpc, x.mac, x.port, [x.ip]) for i, vpc, x in mine], vpcs=vpcs)
        return cross(s, host, [peer], [remote(i, vpc, peer, [x.ip]) for i, vpc, x in theirs], vnis)

    side1 = [("eni-a1", "vpc-1", a1), ("eni-b1", "vpc-2", b1)]
    side2 = [("eni-a2", "vpc-1", a2), ("eni-b2", "vpc-2", b2)]
    apply(h1, state(h1, side1, h2, side2))
    apply(h2, state(h2, side2, h1, side1))
    ra, rb = udp_receiver(a2, 7000), udp_receiver(b2, 7000)
    with ra, rb:
        send_udp(a1, "10.0.0.12", 7000, b"vpc-1")
        send_udp(b1, "10.0.0.12", 7000, b"vpc-2")
        assert received(ra) == [(b"vpc-1", "10.0.0.11")]
        assert received(rb) == [(b"vpc-2", "10.0.0.11")]
    assert ping(b2, "10.0.0.11") == 1


def test_the_receive_side_drops_and_counts_what_no_peer_may_send(two: Hosts) -> None:
    h1, h2 = two.hosts
    v = one_vpc(two)
    stranger = two.lab.add_ns(f"{two.lab.host}-x")
    two.plug(stranger, 99)
    before = tunnel_counters(h1)
    inbox = udp_receiver(v.a1, 7000)
    cases: Iterator[tuple[str, str, int, str, bytes]] = iter(
        [
            (stranger, UNDERLAY.format(99), 100, "10.0.0.12", b"unknown host"),
            (h2.ns, h2.underlay, 999, "10.0.0.12", b"foreign vni"),
            (h2.ns, h2.underlay, 100, "10.0.0.77", b"foreign source"),
            (h2.ns, h2.underlay, 100, VIP, b"a vip it may claim"),
            (h2.ns, h2.underlay, 100, "10.0.0.12", b"legit"),
        ]
    )
    with inbox:
        for ns, source, vni, inner, payload in cases:
            send_gpe(two.lab, ns, source, h1.underlay, gpe_packet(vni, inner, v.a1.ip, 7000, payload))
        got = received(inbox)
    assert sorted(got) == [(b"a vip it may claim", VIP), (b"legit", "10.0.0.12")]
    after = tunnel_counters(h1)
    drops = {k: after[k] - before.get(k, 0) for k in after}
    assert drops == {
        "tunnel_unknown_host": 1,
        "tunnel_bad_proto": 0,
        "tunnel_foreign_vni": 1,
        "tunnel_foreign_source": 1,
    }
    # a VNI that passes the filter but has no rule never reaches the host's main table
    rules = sh("ip", "rule", "show", ns=h1.ns)
    assert f"iif {marks.TUNNEL_DEVICE} unreachable" in rules and "tun_id 100" in rules


def test_claim_messages_cross_the_underlay_with_their_kernel_receive_time(two: Hosts) -> None:
    """The agents' UDP link, opened in each host's namespace: a datagram from host 1's
    underlay address arrives on host 2 with the sender's address and a kernel timestamp."""
    h1, h2 = two.hosts
    a = PeerLink(two.lab.runner(h1.ns), PEER_TEST_PORT)
    b = PeerLink(two.lab.runner(h2.ns), PEER_TEST_PORT)
    try:
        before = time.time_ns()
        a.send(h2.underlay, b"HVC1 hello")
        got = wait_until(b.receive)
        after = time.time_ns()
        assert [(data, source) for data, source, _rx in got] == [(b"HVC1 hello", h1.underlay)]
        assert before <= got[0][2] <= after, "the datagram's kernel receive time"
        assert b.receive() == [], "nothing else queued"
    finally:
        a.close()
        b.close()


def test_a_peer_that_translates_eips_may_send_the_internet_to_an_eip_and_nothing_else(two: Hosts) -> None:
    """h1 translates the VPC's EIPs (``--eip-host h1`` on h2): h2 takes, from h1 in the VPC's
    VNI, any source outside the VPC addressed to an EIP's private address (the VIP), and still
    drops what it dropped before: a source inside the VPC that is not h1's, a translated
    source to an address without an EIP, the same packet from a peer that does not translate.
    h2's catch-all is the tunnel towards h1 (the VPC's own CIDR stays in the sink)."""
    h1, h2 = two.hosts
    v = one_vpc(two)
    third = two.lab.add_ns(f"{two.lab.host}-h3")
    two.plug(third, 3)  # a known peer of h2 that does not translate
    eip = Eip("198.51.100.1", "vpc-1", VIP, havip_id="havip-1")
    s2 = dataclasses.replace(v.s2, eips=[eip], peers=[*v.s2.peers, DesiredPeer(host="h3", underlay=UNDERLAY.format(3))])
    settings = TunnelSettings(eip_host="h1")
    reconcile(h2.dp, s2, tunnel=settings)
    assert reconcile(h2.dp, s2, tunnel=settings) == [], "re-applying the same state must plan nothing"
    (table,) = {p.table for p in build_desired(s2, tunnel=settings).ports}
    routes = table_routes(h2, table)
    (default,) = [line for line in routes.splitlines() if line.startswith("default")]
    assert "encap ip id 100" in default and f"dst {h1.underlay}" in default, routes
    assert f"10.0.0.0/24 dev {marks.sink_name(table)}" in routes, routes
    before = tunnel_counters(h2)
    internet = "203.0.113.9"
    inbox = udp_receiver(v.a2, 7000)
    cases = [
        (h1.ns, h1.underlay, internet, VIP, b"translated"),
        (h1.ns, h1.underlay, "10.0.0.77", VIP, b"a vpc source not h1's"),
        (h1.ns, h1.underlay, internet, v.a2.ip, b"no eip on it"),
        (third, UNDERLAY.format(3), internet, VIP, b"not the translator"),
        (h1.ns, h1.underlay, v.a1.ip, v.a2.ip, b"h1's own instance"),
    ]
    with inbox:
        for ns, source, inner, dst, payload in cases:
            send_gpe(two.lab, ns, source, h2.underlay, gpe_packet(100, inner, dst, 7000, payload))
        got = received(inbox)
    assert sorted(got) == [(b"h1's own instance", v.a1.ip), (b"translated", internet)]
    after = tunnel_counters(h2)
    assert {k: after[k] - before.get(k, 0) for k in after} == {
        "tunnel_unknown_host": 0,
        "tunnel_bad_proto": 0,
        "tunnel_foreign_vni": 0,
        "tunnel_foreign_source": 3,
    }
    # without --eip-host the same state takes nothing translated (today's one-host rule)
    reconcile(h2.dp, s2)
    assert "default dev " + marks.sink_name(table) in table_routes(h2, table)
    inbox = udp_receiver(v.a2, 7000)
    with inbox:
        send_gpe(two.lab, h1.ns, h1.underlay, h2.underlay, gpe_packet(100, internet, VIP, 7000, b"translated"))
        assert received(inbox) == []
