"""Building, describing and removing one lab (run inside the supervisor).

The build follows the product page: a VPC and subnet, the member instances and a
client as namespaces wired to a host namespace by veth pairs, the HaVip bound to the
members, the control plane and the agent, a service and keepalived in each member,
and a client probing the VIP. Resources are created through the real API.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from havip.client import HavipClient
from havip.domain.rules import gateway_address
from havip.lab import netns
from havip.lab.keepalived import Keepalived
from havip.lab.probe import read_answers
from havip.lab.procs import Proc, ProcessTable
from havip.lab.product_page import LabKeepalived, render
from havip.lab.scenarios import ProbePath, Scenario
from havip.lab.spec import (
    UNDERLAY_BRIDGE,
    UNDERLAY_CIDR,
    UNDERLAY_NIC,
    LabPaths,
    LabSpec,
    host_name,
    host_namespace,
    instance_namespace,
    namespace_prefix,
    port_device,
    underlay_device,
    underlay_namespace,
)
from havip.service.accounts import bootstrap
from havip.store import Store

log = logging.getLogger("havip.lab")

HOST_NAME = host_name(1)
TUNNEL_MTU = 1464  # what an instance may send through the hosts' VXLAN-GPE tunnel (1500 - 36)
HAVIP = [sys.executable, "-m", "havip"]


class BuildError(RuntimeError):
    pass


def wait_until(what: str, predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception as exc:  # a predicate's failure counts as "not yet"
            log.debug("waiting for %s: %s", what, exc)
        if time.monotonic() >= deadline:
            raise BuildError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def write_credentials(paths: LabPaths, server: str, account_id: str, operator: str, tenant: str) -> None:
    """The lab's keys where ``havip serve`` would write them (mode 0600): with
    ``HAVIP_HOME=<state dir>`` the CLI, and tests, reach this lab's control plane."""
    fd = os.open(paths.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"server": server, "operator_token": operator, "tenant_token": tenant, "account_id": account_id}, f)


@dataclass
class Node:
    name: str
    role: str
    address: str
    namespace: str
    instance_id: str = ""
    interface_id: str = ""
    mac: str = ""
    keepalived: Keepalived | None = None
    service: Proc | None = None
    host: int = 1  # the lab host it is placed on


