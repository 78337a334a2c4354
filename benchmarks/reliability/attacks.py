"""The attack matrix (issue 15, item 3): each attack in a real lab, judged from outside the agent.

Two labs, built in-process (``benchmarks.labs.havip_lab``): the product page's pair and client
on one host (explicit binding: i1 and i2 may claim, the client may not; keepalived holds the
VIP), and the same on three hosts (i1 on host 1, i2 on host 2, the client on host 3). Every
attack is a crafted frame or datagram sent from a lab namespace, and it is judged by what the
victim receives (a UDP socket or a packet socket in the victim's namespace), by the host's nft
counters, by the kernel's routes and by what the API says (the HaVip's holder and events),
never by the agent's own logs. Beside each attack runs a **control**: the same packet from the
rightful sender, which must arrive (or the rightful member's GARP, which must move the VIP),
so that "nothing arrived" is never vacuous.

Verdict (``rows.py``'s rule): **held** when every attempt was refused and every control
succeeded; **lost** with the attempts that got through; **not shown** when a control failed.

A member that does not hold the VIP may send from it (``member-sends-as-vip``): havip treats the
VIP as the clouds treat an allowed-address pair, an address every claimant may use (keepalived's
backup must be able to take over without an API call; docs/reliability.md, "Attacks"). The row
checks exactly that policy: the member's packet arrives, it does not move the VIP, and a
non-member's packet from the VIP is dropped.

Sockets are created inside the lab's namespaces (``Netns`` runners) and read from this process;
nothing is sent anywhere but between the lab's namespaces. Twelve attacks, each a function of
a few lines next to its control and its row's words: one module, longer than the house's ~400
lines, because splitting the helpers out would scatter what a reader of one attack needs.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import select
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

from benchmarks.labs import havip_lab, unique_name
from benchmarks.reliability import REQUIRED
from benchmarks.reliability.rows import Row
from havip.agent import peers as p2p
from havip.agent.arp import ARP_REPLY, ARP_REQUEST, build_arp, build_garp, mac_bytes
from havip.agent.dataplane.netns import Netns
from havip.agent.settings import TunnelSettings
from havip.client import HavipClient
from havip.client.errors import ApiError
from havip.lab import netns
from havip.lab.build import LabBuilder, Node
from havip.lab.procs import ProcessTable
from havip.lab.spec import (
    UNDERLAY_BRIDGE,
    UNDERLAY_NIC,
    LabSpec,
    host_namespace,
    instance_namespace,
    port_device,
    underlay_namespace,
)

WHAT = "attacks from instances, hosts and tenants, each beside a control that must succeed"

PORT = 7100  # where the victims listen
PEER_PORT = 4791  # the agents' default --peer-port
TUNNEL_PORT = TunnelSettings().port
STRANGER = "10.255.0.99"  # on the underlay, no host's
ETH_P_ALL, ETH_P_ARP = 0x0003, 0x0806
Progress = Callable[[str], None]


# ------------------------------------------------------------------ outcomes and rows


@dataclass
class Check:
    """One attempt (``ok``: refused, or as the documented policy says) or one control (``ok``:
    it succeeded), with what showed it."""

    what: str
    ok: bool
    seen: str


@dataclass
class Trial:
    attempts: list[Check] = field(default_factory=list)
    controls: list[Check] = field(default_factory=list)

    def attempt(self, what: str, ok: bool, seen: str) -> None:
        self.attempts.append(Check(what, ok, seen))

    def control(self, what: str, ok: bool, seen: str) -> None:
        self.controls.append(Check(what, ok, seen))

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": [{"what": c.what, "held": c.ok, "seen": c.seen} for c in self.attempts],
            "controls": [{"what": c.what, "succeeded": c.ok, "seen": c.seen} for c in self.controls],
        }


def judge(attack: Attack, trials: list[Trial]) -> dict[str, Any]:
    """The row of ``trials`` by the verdict rule: a failed control makes it "not shown"."""
    attempts = [c for t in trials for c in t.attempts]
    controls = [c for t in trials for c in t.controls]
    failed_controls = sorted({c.what for c in controls if not c.ok})
    through = sorted({f"{c.what} ({c.seen})" for c in attempts if not c.ok})
    if not trials or not attempts or not controls:
        verdict, why = "not shown", "no attempt or no control ran"
    elif failed_controls:
        verdict, why = "not shown", "control failed: " + "; ".join(failed_controls)
    elif through:
        verdict, why = "lost", "got through: " + "; ".join(through)
    else:
        verdict, why = "held", attack.held
    figures = {
        "attempts": len(attempts),
        "refused": sum(c.ok for c in attempts),
        "controls": len(controls),
        "controls_ok": sum(c.ok for c in controls),
    }
    row = Row(
        matrix="attack",
        name=attack.name,
        title=dict(REQUIRED_ATTACKS)[attack.name],
        injected=attack.injected,
        times=len(trials),
        verdict=verdict,  # type: ignore[arg-type]
        why=why,
        figures=figures,
        control=attack.control,
        trials=[t.as_dict() for t in trials],
    )
    return row.as_dict()


# ------------------------------------------------------------------ sockets in the lab


class Sockets:
    """Sockets created inside lab namespaces (one runner thread per namespace), all closed at the end."""

    def __init__(self) -> None:
        self.runners: dict[str, Netns] = {}
        self.opened: list[socket.socket] = []

    def open(self, ns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
        runner = self.runners.get(ns) or self.runners.setdefault(ns, Netns(ns))
        s: socket.socket = runner.run(socket.socket, family, kind, proto)
        self.opened.append(s)
        return s

    def inbox(self, ns: str, port: int = PORT) -> socket.socket:
        s = self.open(ns, socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        return s

    def wire(self, ns: str, proto: int = 0, dev: str = "eth0") -> socket.socket:
        """A packet socket on ``dev``: sends crafted frames; with ``proto``, also captures them."""
        s = self.open(ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        s.bind((dev, proto))
        return s

    def udp(self, ns: str, source: str | None = None) -> socket.socket:
        s = self.open(ns, socket.AF_INET, socket.SOCK_DGRAM)
        if source:
            s.bind((source, 0))
        return s

    def close(self) -> None:
        for s in self.opened:
            s.close()
        for r in self.runners.values():
            r.close()


def drain(*socks: socket.socket) -> None:
    for s in socks:
        while select.select([s], [], [], 0)[0]:
            s.recv(65535)


def received(s: socket.socket, timeout: float = 0.3, until: Callable[[bytes], bool] | None = None) -> list[bytes]:
    """What ``s`` receives within ``timeout`` s (a capture never falls silent: the lab's probe
    sends every 10 ms), or up to the first datagram or frame ``until`` accepts."""
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and select.select([s], [], [], left)[0]:
        out.append(s.recv(65535))
        if until is not None and until(out[-1]):
            break
    return out


def token() -> bytes:
    return b"havip-attack-" + secrets.token_hex(6).encode()


def arrived(s: socket.socket, tok: bytes, timeout: float = 0.3) -> bool:
    """Whether a datagram carrying ``tok`` arrives within ``timeout`` (its control, on the same
    path, arrives in about a millisecond)."""
    return any(tok in data for data in received(s, timeout, lambda data: tok in data))


def _checksum(data: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(src: str, dst: str, payload: bytes, dport: int = PORT) -> bytes:
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:] + udp


def udp_frame(eth_src: str, eth_dst: str, src: str, dst: str, payload: bytes) -> bytes:
    return mac_bytes(eth_dst) + mac_bytes(eth_src) + b"\x08\x00" + ipv4_udp(src, dst, payload)


def gpe(vni: int, inner_src: str, inner_dst: str, payload: bytes) -> bytes:
    """A VXLAN-GPE payload (after the outer UDP header) carrying an IPv4/UDP packet."""
    return struct.pack("!BHB", 0x0C, 0, 1) + struct.pack("!I", vni << 8) + ipv4_udp(inner_src, inner_dst, payload)


def arp_answered(capture: socket.socket, asked: str, asker: str, timeout: float = 1.0) -> bool:
    """Whether an ARP reply for ``asked`` to ``asker`` came back on ``capture``."""
    want = ipaddress.IPv4Address(asked).packed, ipaddress.IPv4Address(asker).packed

    def answer(frame: bytes) -> bool:
        is_reply = (
            len(frame) >= 42 and frame[12:14] == b"\x08\x06" and struct.unpack_from("!H", frame, 20)[0] == ARP_REPLY
        )
        return is_reply and (frame[28:32], frame[38:42]) == want

    return any(answer(f) for f in received(capture, timeout, answer))


def sh(ns: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=True).stdout


def counters(ns: str, family: str, table: str) -> dict[str, int]:
    out = json.loads(sh(ns, "nft", "-j", "list", "table", family, table))
    return {c["counter"]["name"]: int(c["counter"]["packets"]) for c in out["nftables"] if "counter" in c}


def link_mac(ns: str, dev: str) -> str:
    return sh(ns, "ip", "-o", "link", "show", "dev", dev).split("link/ether")[1].split()[0]


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class Lab:
    """A lab as the attacks see it: its nodes, their sockets and the host's view."""

    b: LabBuilder
    socks: Sockets
    wire: dict[str, socket.socket] = field(default_factory=dict)  # node -> a packet socket on its eth0
    box: dict[str, socket.socket] = field(default_factory=dict)  # node -> a UDP socket on PORT
    gateway: dict[str, str] = field(default_factory=dict)  # node -> its port's MAC (the gateway's)
    captures: dict[tuple[str, int, str], socket.socket] = field(default_factory=dict)

    def capture(self, ns: str, proto: int, dev: str = "eth0") -> socket.socket:
        """A packet socket capturing ``proto`` on ``dev`` in ``ns`` (one per lab: drain it first)."""
        key = (ns, proto, dev)
        if key not in self.captures:
            self.captures[key] = self.socks.wire(ns, proto, dev)
        return self.captures[key]

    def node(self, name: str) -> Node:
        return self.b.nodes[name]

    def host_ns(self, name: str) -> str:
        return self.b.host_ns_of(self.node(name))

    def gw(self, name: str) -> str:
        if name not in self.gateway:
            self.gateway[name] = link_mac(self.host_ns(name), port_device(name))
        return self.gateway[name]

    def send_udp(self, wire: socket.socket, name: str, src: str, dst: str, tok: bytes, eth_src: str = "") -> None:
        """A crafted UDP datagram out of ``name``'s port (``wire``) to ``dst`` via the gateway."""
        wire.send(udp_frame(eth_src or self.node(name).mac, self.gw(name), src, dst, tok))

    def antispoof(self, name: str) -> dict[str, int]:
        return counters(self.host_ns(name), "netdev", "havip_antispoof")

    def events(self, kind: str) -> dict[str, str]:
        """The HaVip's events of ``kind`` (id -> the event as JSON: a merged event that counts
        one more refusal shows as changed)."""
        return {
            str(e["id"]): json.dumps(e, sort_keys=True) for e in self.b.api().havip_events(self.b.havip_id, kind=kind)
        }

    def holder(self) -> str | None:
        return self.b.holder()


def delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


# ------------------------------------------------------------------ one-host attacks


def arp_other_instance(lab: Lab, t: Trial) -> None:
    """The client announces i1's address (GARP) and asks as i1 (an ARP request from i1's address)."""
    i1, i2, cl = lab.node("i1"), lab.node("i2"), lab.node("client")
    sniff_cl, sniff_i1 = lab.capture(cl.namespace, ETH_P_ALL), lab.capture(i1.namespace, ETH_P_ARP)
    box_i1 = lab.box["i1"]
    for what, frame in (
        ("GARP for i1's address from the client", build_garp(cl.mac, i1.address)),
        ("ARP request as i1's address from the client", build_arp(ARP_REQUEST, cl.mac, i1.address, i2.address)),
    ):
        drain(sniff_cl, box_i1)
        before = lab.antispoof("client")
        sniff_cl.send(frame)
        answered = arp_answered(sniff_cl, i2.address, i1.address)
        dropped = delta(before, lab.antispoof("client"), "bad_arp")
        tok = token()
        lab.send_udp(lab.wire["i2"], "i2", i2.address, i1.address, tok)
        to_i1, diverted = arrived(box_i1, tok), arrived(sniff_cl, tok, 0.2)
        t.attempt(
            what,
            dropped >= 1 and not answered and not diverted,
            f"bad_arp +{dropped}, answered {answered}, i2's traffic to i1 diverted to the client {diverted}",
        )
        t.control("i2's datagram to i1's address arrives at i1", to_i1, f"arrived {to_i1}")
    drain(sniff_i1)
    before = lab.antispoof("i1")
    sniff_i1.send(build_arp(ARP_REQUEST, i1.mac, i1.address, i2.address))
    answered = arp_answered(sniff_i1, i2.address, i1.address)
    dropped = delta(before, lab.antispoof("i1"), "bad_arp")
    t.control("i1's own ARP request is answered", answered and dropped == 0, f"answered {answered}, bad_arp +{dropped}")


