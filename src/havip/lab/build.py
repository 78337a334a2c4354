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
import shutil
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
from havip.lab.spec import LabPaths, LabSpec, host_namespace, instance_namespace, namespace_prefix, port_device
from havip.service.accounts import bootstrap
from havip.store import Store

log = logging.getLogger("havip.lab")

HOST_NAME = "lab-host"
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
        self.scenario = Scenario(self.spec.scenario)

    @property
    def api_url(self) -> str:
        return f"unix://{self.paths.api_socket}"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.paths.root / 'havip.db'}"

    @property
    def host_ns(self) -> str:
        return host_namespace(self.spec.name)

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
        self.progress(f"lab {spec.name}: namespaces")
        netns.create(self.host_ns)
        for inst in spec.instances:
            ns = instance_namespace(spec.name, inst.name)
            netns.create(ns)
            self.nodes[inst.name] = Node(inst.name, inst.role, inst.address, ns)
        self.scenario.namespaces(self)

        self.progress("control plane: havip serve (SQLite) on a unix socket")
        store = Store(self.db_url)
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

        self.progress("instances: veth pairs to the host namespace")
        prefix = ipaddress.IPv4Network(spec.subnet_cidr).prefixlen
        gateway = gateway_address(spec.subnet_cidr)
        for node in self.nodes.values():
            netns.veth(self.host_ns, port_device(node.name), node.namespace, "eth0", node.mac)
            netns.configure_instance(node.namespace, "eth0", node.address, prefix, gateway)
        self.scenario.wire(self)

        self.progress("host agent: havip agent in the host namespace")
        agent_key = self._agent_key
        self.table.start(
            "agent",
            [
                *HAVIP,
                "agent",
                "--server",
                self.api_url,
                "--host",
                HOST_NAME,
                "--netns",
                self.host_ns,
                *self.scenario.agent_args(),
            ],
            env={"HAVIP_AGENT_TOKEN": agent_key},
        )
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

    def start_probe(self, name: str, namespace: str, target: str, out: str) -> None:
        interval = str(self.spec.probe_interval_ms)
        args = ["-m", "havip.lab.probe", "--target", target, "--interval-ms", interval, "--out", out]
        self.table.start(name, netns.exec_args(namespace, sys.executable, *args))

    def path_answered(self, path: ProbePath) -> bool:
        return bool(read_answers(self.paths.path_probe_log(path.name)))

    _agent_key: str = ""
    vpc_id: str = ""

    def _resources(self, operator: HavipClient) -> None:
        spec = self.spec
        self.progress("resources: host, VPC, subnet, instances, HaVip (through the API)")
        created = operator.create("hosts", {"name": HOST_NAME})
        self._agent_key = str(created["agent_key"]["token"])
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
                    "host": HOST_NAME,
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
            "server": self.api_url,
            "scenario": self.spec.scenario,
            **self.scenario.status(self),
            "instances": [
                {
                    "name": n.name,
                    "role": n.role,
                    "address": n.address,
                    "namespace": n.namespace,
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
