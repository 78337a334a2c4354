"""Benchmark 7: the OVN peer, GARP to the first answer for a routed client, interleaved.

Three systems run the same keepalived pair (the product page's configuration, VRRPv3
advert_int 0.1, failures by graceful stop: SIGTERM to keepalived, a priority-0 advert) in
the same run, failovers interleaved (ovn, havip, router, ovn, ...) and alternating in
direction:

- ``ovn``: the pair on OVN logical switch ``ls0`` with a ``virtual`` port for the VIP
  (its parents list the VIP in their port_security), the client on ``ls1`` behind logical
  router ``lr0``: the path where OVN's binding is used (``lr_in_arp_resolve`` takes the
  virtual parent's MAC). Open vSwitch runs its userspace datapath; every daemon
  (ovsdb-server x3, ovs-vswitchd, ovn-northd, ovn-controller) runs under
  ``ip netns exec`` in the lab's host namespace with its db, socket, pidfile and log in a
  temporary directory (research/ovn-lab.md has the recipe and its traps);
- ``havip``: the product page's lab (``benchmarks.labs.havip_lab``), the client routed by
  havip's host;
- ``router``: the pair on a plain Linux bridge, the client in another subnet behind a
  Linux router namespace (ip_forward=1), the physical limit of a routed path.

Measured per failover: the new master's first GARP after the failure (tcpdump ``-tt`` on
its eth0: the kernel's CLOCK_REALTIME timestamp of the outgoing frame) to the client's
first answer from the new master (the probe's receive time, CLOCK_REALTIME; UDP every
1 ms over one socket). Target: havip's median below half of OVN's, judged by the upper
end of the ratio's bootstrap 95% interval.
"""

from __future__ import annotations

import ipaddress
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks import fmt, stats
from benchmarks.failover import one_failover
from benchmarks.labs import System, havip_lab, pair_lab, unique_name, wire_bridge
from havip.lab import netns
from havip.lab.probe import read_answers
from havip.lab.procs import ProcessTable, run_captured
from havip.lab.spec import LabInstance, LabSpec, host_namespace, instance_namespace, port_device

SYSTEMS = ("ovn", "havip", "router")
MODE = "term"
ADVERT_INT = 0.1
PROBE_MS = 1.0
TARGET_RATIO = 0.5
CLIENT_NET = ipaddress.IPv4Network("172.17.17.0/24")  # the routed client's subnet (ls1 / the router's eth1)
COMMANDS = (
    "ovsdb-tool",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovn-nbctl",
    "ovn-northd",
    "ovn-controller",
    "ethtool",
    "tcpdump",
    "keepalived",
)
OVS_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
OVN_SCHEMAS = {"nb": Path("/usr/share/ovn/ovn-nb.ovsschema"), "sb": Path("/usr/share/ovn/ovn-sb.ovsschema")}


class OvnLabError(RuntimeError):
    pass


def _gateway(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address + 1)


def _routed(spec: LabSpec) -> LabSpec:
    """``spec`` with its client moved into ``CLIENT_NET`` (same host part)."""
    client = next(i for i in spec.instances if i.role == "client")
    host = int(ipaddress.IPv4Address(client.address)) & int(ipaddress.IPv4Network(spec.subnet_cidr).hostmask)
    moved = LabInstance(client.name, str(CLIENT_NET.network_address + host), "client")
    return replace(spec, instances=tuple(moved if i is client else i for i in spec.instances))


def _client(spec: LabSpec) -> LabInstance:
    return next(i for i in spec.instances if i.role == "client")


def _check(args: list[str], timeout: float = 30) -> str:
    proc = run_captured(args, timeout)
    if proc.returncode != 0:
        raise OvnLabError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@contextmanager
