"""The nftables rulesets of a host, rendered as text from the desired state.

Two tables, both owned by the agent (``havip_`` prefix) and replaced whole and
atomically by the data plane (``nft -f``):

* ``netdev havip_antispoof``: ingress filtering on every port. A frame is dropped, and
  counted by reason, when its source MAC is not the port's (``bad_mac``), an IPv4
  source is not an address of the port or a HaVip it may claim (``bad_ip``), an ARP
  sender address is neither (``bad_arp``; 0.0.0.0 is allowed for probes), an ARP
  sender MAC is not the port's (``bad_arp_sha``), or it is neither IPv4 nor ARP
  (``bad_proto``). A netdev base chain takes at most 255 devices, so ports are spread
  over as many base chains as needed, all jumping to one regular chain.
  HaVip ARP (claims and probe answers) is rate-limited per (port, HaVip) and other ARP
  replies per port (``havip_arp_flood``, ``arp_reply_flood``), so a flood never reaches
  user space; an ARP for a HaVip from a port that may not claim it is a refused claim
  (``refused_claim``): dropped, counted and logged to NFLOG (rate-limited per port,
  queue threshold 1) so the agent can report it.
  A port that is the next hop of route entries (a HaVip's claimant, or an instance's
  interface) may also send from those entries' destinations (``port_forward``, an
  interval set), in IP and as an ARP sender (a gateway that owns an address of the
  range asks from it): the clouds' "source/destination check" off for exactly that;
  every other source stays checked. A destination never overlaps the VPC, so this
  can never let a port claim a HaVip or take an instance's address.
* ``arp havip_garp``: keeps the host's proxy ARP from answering a HaVip's gratuitous
  ARP (sender IP = target IP = VIP) while the route still points at the old holder.
* ``ip havip_nat`` (only with an uplink and EIPs): EIPs translated to their private
  address (DNAT in on the uplink, SNAT out), packet marks for the EIP path's policy
  rules (``marks.NAT_RULE_PREFS``) and conntrack zones per VPC (the VPC's table id, so
  overlapping VPC addresses never share a flow). Traffic of ports that does not come
  from an EIP's address is not tracked at all; a packet that would leave by the uplink
  from a VPC without its EIP as source is dropped (``egress_without_eip``).

* ``ip havip_tunnel`` (only with an underlay address): what the tunnel may receive,
  checked on the outer packet before the kernel decapsulates it (nft 1.0.6 cannot parse
  the ``tunnel`` expression, so the VXLAN-GPE header is read as raw payload: next
  protocol ``@th,88,8``, VNI ``@th,96,24``, inner IPv4 source ``@th,224,32``). A packet
  to the tunnel's UDP port is dropped, and counted, when its underlay source is not a
  known host (``tunnel_unknown_host``), it does not carry IPv4 (``tunnel_bad_proto``), its
  VNI is not one of this host's VPCs (``tunnel_foreign_vni``), or its inner source is
  not one that host may send in that VNI (``tunnel_foreign_source``: its interfaces'
  addresses, the HaVips they may claim, the route entries they forward for). It also
  marks what arrives from a port (``marks.MARK_PORT`` | table, unless the EIP path marked
  it already), so the host's ICMP errors about it (fragmentation-needed: it does not fit
  the tunnel) find the VPC's table (``marks.RULE_PREF_TUNNEL_REPLY``). With EIPs
  translated on a peer (``Tunnel.translated``) that peer may also send any source outside
  the VPC to an EIP's private address; on the translating host it marks what arrives in a
  VPC it translates for (``marks.MARK_TUNNEL`` | table, from the VNI) so ``havip_nat`` can
  give a peer holder's packets from an EIP's address the egress mark and the VPC's zone.
  A packet routed into the tunnel loses its mark (``unmark_encap``): the kernel looks the
  outer packet's route up with it, and an egress mark would send it out of the uplink.

Each table carries ``comment "havip:<digest>"``, the SHA-256 of its body, so the
planner can tell from a read-back whether it must be replaced. Pure: text in, text out.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence

from havip.agent import marks
from havip.agent.desired import DesiredHost, Port
from havip.agent.settings import NftLimits
from havip.agent.tunnel import Tunnel

MAX_DEVICES_PER_CHAIN = 255
INGRESS_PRIORITY = -500
DROP_REASONS = (
    "bad_mac",
    "bad_ip",
    "refused_claim",
    "bad_arp",
    "bad_arp_sha",
    "havip_arp_flood",
    "arp_reply_flood",
    "arp_request_flood",
    "bad_proto",
)
TUNNEL_DROP_REASONS = ("tunnel_unknown_host", "tunnel_bad_proto", "tunnel_foreign_vni", "tunnel_foreign_source")
GPE_NEXT_IPV4 = 1
RATE_SET_TIMEOUT = "60s"
RATE_SET_SIZE = 65535
DIGEST_PREFIX = "havip:"


def render_tables(desired: DesiredHost, limits: NftLimits | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(family, name) -> (digest, full ``nft -f`` text) for every table the host needs."""
    limits = limits or NftLimits()
    out: dict[tuple[str, str], tuple[str, str]] = {}
    if desired.ports:
        body = _antispoof_body(desired, limits)
        out[("netdev", marks.NFT_ANTISPOOF)] = _finish("netdev", marks.NFT_ANTISPOOF, body)
    if desired.havip_ips:
        out[("arp", marks.NFT_GARP)] = _finish("arp", marks.NFT_GARP, _garp_body(desired.havip_ips))
    if desired.eips and desired.uplink is not None:
        out[("ip", marks.NFT_NAT)] = _finish("ip", marks.NFT_NAT, _nat_body(desired))
    if desired.tunnel is not None:
        translating = sorted({e.table for e in desired.eips}) if desired.uplink is not None else []
        body = _tunnel_body(desired.tunnel, desired.ports, translating)
        out[("ip", marks.NFT_TUNNEL)] = _finish("ip", marks.NFT_TUNNEL, body)
    return out