def garp_vip_non_member(lab: Lab, t: Trial) -> None:
    b, cl, i1, i2 = lab.b, lab.node("client"), lab.node("i1"), lab.node("i2")
    vip = b.spec.vip
    holder = lab.holder()
    refused_before = lab.events("claim_refused")
    before = lab.antispoof("client")
    lab.wire["client"].send(build_garp(cl.mac, vip))
    recorded = wait_for(
        lambda: any(
            json.loads(v)["instance_id"] == cl.instance_id
            for k, v in lab.events("claim_refused").items()
            if refused_before.get(k) != v
        ),
        5,
    )
    time.sleep(0.3)
    dropped = delta(before, lab.antispoof("client"), "refused_claim")
    tok = token()
    drain(lab.box[holder or "i1"])
    lab.send_udp(lab.wire["client"], "client", cl.address, vip, tok)
    reached = arrived(lab.box[holder or "i1"], tok) if holder else False
    t.attempt(
        "GARP for the VIP from the client (not a member)",
        lab.holder() == holder and dropped >= 1 and recorded and reached,
        f"holder {holder} -> {lab.holder()}, refused_claim +{dropped}, claim_refused event {recorded}, "
        f"the client's datagram to the VIP reached {holder}: {reached}",
    )
    # control: the other member's GARP does move the VIP (then the holder's moves it back)
    other = i2 if holder == "i1" else i1
    w_other = lab.wire["i2"] if other is i2 else lab.wire["i1"]
    w_back = lab.wire["i1"] if other is i2 else lab.wire["i2"]
    w_other.send(build_garp(other.mac, vip))
    moved = wait_for(lambda: lab.holder() == other.name, 5)
    w_back.send(build_garp(lab.node(holder or "i1").mac, vip))
    back = wait_for(lambda: lab.holder() == holder, 5)
    t.control(f"{other.name}'s GARP (a member) moves the VIP, and back", moved and back, f"moved {moved}, back {back}")


