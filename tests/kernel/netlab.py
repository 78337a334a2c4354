"""Throwaway namespaces for the kernel tier: a host, instances on veths, real traffic.

Every namespace is named ``havip-t-<random>``; a ``Lab`` deletes all it created when
the test ends (the fixture registers ``close`` as a finalizer, so also on failure).
Veths are created directly inside the namespaces, so nothing ever appears in the
root namespace. Traffic is sent and received by sockets opened inside the
instances' namespaces (``Netns``), never in the root namespace.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import select
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from havip.agent import arp
from havip.agent.dataplane import Dataplane, Netns
from havip.agent.pipeline import reconcile_pass
from havip.agent.settings import TunnelSettings
from havip.domain.desired import DesiredState

T = TypeVar("T")
PREFIX = "havip-t-"

# The internet, inside the lab only: the host's uplink and the upstream router on a /30,
# a client at INTERNET_CLIENT, and an EIP pool the upstream routes to the host.
UPLINK = "uplink"
UPLINK_HOST = "198.51.100.254"
UPLINK_GATEWAY = "198.51.100.253"
INTERNET_CLIENT = "198.51.100.100"
EIP_POOL = "198.51.100.0/26"


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


def sh(*args: str, ns: str | None = None, check: bool = True, stdin: str | None = None) -> str:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


@dataclass
class Instance:
    ns: str
    port: str  # host-side device
    mac: str
    ip: str
    runner: Netns


@dataclass
class Lab:
    host: str = field(default_factory=lambda: PREFIX + secrets.token_hex(4))
    namespaces: list[str] = field(default_factory=list)
    instances: dict[str, Instance] = field(default_factory=dict)
    _runners: list[Netns] = field(default_factory=list)
    _dataplanes: list[Dataplane] = field(default_factory=list)
    _procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self) -> None:
        self.add_ns(self.host)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=self.host)

    def add_ns(self, name: str) -> str:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        return name

    def runner(self, ns: str) -> Netns:
        r = Netns(ns)
        self._runners.append(r)
        return r

    def dataplane(self) -> Dataplane:
        dp = Dataplane(self.host)
        self._dataplanes.append(dp)
        return dp

    def add_instance(self, key: str, ip: str, mac: str, prefix: int = 24, port: str | None = None) -> Instance:
        ns = self.add_ns(f"{self.host}-{key}")
        port = port or f"p-{key}"
        sh("ip", "link", "add", port, "netns", self.host, "type", "veth", "peer", "name", "eth0", "netns", ns)
        net = ipaddress.IPv4Interface(f"{ip}/{prefix}").network
        gateway = str(next(net.hosts()))
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", "eth0", "address", mac, "up", ns=ns)
        sh("ip", "addr", "add", f"{ip}/{prefix}", "dev", "eth0", ns=ns)
        sh("ip", "route", "add", "default", "via", gateway, ns=ns)
        inst = Instance(ns, port, mac, ip, self.runner(ns))
        self.instances[key] = inst
        return inst

    def add_internet(self) -> Instance:
        """A namespace playing the internet, wired to the host's ``uplink`` (set up the way
        an operator sets up a hypervisor's uplink: an address; the agent adds the rest)."""
        ns = self.add_ns(f"{self.host}-inet")
        sh("ip", "link", "add", UPLINK, "netns", self.host, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "addr", "add", f"{UPLINK_HOST}/30", "dev", UPLINK, ns=self.host)
        sh("ip", "link", "set", UPLINK, "up", ns=self.host)
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("ip", "addr", "add", f"{UPLINK_GATEWAY}/30", "dev", "eth0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)
        sh("ip", "addr", "add", f"{INTERNET_CLIENT}/32", "dev", "lo", ns=ns)
        sh("ip", "route", "add", EIP_POOL, "via", UPLINK_HOST, "src", INTERNET_CLIENT, ns=ns)
        inst = Instance(ns, UPLINK, "", INTERNET_CLIENT, self.runner(ns))
        self.instances["inet"] = inst
        return inst

    def spawn(self, ns: str, *argv: str) -> subprocess.Popen[str]:
        """A process inside ``ns``, killed when the lab closes."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self._procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait(10)
        for dp in self._dataplanes:
            dp.close()
        for r in self._runners:
            r.close()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        left = [n for n in sh("ip", "netns", "list").split() if n in self.namespaces]
        assert not left, f"namespaces left behind: {left}"


def reconcile(
    dp: Dataplane,
    state: DesiredState,
    local_holders: dict[str, str] | None = None,
    tunnel: TunnelSettings | None = None,
) -> list[object]:
    """One agent pass (the agent's own ``reconcile_pass``): read, plan, apply; fails on
    any apply error. Returns the actions."""
    acts = reconcile_pass(state, dp.read(), local_holders, tunnel=tunnel).actions
    failures = dp.apply(acts)
    assert not failures, failures
    return list(acts)


def counters(dp: Dataplane) -> dict[str, int]:
    return dp.nft_counters()


def link_rx_packets(ns: str, dev: str = "eth0") -> int:
    (info,) = json.loads(sh("ip", "-j", "-s", "link", "show", dev, ns=ns))
    return int(info["stats64"]["rx"]["packets"])


# --------------------------------------------------------------------- traffic


def send_frames(inst: Instance, frames: Iterable[bytes], dev: str = "eth0") -> None:
    """Send raw Ethernet frames out of the instance's interface."""

    def go(batch: list[bytes]) -> None:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((dev, 0))
            for f in batch:
                s.send(f)

    inst.runner.run(go, list(frames))


def arp_request(inst: Instance, target: str, timeout: float = 1.0) -> tuple[str, float] | None:
    """Ask for ``target``'s MAC from the instance; (MAC, seconds) of the first reply."""

    def go() -> tuple[str, float] | None:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(arp.ETH_P_ARP)) as s:
            s.bind(("eth0", 0))
            start = time.monotonic()
            s.send(arp.build_arp(arp.ARP_REQUEST, inst.mac, inst.ip, target))
            while (left := timeout - (time.monotonic() - start)) > 0:
                if not select.select([s], [], [], left)[0]:
                    break
                f = s.recv(2048)
                if len(f) >= 42 and f[20:22] == b"\x00\x02" and f[28:32] == ipaddress.IPv4Address(target).packed:
                    return arp.mac_str(f[22:28]), time.monotonic() - start
        return None

    return inst.runner.run(go)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def ping(inst: Instance, target: str, count: int = 1, timeout: float = 1.0) -> int:
    """ICMP echo from the instance (raw socket in its namespace); number of replies."""

    def go() -> int:
        ident = os.getpid() & 0xFFFF
        got = 0
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
            for seq in range(count):
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"havip"
                pkt = struct.pack("!BBHHH", 8, 0, _checksum(hdr), ident, seq) + b"havip"
                s.sendto(pkt, (target, 0))
                deadline = time.monotonic() + timeout
                while (left := deadline - time.monotonic()) > 0:
                    if not select.select([s], [], [], left)[0]:
                        break
                    data, (src, _) = s.recvfrom(2048)
                    ihl = (data[0] & 0xF) * 4
                    typ, _c, _k, rid, rseq = struct.unpack_from("!BBHHH", data, ihl)
                    if typ == 0 and src == target and rid == ident and rseq == seq:
                        got += 1
                        break
        return got

    return inst.runner.run(go)


def udp_frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, payload: bytes = b"spoof") -> bytes:
    udp = struct.pack("!HHHH", 4000, 4000, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        1,
        0,
        64,
        17,
        0,
        ipaddress.IPv4Address(src_ip).packed,
        ipaddress.IPv4Address(dst_ip).packed,
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return arp.mac_bytes(dst_mac) + arp.mac_bytes(src_mac) + b"\x08\x00" + ip + udp


def ipv6_frame(src_mac: str) -> bytes:
    return bytes.fromhex("333300000001") + arp.mac_bytes(src_mac) + b"\x86\xdd" + bytes(40)