def _linux_router(spec: LabSpec, table: ProcessTable, progress: Callable[[str], None]) -> Iterator[None]:
    """The pair on a plain bridge; the client behind a router namespace (ip_forward=1)."""
    progress(f"router {spec.name}: a plain Linux bridge and a Linux router")
    switch = wire_bridge(spec, spec.members())
    rtr = instance_namespace(spec.name, "rtr")
    netns.create(rtr)
    netns.sysctl(rtr, "net.ipv4.ip_forward", "1")
    subnet = ipaddress.IPv4Network(spec.subnet_cidr)
    netns.veth(switch, port_device("rtr"), rtr, "eth0")
    netns.ip("link", "set", port_device("rtr"), "master", "br0", "up", netns=switch)
    netns.ip("addr", "add", f"{_gateway(subnet)}/{subnet.prefixlen}", "dev", "eth0", netns=rtr)
    netns.ip("link", "set", "eth0", "up", netns=rtr)
    client = _client(spec)
    client_ns = instance_namespace(spec.name, client.name)
    netns.create(client_ns)
    netns.veth(rtr, "eth1", client_ns, "eth0")
    netns.ip("addr", "add", f"{_gateway(CLIENT_NET)}/{CLIENT_NET.prefixlen}", "dev", "eth1", netns=rtr)
    netns.ip("link", "set", "eth1", "up", netns=rtr)
    netns.configure_instance(client_ns, "eth0", client.address, CLIENT_NET.prefixlen, _gateway(CLIENT_NET))
    yield