def foreign_source_mac(lab: Lab, t: Trial) -> None:
    cl, i1, i2 = lab.node("client"), lab.node("i1"), lab.node("i2")
    for what, mac in (("i1's MAC", i1.mac), ("a made-up MAC", "02:00:00:de:ad:01")):
        before = lab.antispoof("client")
        tok = token()
        lab.send_udp(lab.wire["client"], "client", cl.address, i2.address, tok, eth_src=mac)
        got = arrived(lab.box["i2"], tok)
        dropped = delta(before, lab.antispoof("client"), "bad_mac")
        t.attempt(
            f"the client's datagram to i2 with {what} as source MAC",
            not got and dropped >= 1,
            f"arrived {got}, bad_mac +{dropped}",
        )
    tok = token()
    lab.send_udp(lab.wire["client"], "client", cl.address, i2.address, tok)
    got = arrived(lab.box["i2"], tok)
    t.control("the same datagram with the client's own MAC arrives", got, f"arrived {got}")


def foreign_arp_sha(lab: Lab, t: Trial) -> None:
    cl, i1, i2 = lab.node("client"), lab.node("i1"), lab.node("i2")
    w = lab.capture(cl.namespace, ETH_P_ARP)
    for sha, what in ((i1.mac, "i1's MAC"), (cl.mac, "")):
        drain(w)
        before = lab.antispoof("client")
        w.send(build_arp(ARP_REQUEST, sha, cl.address, i2.address, eth_src=cl.mac))
        answered = arp_answered(w, i2.address, cl.address)
        dropped = delta(before, lab.antispoof("client"), "bad_arp_sha")
        seen = f"answered {answered}, bad_arp_sha +{dropped}"
        if what:
            t.attempt(
                f"ARP request with {what} as sender MAC (Ethernet source the client's)",
                not answered and dropped >= 1,
                seen,
            )
        else:
            t.control("the same request with the client's own sender MAC is answered", answered, seen)


def spoofed_ip_source(lab: Lab, t: Trial) -> None:
    cl, i1, i2 = lab.node("client"), lab.node("i1"), lab.node("i2")
    for src, what in ((i1.address, "i1's address"), ("198.51.100.9", "an address outside the VPC"), (cl.address, "")):
        before = lab.antispoof("client")
        tok = token()
        lab.send_udp(lab.wire["client"], "client", src, i2.address, tok)
        got = arrived(lab.box["i2"], tok)
        dropped = delta(before, lab.antispoof("client"), "bad_ip")
        if what:
            t.attempt(
                f"the client's datagram to i2 from {what}",
                not got and dropped >= 1,
                f"arrived {got}, bad_ip +{dropped}",
            )
        else:
            t.control("the same datagram from the client's own address arrives", got, f"arrived {got}")


def member_sends_as_vip(lab: Lab, t: Trial) -> None:
    cl, i2 = lab.node("client"), lab.node("i2")
    vip, holder = lab.b.spec.vip, lab.holder()
    changes = lab.events("holder_changed")
    before = lab.antispoof("client")
    tok = token()
    lab.send_udp(lab.wire["client"], "client", vip, i2.address, tok)
    got = arrived(lab.box["i2"], tok)
    dropped = delta(before, lab.antispoof("client"), "bad_ip")
    t.attempt(
        "the client (not a member) sends from the VIP to i2",
        not got and dropped >= 1,
        f"arrived {got}, bad_ip +{dropped}",
    )
    sender = "i2" if holder == "i1" else "i1"
    tok = token()
    lab.send_udp(lab.wire["i2"] if sender == "i2" else lab.wire["i1"], sender, vip, cl.address, tok)
    allowed = arrived(lab.box["client"], tok)
    time.sleep(0.3)
    still = lab.holder() == holder and lab.events("holder_changed") == changes
    t.attempt(
        f"{sender} (a member, not holding) sends from the VIP: allowed, and it does not move the VIP",
        allowed and still,
        f"arrived at the client {allowed}, holder still {holder} with no new holder change {still}",
    )
    tok = token()
    lab.send_udp(lab.wire["i1"] if holder == "i1" else lab.wire["i2"], holder or "i1", vip, cl.address, tok)
    got = arrived(lab.box["client"], tok)
    t.control(f"the holder {holder} sends from the VIP to the client: arrives", got, f"arrived {got}")


# ------------------------------------------------------------------ tenant isolation