def digest_comment(digest: str) -> str:
    return DIGEST_PREFIX + digest


def _finish(family: str, name: str, body: list[str]) -> tuple[str, str]:
    """Wrap a table body into an atomic replace: declare, delete, define with digest."""
    digest = hashlib.sha256("\n".join(body).encode()).hexdigest()
    text = "\n".join(
        [
            f"table {family} {name}",
            f"delete table {family} {name}",
            f"table {family} {name} {{",
            f'\tcomment "{digest_comment(digest)}"',
            *body,
            "}",
            "",
        ]
    )
    return digest, text


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _set(name: str, type_: str, elements: Iterable[str]) -> list[str]:
    elems = list(elements)
    lines = [f"\tset {name} {{", f"\t\ttype {type_}"]
    if elems:
        lines.append("\t\telements = {")
        lines += [f"\t\t\t{e}," for e in elems]
        lines.append("\t\t}")
    lines.append("\t}")
    return lines


def _map(name: str, type_: str, elements: Iterable[str], flags: str = "") -> list[str]:
    """A set or map; ``type_`` is the whole type line (``type a : b`` or ``typeof x : y``)."""
    elems = list(elements)
    lines = [f"\t{'map' if ':' in type_ else 'set'} {name} {{", f"\t\t{type_}"]
    if flags:
        lines.append(f"\t\tflags {flags}")
    if elems:
        lines.append("\t\telements = {")
        lines += [f"\t\t\t{e}," for e in elems]
        lines.append("\t\t}")
    lines.append("\t}")
    return lines


def _rate_set(name: str, type_: str) -> list[str]:
    return [
        f"\tset {name} {{",
        f"\t\ttype {type_}",
        f"\t\tsize {RATE_SET_SIZE}",
        "\t\tflags dynamic,timeout",
        f"\t\ttimeout {RATE_SET_TIMEOUT}",
        "\t}",
    ]


