"""Lint a keepalived.conf for use with a HaVip, in plain words.

Each finding says what will not work on a HaVip (or what is risky) and how to fix it.
Errors mean the configuration cannot fail over on a HaVip; warnings mean it can but
something is fragile; notes are advice. Without ``Facts`` only the file is judged;
with them (from the control plane) the VIPs, this instance and its peers are checked
against the HaVip's subnet and members.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from havip.keepalived.conf import Node, ParseError, parse


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    line: int
    message: str


@dataclass(frozen=True)
class Facts:
    """What the control plane knows about the instance the file is for."""

    subnet_cidr: str
    havips: dict[str, list[str] | None]  # VIP -> member addresses (None: subnet mode, anyone)
    self_address: str | None = None


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def add(self, severity: Severity, code: str, line: int, message: str) -> None:
        self.findings.append(Finding(severity, code, line, message))


def _addr(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Interface(text).ip)
    except ValueError:
        return None


def _line(node: Node, keyword: str) -> int:
    child = node.find(keyword)
    return child.line if child is not None else node.line


def check(text: str, facts: Facts | None = None) -> Report:
    report = Report()
    try:
        root = parse(text)
    except ParseError as exc:
        report.add(Severity.ERROR, "syntax", exc.line, str(exc))
        return report
    instances = root.find_all("vrrp_instance")
    if not instances:
        report.add(Severity.ERROR, "no-instance", 0, "no vrrp_instance block: nothing would claim the HaVip")
    scripts = {n.args[0] for n in root.find_all("vrrp_script") if n.args}
    globals_ = root.find("global_defs")
    version = (globals_.value("vrrp_version") if globals_ else None) or "2"
    for inst in instances:
        _check_instance(report, inst, scripts, version, facts)
    return report


def _check_instance(report: Report, inst: Node, scripts: set[str], version: str, facts: Facts | None) -> None:
    name = inst.args[0] if inst.args else "?"
    where = f"vrrp_instance {name}"
    for required in ("interface", "virtual_router_id"):
        if not inst.has(required):
            report.add(
                Severity.ERROR, f"missing-{required}", inst.line, f"{where} has no '{required}'; keepalived refuses it"
            )
    peers_node = inst.find("unicast_peer")
    peers = [(p, line) for p, line in peers_node.items()] if peers_node else []
    if not peers:
        report.add(
            Severity.ERROR,
            "multicast",
            inst.line,
            f"{where} uses multicast VRRP (no unicast_peer): a HaVip network carries no multicast or broadcast, "
            "so the peers never hear each other and both become MASTER; list the other members in unicast_peer { }",
        )
    src = inst.value("unicast_src_ip")
    if peers and src is None:
        report.add(
            Severity.WARNING,
            "no-unicast-src",
            inst.line,
            f"{where} has no unicast_src_ip: keepalived sends from the interface's primary address; "
            "set it to this instance's private IP so the peers recognise it",
        )
    for key in ("use_vmac", "vmac_xmit_base"):
        if node := inst.find(key):
            report.add(
                Severity.ERROR,
                "vmac",
                node.line,
                f"'{key}' makes keepalived announce the VIP from a virtual MAC; the HaVip network accepts "
                "frames only from the interface's own MAC and drops them; remove it",
            )
    vips_node = inst.find("virtual_ipaddress")
    vips = [(a, line) for a, line in vips_node.items()] if vips_node else []
    if not vips:
        report.add(Severity.ERROR, "no-vip", inst.line, f"{where} has no virtual_ipaddress: it would claim nothing")
    for text, line in vips:
        if _addr(text) is None:
            report.add(Severity.ERROR, "bad-vip", line, f"virtual_ipaddress entry {text!r} is not an IPv4 address")
    state = inst.value("state")
    if inst.has("nopreempt") and state and state.upper() == "MASTER":
        report.add(
            Severity.WARNING,
            "nopreempt-master",
            _line(inst, "state"),
            "nopreempt only works with 'state BACKUP'; with MASTER a restarted node takes the VIP back",
        )
    if not inst.has("nopreempt") and not inst.has("preempt_delay"):
        report.add(
            Severity.WARNING,
            "preempt",
            inst.line,
            f"{where} preempts: a recovered master takes the VIP back, a second interruption; "
            "the product pages advise 'state BACKUP' with 'nopreempt'",
        )
    advert = inst.value("advert_int")
    if advert is not None:
        try:
            value = float(advert)
        except ValueError:
            report.add(
                Severity.ERROR, "advert-int", _line(inst, "advert_int"), f"advert_int {advert!r} is not a number"
            )
        else:
            if version.strip() != "3" and value != int(value):
                report.add(
                    Severity.WARNING,
                    "advert-int-v2",
                    _line(inst, "advert_int"),
                    f"VRRPv2 rounds advert_int {advert} to whole seconds; set 'vrrp_version 3' in global_defs "
                    "on every member for sub-second failover",
                )
            if version.strip() == "3" and not 0.01 <= value <= 40.95:
                report.add(
                    Severity.ERROR, "advert-int", inst.line, "VRRPv3 advert_int must be between 0.01 and 40.95 s"
                )
    track = inst.find("track_script")
    for script, line in track.items() if track else []:
        if script not in scripts:
            report.add(
                Severity.WARNING,
                "undefined-script",
                line,
                f"track_script '{script}' has no vrrp_script block in this file (it may come from an include); "
                "keepalived ignores an unknown script",
            )
    if not inst.has("garp_master_refresh"):
        report.add(
            Severity.NOTE,
            "garp-refresh",
            inst.line,
            "no garp_master_refresh: the VIP is announced only on becoming master; havip's holder discovery "
            "still finds the holder, but 'garp_master_refresh 5' re-announces it for every network path",
        )
    if facts is not None:
        _check_facts(report, where, inst, src, [p for p, _ in peers], vips, facts)


def _check_facts(
    report: Report,
    where: str,
    inst: Node,
    src: str | None,
    peers: list[str],
    vips: list[tuple[str, int]],
    facts: Facts,
) -> None:
    subnet = ipaddress.IPv4Network(facts.subnet_cidr)
    me = src or facts.self_address
    for text, line in vips:
        vip = _addr(text)
        if vip is None:
            continue
        if vip not in facts.havips:
            report.add(
                Severity.ERROR,
                "not-a-havip",
                line,
                f"{vip} is not a HaVip of subnet {facts.subnet_cidr}: the network refuses ARP announcements of "
                "ordinary addresses, so it would never move; create a HaVip with this address (or use one)",
            )
            continue
        members = facts.havips[vip]
        if members is not None and me is not None and me not in members:
            report.add(
                Severity.ERROR,
                "not-a-member",
                line,
                f"this instance ({me}) is not associated with HaVip {vip}; its announcements would be refused; "
                "associate it with the HaVip first",
            )
        for peer in peers:
            if members is not None and peer not in members:
                report.add(
                    Severity.WARNING,
                    "peer-not-member",
                    _line(inst, "unicast_peer"),
                    f"unicast peer {peer} is not a member of HaVip {vip}; if it becomes MASTER its claim is refused",
                )
    for label, addr in (("unicast_src_ip", src), *(("unicast peer", p) for p in peers)):
        parsed = _addr(addr) if addr is not None else None
        if parsed is not None and ipaddress.IPv4Address(parsed) not in subnet:
            report.add(
                Severity.WARNING,
                "outside-subnet",
                inst.line,
                f"{label} {addr} is outside the HaVip's subnet {facts.subnet_cidr}; members must share the subnet",
            )