def tenant_isolation(lab: Lab, t: Trial) -> None:
    """A second account against the lab's ``havip serve``: every read and write of account A's
    VPC, instance and HaVip answers as if it did not exist; A's own reads succeed."""
    b = lab.b
    creds = json.loads(b.paths.credentials.read_text())
    a = b.api()
    with HavipClient(b.api_url, creds["operator_token"]) as operator:
        created = operator.request("POST", "/v1/accounts", json={"name": f"other-{secrets.token_hex(3)}"})
    ids = {"havip": b.havip_id, "vpc": b.vpc_id, "instance": lab.node("i1").instance_id}
    name = a.get("havips", ids["havip"]).get("name")
    calls: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/v1/vpcs/{vpc}", None, 404, "NotFound.Vpc"),
        ("GET", "/v1/instances/{instance}", None, 404, "NotFound.Instance"),
        ("GET", "/v1/havips/{havip}", None, 404, "NotFound.HaVip"),
        ("GET", "/v1/havips/{havip}/events", None, 404, "NotFound.HaVip"),
        ("GET", "/v1/havips/{havip}/members", None, 404, "NotFound.HaVip"),
        ("PATCH", "/v1/havips/{havip}", {"name": "taken"}, 404, "NotFound.HaVip"),
        (
            "POST",
            "/v1/havips/{havip}/members",
            {"member_type": "instance", "member_id": "{instance}"},
            404,
            "NotFound.HaVip",
        ),
        ("DELETE", "/v1/havips/{havip}/members/{instance}?force=true", None, 404, "NotFound.HaVip"),
        ("DELETE", "/v1/havips/{havip}", None, 404, "NotFound.HaVip"),
        ("DELETE", "/v1/vpcs/{vpc}", None, 404, "NotFound.Vpc"),
        ("POST", "/v1/accounts", {"name": "mine"}, 403, ""),
    ]
    with HavipClient(b.api_url, created["key"]["token"]) as other:
        for method, path, body, status, code in calls:
            if body is not None:
                body = {k: v.format(**ids) for k, v in body.items()}
            try:
                other.request(method, path.format(**ids), json=body)
                got = "2xx"
            except ApiError as exc:
                got = f"{exc.status} {exc.code}"
            ok = got.startswith(str(status)) and (not code or got.endswith(code))
            t.attempt(f"another account: {method} {path.split('?')[0]}", ok, got)
        for collection, key in (("havips", "havip"), ("vpcs", "vpc"), ("instances", "instance")):
            seen = ids[key] in {str(i["id"]) for i in other.list_all(collection)}  # type: ignore[arg-type]
            t.attempt(f"another account lists {collection}", not seen, f"sees the owner's {seen}")
    after = a.get("havips", ids["havip"])
    members = a.request("GET", f"/v1/havips/{ids['havip']}/members")["items"]
    events = a.havip_events(ids["havip"], limit=5)
    vpc_ok = a.get("vpcs", ids["vpc"])["id"] == ids["vpc"]
    t.control(
        "the owner reads its HaVip (unchanged, both members kept), VPC and events",
        after.get("name") == name and len(members) == 2 and bool(events) and vpc_ok,
        f"name {after.get('name')!r}, members {len(members)}, events {len(events)}, VPC {vpc_ok}",
    )


# ------------------------------------------------------------------ across hosts


def vip_route(b: LabBuilder, k: int) -> str:
    """Where host ``k`` sends the VIP: ``local`` or the underlay address it encapsulates to."""
    out = sh(host_namespace(b.spec.name, k), "ip", "route", "show", "table", "all", b.spec.vip)
    route = " ".join(line for line in out.splitlines() if line.startswith(b.spec.vip))
    return route.split(" dst ")[1].split()[0] if "encap ip" in route else "local" if route else "none"


def claim_batch(b: LabBuilder, sender: str, epoch: int, seq: int) -> p2p.ClaimBatch:
    claim = p2p.PeerClaim(
        havip_id=b.havip_id, interface_id=b.nodes["i2"].interface_id, epoch=epoch, seen_ns=time.time_ns()
    )
    return p2p.ClaimBatch(sender=sender, seq=seq, sent_ns=time.time_ns(), claims=(claim,))


def held_by_host1(lab: Lab, t: Trial, what: str, s: socket.socket, messages: list[bytes], to: str) -> None:
    """Send ``messages`` from ``s`` to the agent of host 3 (``to``) and check host 3 still routes the VIP to host 1, the API
    still says i1, and the client's datagram to the VIP reaches i1."""
    b = lab.b
    h1 = b.spec.underlay(1)
    for m in messages:
        s.sendto(m, (to, PEER_PORT))
    time.sleep(0.5)
    route, holder = vip_route(b, 3), lab.holder()
    tok = token()
    lab.send_udp(lab.wire["client"], "client", lab.node("client").address, b.spec.vip, tok)
    reached = arrived(lab.box["i1"], tok)
    t.attempt(
        what,
        route == h1 and holder == "i1" and reached,
        f"host 3 routes the VIP to {route}, API holder {holder}, the client's datagram reached i1 {reached}",
    )


def settle_on_i1(lab: Lab) -> bool:
    """i1 holds and every host routes the VIP to host 1. After a crafted claim that only host 3
    applied, i1's own GARP is no new claim (it holds already) and host 3 would keep the crafted
    one for its hold (5 s): a real claim by i2 and then one by i1 move every host at once."""
    b = lab.b

    def settled() -> bool:
        return lab.holder() == "i1" and vip_route(b, 3) == b.spec.underlay(1) == vip_route(b, 2)

    if settled():
        return True
    lab.wire["i2"].send(build_garp(lab.node("i2").mac, b.spec.vip))
    wait_for(lambda: lab.holder() == "i2", 3)
    lab.wire["i1"].send(build_garp(lab.node("i1").mac, b.spec.vip))
    return wait_for(settled, 10)