def _antispoof_body(desired: DesiredHost, limits: NftLimits) -> list[str]:
    ports = sorted(desired.ports, key=lambda p: p.device)
    body: list[str] = []
    for reason in DROP_REASONS:
        body.append(f"\tcounter {reason} {{ }}")
    body += _set("port_mac", "ifname . ether_addr", (f"{_q(p.device)} . {p.mac}" for p in ports))
    ip_elems = [f"{_q(p.device)} . {a}" for p in ports for a in _allowed(p.addresses, p.claimable)]
    arp_elems = [f"{_q(p.device)} . {a}" for p in ports for a in ["0.0.0.0", *_allowed(p.addresses, p.claimable)]]
    fwd_elems = [f"{_q(p.device)} . {cidr}" for p in ports for cidr in p.forwards]
    body += _set("port_ip", "ifname . ipv4_addr", ip_elems)
    body += _set("port_arp", "ifname . ipv4_addr", arp_elems)
    body += _map("port_forward", "type ifname . ipv4_addr", fwd_elems, flags="interval")
    body += _set("havip", "ipv4_addr", desired.havip_ips)
    body += _rate_set("havip_arp_rate", "ifname . ipv4_addr")
    body += _rate_set("arp_reply_rate", "ifname")
    body += _rate_set("arp_request_rate", "ifname")
    body += _rate_set("refused_log_rate", "ifname")
    lim = limits
    body += [
        "\tchain refused {",
        f"\t\tupdate @refused_log_rate {{ iifname limit rate {lim.refused_log_rate}/second"
        f" burst {lim.refused_log_burst} packets }} log group {lim.nflog_group} queue-threshold 1",
        "\t\tcounter name refused_claim drop",
        "\t}",
        "\tchain check {",
        "\t\tiifname . ether saddr != @port_mac counter name bad_mac drop",
        "\t\tmeta protocol ip iifname . ip saddr != @port_ip iifname . ip saddr != @port_forward"
        " counter name bad_ip drop",
        # an IPv4 packet that got here is done: the rules below are ARP's (forwarding's
        # small-packet rate paid for them on every packet, benchmark #6)
        "\t\tmeta protocol ip accept",
        "\t\tmeta protocol arp arp saddr ip @havip iifname . arp saddr ip != @port_arp jump refused",
        "\t\tmeta protocol arp iifname . arp saddr ip != @port_arp iifname . arp saddr ip != @port_forward"
        " counter name bad_arp drop",
        "\t\tmeta protocol arp iifname . arp saddr ether != @port_mac counter name bad_arp_sha drop",
        "\t\tmeta protocol arp arp saddr ip @havip update @havip_arp_rate { iifname . arp saddr ip"
        f" limit rate over {lim.havip_arp_rate}/second burst {lim.havip_arp_burst} packets }}"
        " counter name havip_arp_flood drop",
        "\t\tmeta protocol arp arp operation reply arp saddr ip != @havip update @arp_reply_rate { iifname"
        f" limit rate over {lim.reply_rate}/second burst {lim.reply_burst} packets }}"
        " counter name arp_reply_flood drop",
        # a flood of requests (e.g. announcements of the port's own address, which the
        # claim path's filter passes to user space) never reaches the agent or proxy ARP
        "\t\tmeta protocol arp arp operation request arp saddr ip != @havip update @arp_request_rate { iifname"
        f" limit rate over {lim.request_rate}/second burst {lim.request_burst} packets }}"
        " counter name arp_request_flood drop",
        "\t\tmeta protocol != { ip, arp } counter name bad_proto drop",
        "\t}",
    ]
    for n, chunk in enumerate(_chunks([p.device for p in ports], MAX_DEVICES_PER_CHAIN)):
        devices = ", ".join(_q(d) for d in chunk)
        body += [
            f"\tchain ingress_{n} {{",
            f"\t\ttype filter hook ingress devices = {{ {devices} }} priority {INGRESS_PRIORITY}; policy accept;",
            "\t\tjump check",
            "\t}",
        ]
    return body