@dataclass
class _Ovn:
    """One lab's Open vSwitch and OVN, all inside its host namespace, files in ``run``."""

    spec: LabSpec
    table: ProcessTable
    run: Path

    @property
    def host(self) -> str:
        return host_namespace(self.spec.name)

    @property
    def ovs_db(self) -> str:
        return f"unix:{self.run / 'ovs' / 'db.sock'}"

    def db(self, which: str) -> str:
        return f"unix:{self.run / 'ovn' / f'{which}.sock'}"

    @property
    def env(self) -> dict[str, str]:
        ovs, ovn = str(self.run / "ovs"), str(self.run / "ovn")
        return {
            "OVS_RUNDIR": ovs,
            "OVS_LOGDIR": ovs,
            "OVS_DBDIR": ovs,
            "OVS_SYSCONFDIR": ovs,
            "OVN_RUNDIR": ovn,  # ovn-controller 23.03 has no --unixctl: its socket goes here
            "OVN_LOGDIR": ovn,
            "OVN_DBDIR": ovn,
            "OVN_SYSCONFDIR": ovn,
        }

    def daemon(self, name: str, argv: list[str], directory: str) -> None:
        """A daemon in the foreground under the process table, in the host namespace."""
        d = self.run / directory
        files = [f"--pidfile={d / name}.pid", f"--log-file={d / name}.log"]
        if name != "ovn-controller":
            files.append(f"--unixctl={d / name}.ctl")
        self.table.start(f"{self.spec.name}-{name}", netns.exec_args(self.host, *argv, *files), env=self.env)

    def ctl(self, *argv: str) -> str:
        return _check(netns.exec_args(self.host, "env", *(f"{k}={v}" for k, v in self.env.items()), *argv))

    def vsctl(self, *args: str) -> str:
        return self.ctl("ovs-vsctl", f"--db={self.ovs_db}", "--timeout=20", *args)

    def nbctl(self, *args: str) -> str:
        return self.ctl("ovn-nbctl", f"--db={self.db('nb')}", "--timeout=30", *args)

    def wait_socket(self, path: Path, what: str) -> None:
        deadline = time.monotonic() + 20
        while not path.exists():
            if time.monotonic() > deadline:
                raise OvnLabError(f"{what} did not open {path} (logs in {self.run})")
            time.sleep(0.02)

    def start(self) -> None:
        for d in ("ovs", "ovn"):
            (self.run / d).mkdir(parents=True)
        conf = self.run / "ovs" / "conf.db"
        _check(["ovsdb-tool", "create", str(conf), str(OVS_SCHEMA)])
        self.daemon(
            "ovsdb-server", ["ovsdb-server", str(conf), f"--remote=punix:{self.run / 'ovs' / 'db.sock'}"], "ovs"
        )
        self.wait_socket(self.run / "ovs" / "db.sock", "ovsdb-server (Open_vSwitch)")
        self.vsctl("--no-wait", "init")
        self.daemon("ovs-vswitchd", ["ovs-vswitchd", self.ovs_db], "ovs")
        for which, schema in OVN_SCHEMAS.items():
            db = self.run / "ovn" / f"ovn{which}_db.db"
            _check(["ovsdb-tool", "create", str(db), str(schema)])
            sock = self.run / "ovn" / f"{which}.sock"
            self.daemon(f"ovsdb-server-{which}", ["ovsdb-server", str(db), f"--remote=punix:{sock}"], "ovn")
            self.wait_socket(sock, f"ovsdb-server ({which})")
        self.daemon("ovn-northd", ["ovn-northd", f"--ovnnb-db={self.db('nb')}", f"--ovnsb-db={self.db('sb')}"], "ovn")
        self.vsctl(
            "set",
            "open",
            ".",
            f"external-ids:system-id={self.spec.name}",
            f"external-ids:ovn-remote={self.db('sb')}",
            "external-ids:ovn-encap-type=geneve",
            "external-ids:ovn-encap-ip=127.0.0.1",
            "external-ids:ovn-bridge-datapath-type=netdev",
        )
        self.vsctl(
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=netdev",
            "fail-mode=secure",
            "other-config:disable-in-band=true",
        )
        self.daemon("ovn-controller", ["ovn-controller", self.ovs_db], "ovn")

    def topology(self) -> None:
        """ls0 (the pair, the VIP's virtual port) -- lr0 -- ls1 (the client)."""
        spec = self.spec
        subnet = ipaddress.IPv4Network(spec.subnet_cidr)
        nb = ["ls-add", "ls0", "--", "ls-add", "ls1", "--", "lr-add", "lr0"]
        for i, (ls, net) in enumerate((("ls0", subnet), ("ls1", CLIENT_NET))):
            mac = f"02:00:00:00:01:{i + 1:02x}"
            nb += ["--", "lrp-add", "lr0", f"lrp-{ls}", mac, f"{_gateway(net)}/{net.prefixlen}"]
            nb += ["--", "lsp-add", ls, f"rp-{ls}", "--", "lsp-set-type", f"rp-{ls}", "router"]
            nb += ["--", "lsp-set-addresses", f"rp-{ls}", "router"]
            nb += ["--", "lsp-set-options", f"rp-{ls}", f"router-port=lrp-{ls}"]
        for n, inst in enumerate(spec.instances):
            ls, extra = ("ls1", "") if inst.role == "client" else ("ls0", f" {spec.vip}")
            mac = self.mac(n)
            nb += ["--", "lsp-add", ls, inst.name, "--", "lsp-set-addresses", inst.name, f"{mac} {inst.address}"]
            nb += ["--", "lsp-set-port-security", inst.name, f"{mac} {inst.address}{extra}"]
        parents = ",".join(m.name for m in spec.members())
        nb += ["--", "lsp-add", "ls0", "vip", "--", "lsp-set-type", "vip", "virtual"]
        nb += ["--", "lsp-set-options", "vip", f"virtual-ip={spec.vip}", f"virtual-parents={parents}"]
        self.nbctl(*nb)

    @staticmethod
    def mac(n: int) -> str:
        return f"02:00:00:00:00:{n + 0x11:02x}"

    def plug(self) -> None:
        """Each instance's veth on br-int, checksum offload off on both ends (the userspace
        datapath passes CHECKSUM_PARTIAL packets on unfinished)."""
        spec = self.spec
        for n, inst in enumerate(spec.instances):
            ns = instance_namespace(spec.name, inst.name)
            netns.create(ns)
            dev = port_device(inst.name)
            netns.veth(self.host, dev, ns, "eth0", self.mac(n))
            _check(netns.exec_args(self.host, "ethtool", "-K", dev, "tx", "off"))
            _check(netns.exec_args(ns, "ethtool", "-K", "eth0", "tx", "off"))
            netns.ip("link", "set", dev, "up", netns=self.host)
            self.vsctl("add-port", "br-int", dev, "--", "set", "interface", dev, f"external-ids:iface-id={inst.name}")
            net = CLIENT_NET if inst.role == "client" else ipaddress.IPv4Network(spec.subnet_cidr)
            netns.configure_instance(ns, "eth0", inst.address, net.prefixlen, _gateway(net))
        self.nbctl("--wait=hv", "sync")

    def stop(self) -> None:
        """Daemons in reverse order, then the taps the netdev datapath leaves behind."""
        for name in ("ovn-controller", "ovn-northd", "ovsdb-server-sb", "ovsdb-server-nb", "ovs-vswitchd"):
            self.table.stop(f"{self.spec.name}-{name}")
        self.table.stop(f"{self.spec.name}-ovsdb-server")
        out = netns.run(["ip", "-n", self.host, "tuntap", "show"], check=False).stdout
        for line in out.splitlines():
            name = line.split(":", 1)[0].strip()
            if name:
                netns.run(["ip", "-n", self.host, "tuntap", "del", "mode", "tap", name], check=False)