def forged_claim(lab: Lab, t: Trial) -> None:
    b = lab.b
    if not settle_on_i1(lab):
        t.control("i1 holds before the attack", False, f"holder {lab.holder()}, host 3 routes to {vip_route(b, 3)}")
        return
    key = (b.paths.root / "claim.key").read_bytes().strip()
    epoch = int(b.havip()["holder"]["epoch"])
    h2, h3 = host_namespace(b.spec.name, 2), b.spec.underlay(3)
    seq = secrets.randbelow(1 << 30) + 1000
    wrong_key = secrets.token_bytes(32)
    cases = (
        ("a claim for i2 signed with a key not the fleet's, from host 2", h2, "lab-host2", wrong_key),
        (
            "a claim for i2 signed with the fleet's key, 'from host 2' but sent by host 1",
            host_namespace(b.spec.name, 1),
            "lab-host2",
            key,
        ),
    )
    for n, (what, ns, sender, k) in enumerate(cases):
        message = p2p.encode(claim_batch(b, sender, epoch + 5, seq + n), k)
        held_by_host1(lab, t, what, lab.socks.udp(ns), [message], h3)
    # control: the same claim, rightly signed, from host 2: host 3 follows it at once
    s = lab.socks.udp(h2)
    s.sendto(p2p.encode(claim_batch(b, "lab-host2", epoch + 1, seq + 9), key), (h3, PEER_PORT))
    moved = wait_for(lambda: vip_route(b, 3) == b.spec.underlay(2), 3)
    t.control("the same claim signed with the fleet's key from host 2 moves host 3's route", moved, f"moved {moved}")
    settle_on_i1(lab)


def replayed_claim(lab: Lab, t: Trial) -> None:
    """A genuine claim message (captured on host 3's underlay NIC when i2 announced), sent again
    from host 2 after i1 took the VIP back."""
    b = lab.b
    if not settle_on_i1(lab):
        t.control("i1 holds before the attack", False, f"holder {lab.holder()}, host 3 routes to {vip_route(b, 3)}")
        return
    key = (b.paths.root / "claim.key").read_bytes().strip()
    h2ul, h3ul = b.spec.underlay(2), b.spec.underlay(3)
    capture = lab.capture(host_namespace(b.spec.name, 3), 0x0800, UNDERLAY_NIC)
    drain(capture)
    lab.wire["i2"].send(build_garp(lab.node("i2").mac, b.spec.vip))
    moved = wait_for(lambda: vip_route(b, 3) == h2ul and lab.holder() == "i2", 5)
    messages: list[bytes] = []
    h2_packed, h3_packed = ipaddress.IPv4Address(h2ul).packed, ipaddress.IPv4Address(h3ul).packed
    for frame in received(capture, 0.5):
        ip = frame[14:]
        ours = len(ip) > 28 and ip[9] == 17 and (ip[12:16], ip[16:20]) == (h2_packed, h3_packed)
        if ours and struct.unpack_from("!H", ip, 22)[0] == PEER_PORT:
            with suppress(p2p.BadMessage):
                if isinstance(p2p.decode(ip[28:], key), p2p.ClaimBatch):
                    messages.append(ip[28:])
    t.control(
        "i2's GARP moves the VIP and host 3's route; its claim message is captured",
        moved and bool(messages),
        f"moved {moved}, claim messages {len(messages)}",
    )
    if not messages or not settle_on_i1(lab):
        t.control("i1 takes the VIP back", False, f"holder {lab.holder()}")
        return
    what = f"the captured claim message replayed from host 2 ({len(messages)} datagram(s))"
    held_by_host1(lab, t, what, lab.socks.udp(host_namespace(b.spec.name, 2)), messages, h3ul)


def stranger(b: LabBuilder) -> str:
    """A namespace on the underlay bridge with an address no host has (``STRANGER``), made once
    per lab (a runner thread stays in the namespace it entered); it goes with the lab's namespaces."""
    ns, ul = instance_namespace(b.spec.name, "x"), underlay_namespace(b.spec.name)
    if ns not in netns.list_namespaces():
        netns.create(ns)
        netns.ip("link", "add", "ul-x", "type", "veth", "peer", "name", UNDERLAY_NIC, "netns", ns, netns=ul)
        netns.ip("link", "set", "ul-x", "master", UNDERLAY_BRIDGE, "up", netns=ul)
        netns.ip("addr", "add", f"{STRANGER}/24", "dev", UNDERLAY_NIC, netns=ns)
        netns.ip("link", "set", UNDERLAY_NIC, "up", netns=ns)
    return ns