def _garp_body(havip_ips: Sequence[str]) -> list[str]:
    return [
        "\tcounter garp_proxy_suppressed { }",
        *_set("havip", "ipv4_addr", havip_ips),
        "\tchain input {",
        "\t\ttype filter hook input priority 0; policy accept;",
        "\t\tarp saddr ip @havip arp daddr ip @havip counter name garp_proxy_suppressed drop",
        "\t}",
    ]


def _nat_body(desired: DesiredHost) -> list[str]:
    up = desired.uplink
    assert up is not None
    uplink = _q(up.device)
    eips = sorted(desired.eips, key=lambda e: (e.table, e.eip))
    egress = sorted({(dev, e.private_ip, e.table) for e in eips for dev in e.sources})
    zones = sorted({(dev, table) for dev, _ip, table in egress})
    ports = sorted(p.device for p in desired.ports)
    body = ["\tcounter egress_without_eip { }"]
    body += _set("eips", "ipv4_addr", [e.eip for e in eips])
    body += _map("eip_dnat", "type ipv4_addr : ipv4_addr", [f"{e.eip} : {e.private_ip}" for e in eips])
    body += _map("eip_mark", "type ipv4_addr : mark", [f"{e.eip} : {marks.inbound_mark(e.table):#x}" for e in eips])
    body += _map("eip_zone", "typeof ip daddr : ct zone", [f"{e.eip} : {e.table}" for e in eips])
    body += _map(
        "egress_mark",
        "type ifname . ipv4_addr : mark",
        [f"{_q(dev)} . {ip} : {marks.egress_mark(t):#x}" for dev, ip, t in egress],
    )
    body += _map("egress_zone", "typeof iifname : ct zone", [f"{_q(dev)} : {t}" for dev, t in zones])
    body += _set("ports", "ifname", [_q(d) for d in ports])
    body += _map(
        "eip_snat",
        "type mark . ipv4_addr : ipv4_addr",
        [f"{marks.egress_mark(e.table):#x} . {e.private_ip} : {e.eip}" for e in eips],
    )
    tunnel: list[str] = []
    if desired.tunnel is not None:  # a holder on a peer: its packets from an EIP's address, back through the tunnel
        body += _map(
            "tunnel_egress",
            "type mark . ipv4_addr : mark",
            [f"{marks.tunnel_mark(e.table):#x} . {e.private_ip} : {marks.egress_mark(e.table):#x}" for e in eips],
        )
        body += _map(
            "tunnel_zone",
            "typeof meta mark : ct zone",
            [f"{marks.tunnel_mark(t):#x} : {t}" for t in sorted({e.table for e in eips})],
        )
        tunnel = [
            f"\t\tiifname {_q(desired.tunnel.device)} meta mark . ip saddr @tunnel_egress"
            " ct zone set meta mark map @tunnel_zone meta mark set meta mark . ip saddr map @tunnel_egress return"
        ]
    body += [
        "\tchain raw_prerouting {",
        "\t\ttype filter hook prerouting priority raw; policy accept;",
        f"\t\tiifname {uplink} ip daddr @eips meta mark set ip daddr map @eip_mark"
        " ct zone set ip daddr map @eip_zone return",
        *tunnel,
        "\t\tiifname . ip saddr @egress_mark meta mark set iifname . ip saddr map @egress_mark"
        " ct zone set iifname map @egress_zone return",
        "\t\tiifname @ports notrack",
        "\t}",
        "\tchain raw_output {",
        "\t\ttype filter hook output priority raw; policy accept;",
        "\t\tip saddr @eips notrack",
        "\t}",
        "\tchain translate_in {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        f"\t\tiifname {uplink} dnat to ip daddr map @eip_dnat",
        "\t}",
        "\tchain translate_out {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        f"\t\toifname {uplink} snat to meta mark . ip saddr map @eip_snat",
        "\t}",
        "\tchain egress_check {",
        "\t\ttype filter hook postrouting priority srcnat + 10; policy accept;",
        f"\t\toifname {uplink} meta mark & {marks.MARK_MASK:#x} == {marks.MARK_EGRESS:#x}"
        " ip saddr != @eips counter name egress_without_eip drop",
        "\t}",
    ]
    return body


