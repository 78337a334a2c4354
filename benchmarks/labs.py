"""The two systems a failover benchmark compares, built in-process from the lab's pieces.

``havip_lab`` is the product page's lab (``havip.lab.build.LabBuilder``: control plane,
agent, keepalived, services, a probe) run by this process instead of a supervisor, so a
benchmark can reach each member's keepalived directly. ``bridge_lab`` is the baseline:
the same pair and client with the same keepalived configuration, service and probe, on a
plain Linux bridge in a switch namespace, with no anti-spoofing and no agent (nothing
between the instances: the physical limit).

Both share one ``ProcessTable`` (one reaper thread per process, see havip.lab.procs; the
caller must be a child subreaper) and live only in namespaces named ``havip-<name>-*``,
removed on exit, also after a failure. Nothing here touches the root namespace.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from havip.agent.arp import build_garp
from havip.agent.dataplane.netns import Netns
from havip.lab import netns
from havip.lab.build import LabBuilder
from havip.lab.keepalived import Keepalived
from havip.lab.procs import ProcessTable
from havip.lab.product_page import LabKeepalived, render
from havip.lab.spec import LabInstance, LabPaths, LabSpec, instance_namespace, namespace_prefix, port_device

log = logging.getLogger("benchmarks")

SWITCH = "sw"


class BenchTable(ProcessTable):
    """The lab's process table, with a reaper that survives a lost race.

    The reaper sees an exited child with ``waitid(WNOWAIT)`` and then reaps it; a
    short command that ``run_captured`` waits for itself can be reaped (and forgotten)
    by its caller between the two, and the reaper's ``waitpid`` then fails with
    ECHILD, which ends its thread (after which every wait times out). Here the loop
    simply goes on.
    """

    def _reap_loop(self) -> None:
        while not self._stop.is_set():
            try:
                super()._reap_loop()
            except ChildProcessError:
                continue


def _packet_socket(dev: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    return s


@contextmanager
def member_sockets(namespaces: list[str], dev: str = "eth0") -> Iterator[list[socket.socket]]:
    """A packet socket on ``dev`` in each namespace (a member's port, to send crafted
    frames from it), closed with their namespace handles on exit."""
    runners = [Netns(ns) for ns in namespaces]
    sockets: list[socket.socket] = []
    try:
        sockets.extend(r.run(_packet_socket, dev) for r in runners)
        yield sockets
    finally:
        for s in sockets:
            s.close()
        for r in runners:
            r.close()


def alternate_claims(
    builder: LabBuilder,
    sockets: list[socket.socket],
    n: int,
    gap_s: float,
    progress: Callable[[str], None],
    what: str,
) -> int:
    """``n`` crafted GARPs for the lab's VIP out of its two members' ports (``sockets``, in
    ``builder.members()`` order), alternately, starting with the one that does not hold it,
    ``gap_s`` apart: each a real claim. Returns when the first left (ns since the epoch)."""
    members = builder.members()
    holder = builder.holder()
    first = next(i for i, node in enumerate(members) if node.name != holder)
    began = time.time_ns()
    for k in range(n):
        i = (first + k) % 2
        sockets[i].send(build_garp(members[i].mac, builder.spec.vip))
        time.sleep(gap_s)
        if (k + 1) % 50 == 0:
            progress(f"{what}: {k + 1}/{n} claims")
    return began


def unique_name(prefix: str) -> str:
    """A lab name no other lab uses (``havip-<name>-*`` namespaces)."""
    return f"{prefix}{secrets.token_hex(3)}"


@dataclass
class Member:
    """One member as a failover driver sees it, whatever system it runs on."""

    name: str
    namespace: str
    address: str
    keepalived: Keepalived
    restart: Callable[[], None]


@dataclass
class System:
    """A pair, a client probing the VIP every ``probe_interval_ms``, and its probe log."""

    kind: str  # "havip" | "bridge" | "router" | "ovn" | "havip-3-hosts" ...
    spec: LabSpec
    table: ProcessTable
    probe_log: Path
    members: dict[str, Member] = field(default_factory=dict)
    builder: LabBuilder | None = None  # havip only: the control plane's view

    def master(self) -> Member | None:
        masters = [m for m in self.members.values() if m.keepalived.state(self.table) == "MASTER"]
        return masters[0] if len(masters) == 1 else None


def _remove_namespaces(name: str) -> None:
    for ns in netns.list_namespaces():
        if ns.startswith(namespace_prefix(name)):
            netns.delete(ns)


@contextmanager
def havip_lab(
    spec: LabSpec, table: ProcessTable, progress: Callable[[str], None], kind: str = "havip"
) -> Iterator[System]:
    paths = LabPaths.of(spec.name)
    paths.root.mkdir(parents=True, mode=0o755)
    builder = LabBuilder(spec, paths, table, progress)
    try:
        builder.build()
        system = System(kind, spec, table, paths.probe_log, builder=builder)
        for node in builder.members():
            assert node.keepalived is not None
            peers = [m.address for m in builder.members() if m is not node]
            system.members[node.name] = Member(
                node.name,
                node.namespace,
                node.address,
                node.keepalived,
                lambda node=node, peers=peers: builder.start_keepalived(node, peers),  # type: ignore[misc]
            )
        yield system
    finally:
        for node in builder.nodes.values():
            if node.keepalived is not None:
                node.keepalived.stop(table)
        for proc in [p for p in table.procs if p in ("serve", "probe") or p.startswith(("agent", "service-"))]:
            table.stop(proc)
        _remove_namespaces(spec.name)
        shutil.rmtree(paths.root, ignore_errors=True)


Wiring = Callable[[LabSpec, ProcessTable, Callable[[str], None]], AbstractContextManager[None]]
"""Creates a lab's namespaces (``instance_namespace`` of every instance) and connects them;
its exit stops whatever it started (the namespaces themselves are removed by ``pair_lab``)."""


def wire_bridge(spec: LabSpec, instances: list[LabInstance]) -> str:
    """``instances`` on a plain Linux bridge ``br0`` in the lab's switch namespace, each with
    its address in the spec's subnet and ``.1`` as gateway; returns the switch namespace."""
    switch = instance_namespace(spec.name, SWITCH)
    netns.create(switch)
    netns.ip("link", "add", "br0", "type", "bridge", netns=switch)
    netns.ip("link", "set", "br0", "up", netns=switch)
    net = ipaddress.IPv4Network(spec.subnet_cidr)
    gateway = str(net.network_address + 1)
    for inst in instances:
        ns = instance_namespace(spec.name, inst.name)
        netns.create(ns)
        netns.veth(switch, port_device(inst.name), ns, "eth0")
        netns.ip("link", "set", port_device(inst.name), "master", "br0", "up", netns=switch)
        netns.configure_instance(ns, "eth0", inst.address, net.prefixlen, gateway)
    return switch