def tunnel(lab: Lab, t: Trial, row: str) -> None:
    """Encapsulated datagrams to i1 (host 1), each judged by i1's inbox and host 1's counters."""
    b = lab.b
    vni = int(b.api().get("vpcs", b.vpc_id)["vni"])
    i1, i2, cl = lab.node("i1"), lab.node("i2"), lab.node("client")
    h1ns, h2ns, h1 = host_namespace(b.spec.name, 1), host_namespace(b.spec.name, 2), b.spec.underlay(1)
    from_h2 = lab.socks.udp(h2ns, b.spec.underlay(2))

    def one(s: socket.socket, v: int, inner: str) -> tuple[bool, dict[str, int]]:
        before, tok = counters(h1ns, "ip", "havip_tunnel"), token()
        s.sendto(gpe(v, inner, i1.address, tok), (h1, TUNNEL_PORT))
        got = arrived(lab.box["i1"], tok)
        after = counters(h1ns, "ip", "havip_tunnel")
        return got, {k: delta(before, after, k) for k in after if delta(before, after, k)}

    def attempt(what: str, s: socket.socket, v: int, inner: str, counter: str) -> None:
        got, drops = one(s, v, inner)
        t.attempt(what, not got and drops.get(counter, 0) >= 1, f"arrived {got}, drops {drops}")

    if row == "tunnel-foreign-vni":
        attempt(f"from host 2, VNI {vni + 7} (no VPC of host 1's)", from_h2, vni + 7, i2.address, "tunnel_foreign_vni")
    elif row == "tunnel-foreign-inner-source":
        attempt(
            f"from host 2, inner source {cl.address} (the client's, on host 3)",
            from_h2,
            vni,
            cl.address,
            "tunnel_foreign_source",
        )
        attempt(
            "from host 2, inner source 172.17.16.77 (nobody's)", from_h2, vni, "172.17.16.77", "tunnel_foreign_source"
        )
    else:
        s = lab.socks.udp(stranger(b), STRANGER)
        attempt(f"from {STRANGER} (an underlay address no host has)", s, vni, i2.address, "tunnel_unknown_host")
    got, drops = one(from_h2, vni, i2.address)
    t.control(
        f"the same packet from host 2, VNI {vni}, inner source i2's: arrives at i1",
        got,
        f"arrived {got}, drops {drops}",
    )


# ------------------------------------------------------------------ the matrix


@dataclass(frozen=True, kw_only=True)
class Attack:
    name: str  # its row in REQUIRED
    run: Callable[[Lab, Trial], None]  # one trial: its attempts and controls
    injected: str  # what it does, for the report
    control: str  # what must succeed beside it
    held: str  # the row's "why" when it held


ONE_HOST: tuple[Attack, ...] = (
    Attack(
        name="arp-other-instance",
        run=arp_other_instance,
        injected="the client sends a GARP for i1's address and an ARP request as i1's address",
        control="i1's own ARP request is answered; i2's datagram to i1 arrives at i1",
        held="bad_arp dropped every frame; no answer came back; i1's traffic stayed with i1",
    ),
    Attack(
        name="garp-vip-non-member",
        run=garp_vip_non_member,
        injected="the client (not a member, explicit binding) sends a GARP for the VIP",
        control="the other member's GARP moves the VIP (and the holder's moves it back)",
        held="refused_claim dropped it, the API recorded claim_refused, the holder and the VIP's traffic stayed",
    ),
    Attack(
        name="foreign-source-mac",
        run=foreign_source_mac,
        injected="the client sends a datagram to i2 with i1's MAC, then a made-up MAC, as Ethernet source",
        control="the same datagram with the client's own MAC arrives at i2",
        held="bad_mac dropped each; i2 received nothing of them",
    ),
    Attack(
        name="foreign-arp-sha",
        run=foreign_arp_sha,
        injected="the client sends an ARP request whose sender MAC is i1's (Ethernet source its own)",
        control="the same request with its own sender MAC is answered",
        held="bad_arp_sha dropped it; no answer came back",
    ),
    Attack(
        name="spoofed-ip-source",
        run=spoofed_ip_source,
        injected="the client sends a datagram to i2 from i1's address, then from one outside the VPC",
        control="the same datagram from the client's own address arrives at i2",
        held="bad_ip dropped each; i2 received nothing of them",
    ),
    Attack(
        name="member-sends-as-vip",
        run=member_sends_as_vip,
        injected="the member not holding the VIP sends from it; the client (not a member) sends from it",
        control="the holder's datagram from the VIP arrives at the client",
        held="allowed by design, as allowed-address pairs are (every claimant may send from the VIP, so a "
        "backup takes over without an API call): the member's datagram arrived and did not move the VIP; "
        "the non-member's was dropped (bad_ip)",
    ),
    Attack(
        name="tenant-isolation",
        run=tenant_isolation,
        injected="a second account reads, lists, changes and deletes the first's VPC, instance, HaVip, members, events",
        control="the owner reads its HaVip (unchanged), members, events and VPC",
        held="every call answered 404 with the resource's NotFound code (403 for the operator's call); nothing changed",
    ),
)