def _tunnel_body(tun: Tunnel, ports: Sequence[Port], translating: Sequence[int] = ()) -> list[str]:
    """``translating``: tables of the VPCs whose EIPs this host translates (the VNI's mark
    lets ``havip_nat`` tell a peer holder's packets from an EIP's address)."""
    body = [f"\tcounter {reason} {{ }}" for reason in TUNNEL_DROP_REASONS]
    body += _set("hosts", "ipv4_addr", tun.peers)
    body += _map("vnis", "typeof @th,96,24", sorted({str(vni) for vni, _table in tun.vnis}, key=int))
    body += _map(
        "sources",
        "typeof ip saddr . @th,96,24 . @th,224,32",
        [f"{s.underlay} . {s.vni} . {_int_range(s.cidr)}" for s in tun.sources],
        flags="interval",
    )
    body += _map(
        "port_mark",
        "type ifname : mark",
        [f"{_q(p.device)} : {marks.port_mark(p.table):#x}" for p in sorted(ports, key=lambda p: p.device)],
    )
    vni_of = {table: vni for vni, table in tun.vnis}
    marked = [f"{vni_of[t]} : {marks.tunnel_mark(t):#x}" for t in translating if t in vni_of]
    if tun.translated:
        body += _map(
            "translated",
            "typeof ip saddr . @th,96,24 . @th,256,32",
            [f"{s.underlay} . {s.vni} . {_int_range(s.cidr)}" for s in tun.translated],
            flags="interval",
        )
        body += _map(
            "vpc_nets", "typeof @th,96,24 . @th,224,32", [f"{v} . {_int_range(c)}" for v, c in tun.vpc_nets], "interval"
        )
    if marked:
        body += _map("vni_mark", "typeof @th,96,24 : meta mark", marked)
    udp = f"udp dport {tun.port}"
    inner = f"{udp} ip saddr . @th,96,24 . @th,224,32 != @sources"
    if tun.translated:  # a translated packet: any source outside the VPC, to an EIP's private address
        source_checks = [
            f"\t\t{inner} @th,96,24 . @th,224,32 @vpc_nets counter name tunnel_foreign_source drop",
            f"\t\t{inner} ip saddr . @th,96,24 . @th,256,32 != @translated counter name tunnel_foreign_source drop",
        ]
    else:
        source_checks = [f"\t\t{inner} counter name tunnel_foreign_source drop"]
    body += [
        # the outer packet's route is the host's own: the kernel looks it up with the inner
        # packet's mark, and an EIP's egress mark would send it out of the uplink
        "\tchain unmark_encap {",
        "\t\ttype filter hook postrouting priority filter; policy accept;",
        f"\t\toifname {_q(tun.device)} meta mark != 0 meta mark set 0",
        "\t}",
        "\tchain mark_ports {",
        # after the EIP path's raw prerouting marks (priority raw), before routing
        "\t\ttype filter hook prerouting priority mangle; policy accept;",
        "\t\tmeta mark 0 meta mark set iifname map @port_mark",
        "\t}",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        f"\t\t{udp} ip saddr != @hosts counter name tunnel_unknown_host drop",
        f"\t\t{udp} @th,88,8 != {GPE_NEXT_IPV4} counter name tunnel_bad_proto drop",
        f"\t\t{udp} @th,96,24 != @vnis counter name tunnel_foreign_vni drop",
        *source_checks,
        *([f"\t\t{udp} meta mark set @th,96,24 map @vni_mark"] if marked else []),
        "\t}",
    ]
    return body


def _int_range(cidr: str) -> str:
    """A CIDR as the integer range a raw 32-bit payload field is compared with."""
    net = ipaddress.IPv4Network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    return str(first) if first == last else f"{first}-{last}"


def _allowed(addresses: Sequence[str], claimable: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for a in [*addresses, *claimable]:
        seen.setdefault(a)
    return list(seen)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