@contextmanager
def _ovn(spec: LabSpec, table: ProcessTable, progress: Callable[[str], None]) -> Iterator[None]:
    run = Path(tempfile.mkdtemp(prefix=f"havip-ovn-{spec.name}-"))
    ovn = _Ovn(spec, table, run)
    try:
        progress(f"ovn {spec.name}: Open vSwitch (userspace datapath) and OVN in {ovn.host}")
        netns.create(ovn.host)
        ovn.start()
        ovn.topology()
        ovn.plug()
        yield
    finally:
        ovn.stop()
        shutil.rmtree(run, ignore_errors=True)


def _spec(name: str) -> LabSpec:
    return LabSpec(
        name=name, advert_int=ADVERT_INT, vrrp_version=3, check_interval=ADVERT_INT, probe_interval_ms=PROBE_MS
    )


GARP_RE = re.compile(r"^(\d+\.\d+) .*ARP, (?:Request who-has (\S+) (?:\(\S+\) )?tell (\S+),|Reply (\S+) is-at)")


def garps(log: Path, vip: str) -> list[int]:
    """Times (ns, CLOCK_REALTIME) of the gratuitous ARPs for ``vip`` in a tcpdump ``-tt`` log."""
    out = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        m = GARP_RE.match(line)
        if m and (m[2] == vip == m[3] or m[4] == vip):
            sec, _, frac = m[1].partition(".")
            out.append(int(sec) * 10**9 + int(frac.ljust(9, "0")[:9]))
    return out


def _capture(system: System) -> dict[str, Path]:
    """A tcpdump of outgoing ARP on every member's eth0, for the whole run."""
    logs = {}
    for m in system.members.values():
        proc = system.table.start(
            f"{system.spec.name}-garp-{m.name}",
            netns.exec_args(m.namespace, "tcpdump", "-n", "-l", "-tt", "-Q", "out", "-i", "eth0", "arp"),
        )
        logs[m.name] = proc.log_path
    return logs


def _wait_answers(system: System, timeout: float = 30) -> None:
    since = time.time_ns()
    deadline = time.monotonic() + timeout
    while not read_answers(system.probe_log, since):
        if time.monotonic() > deadline:
            raise OvnLabError(f"{system.kind} {system.spec.name}: the client gets no answer from the VIP")
        time.sleep(0.05)