@dataclass
class LabBuilder:
    spec: LabSpec
    paths: LabPaths
    table: ProcessTable
    progress: Callable[[str], None]
    nodes: dict[str, Node] = field(default_factory=dict)
    havip_id: str = ""
    extra_havip_ids: list[str] = field(default_factory=list)
    tenant: HavipClient | None = None
    scenario: Scenario = field(default_factory=Scenario)

    def __post_init__(self) -> None:
        self.spec = self.spec.placed()
        self.scenario = Scenario(self.spec.scenario)

    @property
    def api_url(self) -> str:
        return f"unix://{self.paths.api_socket}"

    @property
    def db_url(self) -> str:
        """The spec's database (an empty one: the lab migrates and bootstraps it), by default a
        SQLite file in the lab's directory."""
        return self.spec.db_url or f"sqlite:///{self.paths.root / 'havip.db'}"

    @property
    def host_ns(self) -> str:
        """Host 1's namespace (the only one of a one-host lab; where a scenario's uplink is)."""
        return host_namespace(self.spec.name)

    def host_ns_of(self, node: Node) -> str:
        return host_namespace(self.spec.name, node.host)

    def host_of(self, node: Node) -> str:
        return host_name(node.host)

    @staticmethod
    def agent_proc(k: int) -> str:
        return "agent" if k == 1 else f"agent-host{k}"

    def api(self) -> HavipClient:
        assert self.tenant is not None, "the lab's control plane is not up"
        return self.tenant

    def members(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == "member"]

    def client(self) -> Node:
        return next(n for n in self.nodes.values() if n.role == "client")

    # ------------------------------------------------------------------ build

    def build(self) -> None:
        spec = self.spec
        self.progress(f"lab {spec.name}: namespaces" + (f" ({spec.hosts} hosts)" if spec.hosts > 1 else ""))
        for k in range(1, spec.hosts + 1):
            netns.create(host_namespace(spec.name, k))
        if spec.hosts > 1:
            self.underlay()
        for inst in spec.instances:
            ns = instance_namespace(spec.name, inst.name)
            netns.create(ns)
            self.nodes[inst.name] = Node(inst.name, inst.role, inst.address, ns, host=inst.host)
        self.scenario.namespaces(self)

        store = Store(self.db_url)
        engine = "PostgreSQL" if store.dialect == "postgresql" else "SQLite"
        self.progress(f"control plane: havip serve ({engine}) on a unix socket")
        store.migrate()
        boot = bootstrap(store.uow)
        store.dispose()
        assert boot.operator_token and boot.tenant_token
        write_credentials(self.paths, self.api_url, boot.account.id, boot.operator_token, boot.tenant_token)
        self.table.start(
            "serve",
            [*HAVIP, "serve", "--db", self.db_url, "--listen", f"unix:{self.paths.api_socket}"],
            env={"HAVIP_HOME": str(self.paths.root)},
        )
        probe = HavipClient(self.api_url, None, timeout=2)
        wait_until("the control plane to answer", lambda: bool(probe.healthz()), 30)
        operator = HavipClient(self.api_url, boot.operator_token)
        self.tenant = HavipClient(self.api_url, boot.tenant_token)
        self._resources(operator)

        self.progress("instances: veth pairs to their host's namespace")
        for node in self.nodes.values():
            self.wire_instance(node)
        self.scenario.wire(self)

        self.progress("host agents: havip agent in each host's namespace")
        for k in range(1, spec.hosts + 1):
            self.start_agent(k)
        members = self.members()
        a, b = members[0], members[1]
        wait_until(
            f"{a.name} to reach {b.name} through the host",
            lambda: (
                netns.run(netns.exec_args(a.namespace, "ping", "-c1", "-W1", b.address), check=False).returncode == 0
            ),
            60,
        )

        self.progress("services: a small web service in every member (what checkhaproxy checks)")
        for node in members:
            node.service = self.table.start(
                f"service-{node.name}",
                netns.exec_args(node.namespace, sys.executable, "-m", "havip.lab.service", "--name", node.name),
            )
        for node in members:
            wait_until(f"the service in {node.name}", partial(self.health_ok, node), 20)
        self.scenario.services(self)

        self.progress(
            f"keepalived: the product page's configuration, VRRPv{spec.version}, advert_int {spec.advert_int:g} s"
        )
        for node in members:
            self.start_keepalived(node, [m.address for m in members if m is not node])
        wait_until(
            "a member to become MASTER and hold the VIP", lambda: self.holder() is not None, 30 + 5 * spec.advert_int
        )

        self.progress(f"client: probing {spec.vip} every {spec.probe_interval_ms:g} ms")
        self.start_probe("probe", self.client().namespace, spec.vip, str(self.paths.probe_log))
        for path in self.scenario.paths(self):
            self.progress(f"{path.name} path: probing {path.target} from {path.namespace}")
            self.start_probe(
                f"probe-{path.name}", path.namespace, path.target, str(self.paths.path_probe_log(path.name))
            )
        for path in self.scenario.paths(self):
            wait_until(f"an answer on the {path.name} path", partial(self.path_answered, path), 20)
        self.progress(f"ready: HaVip {spec.vip} held by {self.holder()}")

    def underlay(self) -> None:
        """The underlay: a bridge in a namespace of its own, each host's NIC on it."""
        spec = self.spec
        ul = underlay_namespace(spec.name)
        netns.create(ul)
        netns.ip("link", "add", "name", UNDERLAY_BRIDGE, "type", "bridge", netns=ul)
        netns.ip("link", "set", UNDERLAY_BRIDGE, "up", netns=ul)
        for k in range(1, spec.hosts + 1):
            self.attach_underlay(k)

    def attach_underlay(self, k: int) -> None:
        ul, host = underlay_namespace(self.spec.name), host_namespace(self.spec.name, k)
        dev = underlay_device(k)
        netns.ip("link", "add", dev, "type", "veth", "peer", "name", UNDERLAY_NIC, "netns", host, netns=ul)
        netns.ip("link", "set", dev, "master", UNDERLAY_BRIDGE, "up", netns=ul)
        plen = ipaddress.IPv4Network(UNDERLAY_CIDR).prefixlen
        netns.ip("addr", "add", f"{self.spec.underlay(k)}/{plen}", "dev", UNDERLAY_NIC, netns=host)
        netns.ip("link", "set", UNDERLAY_NIC, "up", netns=host)

    def wire_instance(self, node: Node) -> None:
        spec = self.spec
        prefix = ipaddress.IPv4Network(spec.subnet_cidr).prefixlen
        netns.veth(self.host_ns_of(node), port_device(node.name), node.namespace, "eth0", node.mac)
        if spec.hosts > 1:  # what crosses hosts must fit the tunnel (docs/agent.md: MTU)
            netns.ip("link", "set", "eth0", "mtu", str(TUNNEL_MTU), netns=node.namespace)
        netns.configure_instance(node.namespace, "eth0", node.address, prefix, gateway_address(spec.subnet_cidr))

    def claim_key(self) -> str:
        """The lab's fleet claim key (a file only root reads): the agents sign their claim
        messages to each other with it."""
        path = self.paths.root / "claim.key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return str(path)

    def start_agent(self, k: int) -> None:
        several = ["--claim-key-file", self.claim_key()] if self.spec.hosts > 1 else []
        self.table.start(
            self.agent_proc(k),
            [
                *HAVIP,
                "agent",
                "--server",
                self.api_url,
                "--host",
                host_name(k),
                "--netns",
                host_namespace(self.spec.name, k),
                *self.scenario.agent_args(k, self.spec.hosts),
                *several,
                "--state-dir",
                str(self.paths.root / "agent-state"),
            ],
            env={"HAVIP_AGENT_TOKEN": self._agent_keys[k]},
        )

    def nodes_on(self, k: int) -> list[Node]:
        return [n for n in self.nodes.values() if n.host == k]

    def crash_host(self, k: int) -> None:
        """A whole host lost at once: every process in it SIGKILLed (its agent, the keepalived
        and services of its instances), then its namespaces gone, as when the machine dies."""
        self.table.signal(self.table.procs[self.agent_proc(k)].pid, signal.SIGKILL)
        for node in self.nodes_on(k):
            if node.keepalived is not None and node.keepalived.proc is not None:
                node.keepalived.crash(self.table)
            if node.service is not None:
                self.table.signal(node.service.pid, signal.SIGKILL)
        for name in (self.agent_proc(k), *(f"service-{n.name}" for n in self.nodes_on(k))):
            proc = self.table.procs.pop(name, None)
            if proc is not None:
                self.table.wait_exit(proc.pid, 5)
        for node in self.nodes_on(k):
            netns.delete(node.namespace)
        netns.delete(host_namespace(self.spec.name, k))

    def restore_host(self, k: int) -> None:
        """Host ``k`` back after a crash: namespaces, underlay, instances, its agent (which
        applies the control plane's state before it claims anything), services, keepalived."""
        netns.create(host_namespace(self.spec.name, k))
        self.attach_underlay(k)
        for node in self.nodes_on(k):
            netns.create(node.namespace)
            self.wire_instance(node)
        self.start_agent(k)
        members = self.members()
        for node in self.nodes_on(k):
            if node.role != "member":
                continue
            node.service = self.table.start(
                f"service-{node.name}",
                netns.exec_args(node.namespace, sys.executable, "-m", "havip.lab.service", "--name", node.name),
            )
            wait_until(f"the service in {node.name}", partial(self.health_ok, node), 20)
            self.start_keepalived(node, [m.address for m in members if m is not node])

    def start_probe(self, name: str, namespace: str, target: str, out: str) -> None:
        interval = str(self.spec.probe_interval_ms)
        args = ["-m", "havip.lab.probe", "--target", target, "--interval-ms", interval, "--out", out]
        self.table.start(name, netns.exec_args(namespace, sys.executable, *args))

    def path_answered(self, path: ProbePath) -> bool:
        return bool(read_answers(self.paths.path_probe_log(path.name)))

    _agent_keys: dict[int, str] = field(default_factory=dict)
    vpc_id: str = ""

    def _resources(self, operator: HavipClient) -> None:
        spec = self.spec
        self.progress("resources: hosts, VPC, subnet, instances, HaVip (through the API)")
        for k in range(1, spec.hosts + 1):
            body = {"name": host_name(k)} | ({"underlay": spec.underlay(k)} if spec.hosts > 1 else {})
            created = operator.create("hosts", body)
            self._agent_keys[k] = str(created["agent_key"]["token"])
        api = self.api()
        vpc = api.create("vpcs", {"cidr": spec.vpc_cidr, "name": f"lab-{spec.name}"})
        self.vpc_id = str(vpc["id"])
        subnet = api.create("subnets", {"vpc_id": vpc["id"], "cidr": spec.subnet_cidr, "name": "lab"})
        for node in self.nodes.values():
            inst = api.create(
                "instances",
                {
                    "subnet_id": subnet["id"],
                    "primary_ip": node.address,
                    "name": node.name,
                    "host": self.host_of(node),
                    "device": port_device(node.name),
                },
            )
            eni = inst["network_interfaces"][0]
            node.instance_id, node.interface_id, node.mac = inst["id"], eni["id"], eni["mac"]
        havip = api.create(
            "havips",
            {"subnet_id": subnet["id"], "ip": spec.vip, "name": "lab", "binding_mode": spec.binding_mode},
        )
        self.havip_id = str(havip["id"])
        for node in self.nodes.values():
            if node.role == "member":
                api.associate(self.havip_id, "instance", node.instance_id)
        self._extra_havips(operator, str(subnet["id"]))
        self.scenario.resources(self, operator, self.vpc_id)

    def _extra_havips(self, operator: HavipClient, subnet_id: str) -> None:
        """``spec.extra_havips`` more HaVips bound to the same pair (quotas raised for them)."""
        vips = self.spec.extra_vips()
        if not vips:
            return
        account = json.loads(self.paths.credentials.read_text())["account_id"]
        total = len(vips) + 1
        for quota in ("havips_per_account", "havips_per_vpc", "havips_per_member"):
            operator.set_quota(account, quota, total)
        api = self.api()
        for n, ip in enumerate(vips, 1):
            havip = api.create("havips", {"subnet_id": subnet_id, "ip": ip, "name": f"lab-{n}"})
            for node in self.members():
                api.associate(str(havip["id"]), "instance", node.instance_id)
            self.extra_havip_ids.append(str(havip["id"]))
            if n % 100 == 0 or n == len(vips):
                self.progress(f"resources: {n}/{len(vips)} extra HaVips created and bound to the pair")

    def start_keepalived(self, node: Node, peers: list[str]) -> None:
        inst = self.spec.instance(node.name)
        if node.keepalived is None:
            ka = Keepalived(
                node.name,
                node.namespace,
                self.paths.keepalived_conf(node.name),
                self.paths.keepalived_state(node.name),
                self.paths.root,
            )
            ka.write_notify()
            ka.conf.write_text(
                render(
                    LabKeepalived(
                        src=node.address,
                        peers=peers,
                        vip=self.spec.vip,
                        priority=inst.priority,
                        advert_int=self.spec.advert_int,
                        vrrp_version=self.spec.version,
                        check_interval=self.spec.check_interval,
                        notify=str(ka.notify_script),
                        router_id=f"lab-{node.name}",
                        extra_vips=tuple(self.spec.extra_vips()),
                        # many VIPs: one GARP each per set, no refresh (see LabKeepalived)
                        garp_refresh=0 if self.spec.extra_havips else 5,
                        garp_repeat=1 if self.spec.extra_havips else None,
                    )
                )
            )
            node.keepalived = ka
        node.keepalived.start(self.table)

    def health_ok(self, node: Node) -> bool:
        args = netns.exec_args(node.namespace, "curl", "-sf", "-m", "1", "http://127.0.0.1:8080/health")
        return netns.run(args, check=False).returncode == 0

    # ------------------------------------------------------------------ state

    def havip(self) -> dict[str, Any]:
        return self.api().get("havips", self.havip_id)

    def node_by_instance(self, instance_id: str | None) -> Node | None:
        return next((n for n in self.nodes.values() if n.instance_id == instance_id), None)

    def holder(self) -> str | None:
        holder = self.havip().get("holder")
        node = self.node_by_instance(holder.get("instance_id")) if holder else None
        return node.name if node else None

    def status(self) -> dict[str, Any]:
        havip = self.havip()
        holder = havip.get("holder")
        node = self.node_by_instance(holder.get("instance_id")) if holder else None
        events = self.api().havip_events(self.havip_id, limit=20)
        names = {n.instance_id: n.name for n in self.nodes.values()}
        return {
            "lab": self.spec.name,
            "vip": self.spec.vip,
            "havip_id": self.havip_id,
            "binding_mode": self.spec.binding_mode,
            "holder": node.name if node else None,
            "holder_since": holder.get("since") if holder else None,
            "vrrp_version": self.spec.version,
            "advert_int": self.spec.advert_int,
            "host_namespace": self.host_ns,
            "hosts": [
                {"name": host_name(k), "namespace": host_namespace(self.spec.name, k)}
                | ({"underlay": self.spec.underlay(k)} if self.spec.hosts > 1 else {})
                for k in range(1, self.spec.hosts + 1)
            ],
            "server": self.api_url,
            "scenario": self.spec.scenario,
            **self.scenario.status(self),
            "instances": [
                {
                    "name": n.name,
                    "role": n.role,
                    "address": n.address,
                    "namespace": n.namespace,
                    "host": host_name(n.host),
                    "instance_id": n.instance_id,
                    "keepalived": n.keepalived.state(self.table) if n.keepalived else None,
                }
                for n in self.nodes.values()
            ],
            "events": [
                {
                    "at": e["at"],
                    "kind": e["kind"],
                    "from": names.get(e.get("previous_instance_id") or "", e.get("previous_instance_id")),
                    "to": names.get(e.get("instance_id") or "", e.get("instance_id")),
                    "cause": e.get("cause", ""),
                    "reason": e.get("reason", ""),
                    "latency_us": e.get("latency_us"),
                }
                for e in events
            ],
        }

    # --------------------------------------------------------------- teardown

    def teardown(self, keep_logs: bool = False) -> None:
        for node in self.nodes.values():
            if node.keepalived is not None:
                try:
                    node.keepalived.stop(self.table)
                except Exception:
                    log.exception("stopping keepalived in %s", node.name)
        self.table.stop_all()
        for ns in netns.list_namespaces():
            if ns.startswith(namespace_prefix(self.spec.name)):
                netns.delete(ns)
        self.table.close()
        if not keep_logs:
            shutil.rmtree(self.paths.root, ignore_errors=True)