@contextmanager
def _bridge(spec: LabSpec, table: ProcessTable, progress: Callable[[str], None]) -> Iterator[None]:
    progress(f"bridge {spec.name}: a plain Linux bridge in {instance_namespace(spec.name, SWITCH)}")
    wire_bridge(spec, list(spec.instances))
    yield


@contextmanager
def bridge_lab(spec: LabSpec, table: ProcessTable, progress: Callable[[str], None]) -> Iterator[System]:
    """The baseline: the same pair, configuration, service and probe on a plain bridge."""
    with pair_lab("bridge", spec, table, progress, _bridge) as system:
        yield system


@contextmanager
def pair_lab(
    kind: str, spec: LabSpec, table: ProcessTable, progress: Callable[[str], None], wire: Wiring
) -> Iterator[System]:
    """The pair and client of ``spec`` on whatever ``wire`` connects them with: a service and
    keepalived (the product page's configuration) in each member, the client probing the VIP."""
    root = LabPaths.of(spec.name).root
    root.mkdir(parents=True, mode=0o755)
    tag = spec.name
    started: list[str] = []
    kas: list[Keepalived] = []
    try:
        with wire(spec, table, progress):
            try:
                probe_log = root / "probe.log"
                system = System(kind, spec, table, probe_log)
                members = spec.members()
                for inst in members:
                    ns = instance_namespace(spec.name, inst.name)
                    name = f"{tag}-service-{inst.name}"
                    table.start(
                        name, netns.exec_args(ns, sys.executable, "-m", "havip.lab.service", "--name", inst.name)
                    )
                    started.append(name)
                for inst in members:
                    ns = instance_namespace(spec.name, inst.name)
                    ka = Keepalived(
                        f"{tag}-{inst.name}",
                        ns,
                        root / f"keepalived-{inst.name}.conf",
                        root / f"{inst.name}.vrrp-state",
                        root,
                    )
                    ka.write_notify()
                    ka.conf.write_text(
                        render(
                            LabKeepalived(
                                src=inst.address,
                                peers=[m.address for m in members if m is not inst],
                                vip=spec.vip,
                                priority=inst.priority,
                                advert_int=spec.advert_int,
                                vrrp_version=spec.version,
                                check_interval=spec.check_interval,
                                notify=str(ka.notify_script),
                                router_id=f"{kind}-{inst.name}",
                            )
                        )
                    )
                    kas.append(ka)
                    system.members[inst.name] = Member(inst.name, ns, inst.address, ka, lambda ka=ka: ka.start(table))  # type: ignore[misc]
                for m in system.members.values():
                    m.restart()
                deadline = time.monotonic() + 30 + 5 * spec.advert_int
                while system.master() is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{kind} {tag}: no member became MASTER")
                    time.sleep(0.05)
                client = next(i for i in spec.instances if i.role == "client")
                interval = str(spec.probe_interval_ms)
                args = [
                    "-m",
                    "havip.lab.probe",
                    "--target",
                    spec.vip,
                    "--interval-ms",
                    interval,
                    "--out",
                    str(probe_log),
                ]
                name = f"{tag}-probe"
                table.start(name, netns.exec_args(instance_namespace(spec.name, client.name), sys.executable, *args))
                started.append(name)
                master = system.master()
                progress(f"{kind} {tag}: ready, {master.name if master else '?'} is MASTER")
                yield system
            finally:
                for ka in kas:
                    ka.stop(table)
                for name in started:
                    table.stop(name)
    finally:
        _remove_namespaces(spec.name)
        shutil.rmtree(root, ignore_errors=True)