def measure(system: System, captures: dict[str, Path]) -> dict[str, Any]:
    """One graceful failover: the driver of benchmark 2, plus the new master's first GARP."""
    before = time.time_ns()
    row = one_failover(system, MODE)
    garp = next((t for t in garps(captures[row["to"]], system.spec.vip) if t >= before), None)
    first = next((a for a in read_answers(system.probe_log, before) if a.instance == row["to"]), None)
    row["garp_to_answer_ms"] = None if garp is None or first is None else (first.recv_ns - garp) / 1e6
    row["injected_to_garp_ms"] = None if garp is None else (garp - before) / 1e6
    return row


def runs(tiny: bool) -> int:
    return 2 if tiny else 24


def run(tiny: bool, table: ProcessTable, progress: Callable[[str], None]) -> dict[str, Any]:
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        raise OvnLabError(f"missing commands: {', '.join(missing)} (run `bash scripts/setup.sh --bench`)")
    rows: list[dict[str, Any]] = []
    n = runs(tiny)
    with ExitStack() as stack:
        systems = {
            "ovn": stack.enter_context(pair_lab("ovn", _routed(_spec(unique_name("bpo"))), table, progress, _ovn)),
            "havip": stack.enter_context(havip_lab(_spec(unique_name("bph")), table, progress)),
            "router": stack.enter_context(
                pair_lab("router", _routed(_spec(unique_name("bpr"))), table, progress, _linux_router)
            ),
        }
        captures = {}
        for kind, system in systems.items():
            captures[kind] = _capture(system)
            for m in system.members:
                stack.callback(table.stop, f"{system.spec.name}-garp-{m}")
            _wait_answers(system)
        for i in range(n):
            for kind in SYSTEMS:
                row = measure(systems[kind], captures[kind])
                row["round"] = i
                rows.append(row)
                got = row["garp_to_answer_ms"]
                progress(
                    f"#{i + 1} {kind}: {row['from']}->{row['to']} "
                    + (f"GARP -> first answer {got:.2f} ms" if got is not None else "NO GARP or NO ANSWER")
                )
    return {
        "name": "ovn",
        "params": {
            "vrrp_version": 3,
            "advert_int": ADVERT_INT,
            "mode": MODE,
            "probe_interval_ms": PROBE_MS,
            "failovers_per_system": n,
        },
        "runs": rows,
        **analyse(rows),
    }


def _samples(rows: list[dict[str, Any]], kind: str, key: str = "garp_to_answer_ms") -> list[float]:
    return [r[key] for r in rows if r["system"] == kind and r[key] is not None]


def analyse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    dists = {k: stats.summary(_samples(rows, k)).as_dict() for k in SYSTEMS}
    missing = {k: sum(1 for r in rows if r["system"] == k and r["garp_to_answer_ms"] is None) for k in SYSTEMS}
    ovn = _samples(rows, "ovn")
    ratios = {k: stats.compare(_samples(rows, k), ovn).ratio.as_dict() for k in ("havip", "router")}
    floors = {}
    for k in SYSTEMS:
        a, b = stats.split_self(_samples(rows, k))
        floors[k] = stats.compare(a, b).ratio.as_dict()
    high = ratios["havip"]["high"]
    return {
        "garp_to_answer_ms": dists,
        "injected_to_garp_ms": {k: stats.summary(_samples(rows, k, "injected_to_garp_ms")).as_dict() for k in SYSTEMS},
        "ratio_to_ovn": ratios,
        "noise_floor_ratio": floors,
        "unmeasured": missing,
        "stale_answers": {
            k: sum(int(r["stale_after_first_answer"]) for r in rows if r["system"] == k) for k in SYSTEMS
        },
        "target": {
            "what": f"havip / OVN median (GARP -> first answer, routed client) < {TARGET_RATIO:g} (95% CI)",
            "met": bool(math.isfinite(high) and high < TARGET_RATIO and missing["havip"] == 0),
            "by": None if not math.isfinite(high) else high - TARGET_RATIO,
        },
    }


