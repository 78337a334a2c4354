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
* ``arp havip_garp``: keeps the host's proxy ARP from answering a HaVip's gratuitous
  ARP (sender IP = target IP = VIP) while the route still points at the old holder.

Each table carries ``comment "havip:<digest>"``, the SHA-256 of its body, so the
planner can tell from a read-back whether it must be replaced. Pure: text in, text out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from havip.agent import marks
from havip.agent.desired import DesiredHost
from havip.agent.settings import NftLimits

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
    "bad_proto",
)
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
    body += _set("port_ip", "ifname . ipv4_addr", ip_elems)
    body += _set("port_arp", "ifname . ipv4_addr", arp_elems)
    body += _set("havip", "ipv4_addr", desired.havip_ips)
    body += _rate_set("havip_arp_rate", "ifname . ipv4_addr")
    body += _rate_set("arp_reply_rate", "ifname")
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
        "\t\tmeta protocol ip iifname . ip saddr != @port_ip counter name bad_ip drop",
        "\t\tmeta protocol arp arp saddr ip @havip iifname . arp saddr ip != @port_arp jump refused",
        "\t\tmeta protocol arp iifname . arp saddr ip != @port_arp counter name bad_arp drop",
        "\t\tmeta protocol arp iifname . arp saddr ether != @port_mac counter name bad_arp_sha drop",
        "\t\tmeta protocol arp arp saddr ip @havip update @havip_arp_rate { iifname . arp saddr ip"
        f" limit rate over {lim.havip_arp_rate}/second burst {lim.havip_arp_burst} packets }}"
        " counter name havip_arp_flood drop",
        "\t\tmeta protocol arp arp operation reply arp saddr ip != @havip update @arp_reply_rate { iifname"
        f" limit rate over {lim.reply_rate}/second burst {lim.reply_burst} packets }}"
        " counter name arp_reply_flood drop",
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


def _allowed(addresses: Sequence[str], claimable: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for a in [*addresses, *claimable]:
        seen.setdefault(a)
    return list(seen)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