THREE_HOSTS: tuple[Attack, ...] = (
    Attack(
        name="forged-claim",
        run=forged_claim,
        injected="claim messages for i2 to host 3's agent: signed with a wrong key; rightly signed but from host 1 as host 2",
        control="the same claim, rightly signed, from host 2, moves host 3's route",
        held="host 3 kept routing the VIP to host 1, the API kept i1, the client's traffic reached i1",
    ),
    Attack(
        name="replayed-claim",
        run=replayed_claim,
        injected="a genuine claim message captured on host 3's underlay, replayed from host 2 after i1 took the VIP back",
        control="the genuine message moved host 3's route when it was new",
        held="host 3 kept routing the VIP to host 1, the API kept i1, the client's traffic reached i1",
    ),
    Attack(
        name="tunnel-foreign-vni",
        run=lambda lab, t: tunnel(lab, t, "tunnel-foreign-vni"),
        injected="VXLAN-GPE from host 2 to host 1 with a VNI of no VPC of host 1's, to i1",
        control="the same packet with the VPC's VNI arrives at i1",
        held="tunnel_foreign_vni dropped it; i1 received nothing of it",
    ),
    Attack(
        name="tunnel-foreign-inner-source",
        run=lambda lab, t: tunnel(lab, t, "tunnel-foreign-inner-source"),
        injected="VXLAN-GPE from host 2 to i1 with an inner source of host 3's client, then nobody's",
        control="the same packet with an inner source of host 2's (i2) arrives at i1",
        held="tunnel_foreign_source dropped each; i1 received nothing of them",
    ),
    Attack(
        name="tunnel-unknown-underlay",
        run=lambda lab, t: tunnel(lab, t, "tunnel-unknown-underlay"),
        injected="VXLAN-GPE to i1 from a namespace on the underlay with an address no host has",
        control="the same packet from host 2 arrives at i1",
        held="tunnel_unknown_host dropped it; i1 received nothing of it",
    ),
)


def _attach(stack: ExitStack, b: LabBuilder) -> Lab:
    socks = Sockets()
    stack.callback(socks.close)
    lab = Lab(b, socks)
    for n in ("i1", "i2", "client"):
        lab.wire[n] = socks.wire(b.nodes[n].namespace)
        lab.box[n] = socks.inbox(b.nodes[n].namespace)
    return lab


def _i1_holds_alone(lab: Lab, table: ProcessTable) -> None:
    """keepalived stopped in both members and the VIP on i1 alone: the claims across hosts are
    this module's crafted GARPs only (keepalived's master would otherwise announce again, within
    seconds, whichever member the attacks made the holder)."""
    for name in ("i1", "i2"):
        node = lab.node(name)
        if node.keepalived is not None:
            node.keepalived.stop(table)
            node.keepalived = None  # stopped for good: the lab's exit has nothing left to stop
        netns.ip("addr", "del", f"{lab.b.spec.vip}/32", "dev", "eth0", netns=node.namespace, check=False)
    netns.ip("addr", "add", f"{lab.b.spec.vip}/32", "dev", "eth0", netns=lab.node("i1").namespace)
    if not settle_on_i1(lab):
        raise RuntimeError(f"i1 does not hold the VIP on every host (holder {lab.holder()})")


def _matrix(lab: Lab, attacks: tuple[Attack, ...], times: int, progress: Progress) -> list[dict[str, Any]]:
    out = []
    for attack in attacks:
        trials = []
        for _ in range(times):
            t = Trial()
            try:
                attack.run(lab, t)
            except Exception as exc:  # an attack that could not run shows nothing: its control failed
                t.control(f"the attack ran ({type(exc).__name__}: {exc})", False, "")
            trials.append(t)
        row = judge(attack, trials)
        progress(f"attack {attack.name}: {row['verdict']} ({row['why']})")
        out.append(row)
    return out


def run(tiny: bool, table: ProcessTable, progress: Progress) -> list[dict[str, Any]]:
    times = 2 if tiny else 10
    rows: list[dict[str, Any]] = []
    for hosts, attacks in ((1, ONE_HOST), (3, THREE_HOSTS)):
        spec = LabSpec(
            name=unique_name("ra" if hosts == 1 else "rx"),
            hosts=hosts,
            advert_int=0.1,
            vrrp_version=3,
            check_interval=0.1,
            probe_interval_ms=10,
        )
        with ExitStack() as stack:
            system = stack.enter_context(havip_lab(spec, table, progress, kind=f"havip-{hosts}-host"))
            assert system.builder is not None
            lab = _attach(stack, system.builder)
            if hosts > 1:
                _i1_holds_alone(lab, table)
            rows += _matrix(lab, attacks, times, progress)
    order = [n for n, _ in REQUIRED_ATTACKS]
    return sorted(rows, key=lambda r: order.index(r["name"]))


def _required_attacks() -> tuple[tuple[str, str], ...]:
    names = [n for n, _ in REQUIRED]
    first, last = names.index("arp-other-instance"), names.index("tenant-isolation")
    return REQUIRED[first : last + 1]


REQUIRED_ATTACKS = _required_attacks()