def _verdict(r: dict[str, Any]) -> str:
    t, ratio = r["target"], r["ratio_to_ovn"]["havip"]
    if t["met"]:
        return "**met**"
    if math.isfinite(ratio["high"]) and ratio["low"] < TARGET_RATIO <= ratio["high"]:
        return f"**not shown** (the interval's upper end is {fmt.f(t['by'])} over)"
    return fmt.verdict(t, unit="")


def table(r: dict[str, Any]) -> str:
    p = r["params"]
    lines = [
        f"VRRPv{p['vrrp_version']} advert_int {p['advert_int']:g}, graceful stop (SIGTERM), "
        f"{p['failovers_per_system']} failovers per system interleaved (ovn, havip, router), alternating direction. "
        f"Probe: UDP every {fmt.f(p['probe_interval_ms'], 1)} ms over one socket from a routed client.",
        "Times in ms from the new master's first GARP (kernel timestamp of the frame leaving its eth0) to the "
        "client's first answer from it.",
        "",
        fmt.DIST_HEAD,
    ]
    for k in SYSTEMS:
        lines.append(fmt.dist_row(k, r["garp_to_answer_ms"][k]))
    for k in SYSTEMS:
        lines.append(fmt.dist_row(f"{k}: failure -> GARP", r["injected_to_garp_ms"][k]))
    lines += ["", "| ratio of medians | estimate [95% CI] |", "|---|---|"]
    for k in ("havip", "router"):
        lines.append(f"| {k} / ovn | {fmt.ci(r['ratio_to_ovn'][k])} |")
    for k in SYSTEMS:
        lines.append(f"| noise floor: {k} / {k} (alternate failovers) | {fmt.ci(r['noise_floor_ratio'][k])} |")
    stale = r["stale_answers"]
    lines += [
        "",
        "Answers from the old master after the first from the new one: "
        + ", ".join(f"{k} {stale[k]}" for k in SYSTEMS)
        + ".",
    ]
    um = r["unmeasured"]
    lines += [
        "Failovers without a GARP or an answer from the new master: "
        + ", ".join(f"{k} {um[k]}" for k in SYSTEMS)
        + ".",
        f"Target: {r['target']['what']}: {_verdict(r)}.",
    ]
    return "\n".join(lines)


def _plot(r: dict[str, Any], path: Path) -> None:
    fig, (ax,) = fmt.figure()
    for k in SYSTEMS:
        fmt.cdf(ax, [x["garp_to_answer_ms"] for x in r["runs"] if x["system"] == k and x["garp_to_answer_ms"]], k)
    ax.set(xlabel="GARP -> first answer, routed client (ms)", ylabel="fraction", title="OVN, havip, Linux router")
    ax.legend(fontsize=7)
    fmt.save(fig, path)


def section(r: dict[str, Any], out: Path, rel: Path) -> fmt.Section:
    _plot(r, out / "ovn_cdf.png")
    return fmt.Section(
        summary=[
            f"| #7 the OVN peer | {r['target']['what']} | {_verdict(r)} ratio = {fmt.ci(r['ratio_to_ovn']['havip'])} |"
        ],
        body=[table(r), "", f"![OVN, havip and a Linux router]({rel / 'ovn_cdf.png'})"],
        notes=[
            "VRRPv3 advert_int 0.1 with a graceful stop (SIGTERM to keepalived) keeps each failover short: the "
            "backup takes over after its skew time (the failure -> GARP rows). Crashes are not measured here "
            "(benchmark 2 measures both against the bridge); this benchmark times only what follows the GARP.",
            "OVN 23.03 (Debian 12), Open vSwitch userspace datapath, one chassis; every OVS/OVN daemon runs under "
            "`ip netns exec` in the lab's host namespace (its files in a temporary directory), checksum offload "
            "off on every veth. The router's `lr_in_arp_resolve` follows the virtual port's binding, which moves "
            "through SB, northd and ovn-controller after the GARP.",
            "The noise floor compares alternate failovers of one system, which are also opposite directions.",
            "The probe's resolution is 1 ms; the three labs, their probes and OVN's daemons share 2 cores with "
            "other work.",
        ],
    )
