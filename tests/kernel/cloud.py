"""The real control plane for the kernel tier, and an agent running against it.

``Cloud`` migrates a SQLite store in a temporary directory, bootstraps it, serves the
real API under uvicorn on 127.0.0.1 (ephemeral port, a thread) and drives it over HTTP
with the operator and tenant keys. ``AgentPair`` builds the usual keepalived pair in a
``Lab``: a VPC with one subnet, instances i1 and i2 (members of a HaVip), i3 (not a
member) and a client c, each placed on the lab's host with its device name, and runs
``havip.agent.runtime.Agent`` against the API inside the lab's host namespace.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
import uvicorn

from havip.agent.control import HttpControlPlane
from havip.agent.dataplane import Dataplane, kernel_for
from havip.agent.runtime import Agent
from havip.agent.settings import AgentSettings, DiscoverySettings, FollowSettings, ReportSettings, UplinkSettings
from havip.api import create_app
from havip.client import HavipClient
from havip.service.accounts import bootstrap
from havip.service.context import Settings
from havip.store import Store

from .netlab import EIP_POOL, UPLINK, UPLINK_GATEWAY, Instance, Lab, sh, wait_until

SUBNET = "10.0.1.0/24"
VIP = "10.0.1.100"
VIP2 = "10.0.1.101"

FAST = AgentSettings(
    follow=FollowSettings(long_poll_wait=1.0, resync_interval=5.0, backoff=(0.05, 0.1, 0.2)),
    reports=ReportSettings(backoff=(0.05, 0.1, 0.2)),
    discovery=DiscoverySettings(interval=3600.0, answer_window=0.1),
)
FAST_UPLINK = replace(FAST, uplink=UplinkSettings(UPLINK, UPLINK_GATEWAY))


class Cloud:
    def __init__(self, tmp: Path) -> None:
        self.store = Store("sqlite:///" + str(tmp / "cloud.db"))
        self.store.migrate()
        boot = bootstrap(cast(Any, self.store.uow))
        app = create_app(cast(Any, self.store.uow), Settings())
        self.app = app
        self._tmp = tmp
        self._unix: tuple[uvicorn.Server, threading.Thread] | None = None
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started or not self._thread.is_alive(), timeout=10)
        assert self._server.started, "uvicorn did not start"
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        assert boot.operator_token and boot.tenant_token
        self.operator = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {boot.operator_token}"})
        self.tenant = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {boot.tenant_token}"})

    def call(self, who: httpx.Client, method: str, path: str, json: Any = None, status: int | None = None) -> Any:
        resp = who.request(method, path, json=json)
        assert resp.is_success if status is None else resp.status_code == status, f"{method} {path}: {resp.text}"
        return resp.json() if resp.content else None

    def unix_url(self) -> str:
        """The same API on a unix socket, for an agent inside a host namespace (whose 127.0.0.1
        is its own loopback): started on first use."""
        if self._unix is None:
            path = Path(tempfile.mkdtemp(prefix="havip-api-")) / "api.sock"  # short: sun_path holds 108 bytes
            server = uvicorn.Server(uvicorn.Config(self.app, uds=str(path), log_level="warning", lifespan="off"))
            thread = threading.Thread(target=server.run, name="uvicorn-unix", daemon=True)
            thread.start()
            wait_until(lambda: server.started or not thread.is_alive(), timeout=10)
            assert server.started, "uvicorn did not start on the unix socket"
            self._unix = (server, thread)
            self._unix_path = path
        return f"unix://{self._unix_path}"

    def close(self) -> None:
        self.operator.close()
        self.tenant.close()
        if self._unix is not None:
            self._unix[0].should_exit = True
            self._unix[1].join(10)
            shutil.rmtree(self._unix_path.parent, ignore_errors=True)
        self._server.should_exit = True
        self._thread.join(10)
        self.store.dispose()


@dataclass
class AgentPair:
    lab: Lab
    cloud: Cloud
    host: str = ""
    token: str = ""
    vpc: str = ""
    subnet: str = ""
    havip: str = ""
    havip2: str = ""
    eni: dict[str, str] = field(default_factory=dict)  # instance key -> interface id
    instance: dict[str, str] = field(default_factory=dict)  # instance key -> instance id
    agents: list[Agent] = field(default_factory=list)

    def build(self, members: tuple[str, ...] = ("i1", "i2"), extra: tuple[str, ...] = ("i3", "c")) -> AgentPair:
        cloud = self.cloud
        created = cloud.call(cloud.operator, "POST", "/v1/hosts", {"name": self.lab.host})
        self.host, self.token = created["host"]["name"], created["agent_key"]["token"]
        vpc = cloud.call(cloud.tenant, "POST", "/v1/vpcs", {"cidr": "10.0.0.0/16"})
        self.vpc = vpc["id"]
        self.subnet = cloud.call(cloud.tenant, "POST", "/v1/subnets", {"vpc_id": vpc["id"], "cidr": SUBNET})["id"]
        instances = {}
        for n, key in enumerate((*members, *extra), start=11):
            self.add_instance(key, f"10.0.1.{n}", f"52:54:00:00:01:{n:02x}")
            instances[key] = self.last_instance
        self.havip = self.new_havip(VIP, [instances[k] for k in members])
        self.havip2 = self.new_havip(VIP2, [instances[members[0]]])
        return self

    def add_instance(self, key: str, ip: str, mac: str) -> Instance:
        inst = self.lab.add_instance(key, ip, mac)
        body = {"subnet_id": self.subnet, "primary_ip": ip, "mac": mac, "host": self.host, "device": inst.port}
        created = self.cloud.call(self.cloud.tenant, "POST", "/v1/instances", body)
        self.last_instance = created["id"]
        self.instance[key] = created["id"]
        self.eni[key] = created["network_interfaces"][0]["id"]
        return inst

    def new_havip(self, ip: str, members: list[str]) -> str:
        cloud = self.cloud
        havip: str = cloud.call(cloud.tenant, "POST", "/v1/havips", {"subnet_id": self.subnet, "ip": ip})["id"]
        for m in members:
            cloud.call(cloud.tenant, "POST", f"/v1/havips/{havip}/members", {"member_type": "instance", "member_id": m})
        return havip

    # ----------------------------------------------------- EIPs, route entries

    def eip(self, havip: str | None = None, eni: str | None = None) -> dict[str, Any]:
        """An EIP from the lab's pool (created once), associated with a HaVip or an interface."""
        cloud = self.cloud
        if not cloud.call(cloud.operator, "GET", "/v1/eip-pools")["items"]:
            cloud.call(
                cloud.operator, "POST", "/v1/eip-pools", {"cidr": EIP_POOL, "name": "lab", "documentation_range": True}
            )
        eip: dict[str, Any] = cloud.call(cloud.tenant, "POST", "/v1/eips", {})
        target = {"havip_id": havip} if havip else {"network_interface_id": eni}
        return dict(cloud.call(cloud.tenant, "POST", f"/v1/eips/{eip['id']}/associate", target))

    def instance_of(self, key: str) -> str:
        return self.instance[key]

    def unassociate_eip(self, eip_id: str) -> None:
        self.cloud.call(self.cloud.tenant, "POST", f"/v1/eips/{eip_id}/unassociate")

    def route_table(self) -> str:
        tables = self.cloud.call(self.cloud.tenant, "GET", f"/v1/route-tables?vpc_id={self.vpc}")["items"]
        return str(tables[0]["id"])

    def route_entry(self, destination: str, next_hop_type: str, next_hop_id: str) -> str:
        body = {"destination": destination, "next_hop_type": next_hop_type, "next_hop_id": next_hop_id}
        entry = self.cloud.call(self.cloud.tenant, "POST", f"/v1/route-tables/{self.route_table()}/entries", body)
        return str(entry["id"])

    def delete_route_entry(self, entry: str) -> None:
        self.cloud.call(self.cloud.tenant, "DELETE", f"/v1/route-tables/{self.route_table()}/entries/{entry}")

    def service(self, key: str) -> None:
        """The lab's service (UDP and TCP 7000, HTTP 8080) in an instance, answering its key."""
        ns = self.lab.instances[key].ns
        self.lab.spawn(ns, sys.executable, "-m", "havip.lab.service", "--name", key)
        wait_until(lambda: "7000" in sh("ss", "-ltn", ns=ns), timeout=10)

    # ---------------------------------------------------------------- agents

    def start_agent(self, settings: AgentSettings = FAST) -> Agent:
        client = HavipClient(self.cloud.url, self.token, timeout=settings.follow.request_timeout)
        dp = Dataplane(self.lab.host)
        agent = Agent(
            HttpControlPlane(client, self.host), self.host, kernel_for(dp, settings.nft.nflog_group), settings
        )
        self.agents.append(agent)
        agent.start()
        return agent

    def stop_agent(self, agent: Agent) -> None:
        if agent in self.agents:
            self.agents.remove(agent)
            agent.stop()
            agent.kernel.state.close()  # type: ignore[attr-defined]  # the real kernel: a Dataplane

    def close(self) -> None:
        for agent in list(self.agents):
            self.stop_agent(agent)

    # --------------------------------------------------------------- queries

    def havip_view(self, havip: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = self.cloud.call(self.cloud.tenant, "GET", f"/v1/havips/{havip or self.havip}")
        return out

    def holder(self, havip: str | None = None) -> str | None:
        h = self.havip_view(havip)["holder"]
        return None if h is None else str(h["interface_id"])

    def events(self, kind: str, havip: str | None = None) -> list[dict[str, Any]]:
        path = f"/v1/havips/{havip or self.havip}/events?kind={kind}&limit=1000"
        body = self.cloud.call(self.cloud.tenant, "GET", path)
        return list(body["items"] if isinstance(body, dict) else body)

    def route_dev(self, ip: str = VIP) -> str | None:
        return self.routes().get(ip)

    def routes(self) -> dict[str, str]:
        """Destination -> device of every route in the host's tables (one dump)."""
        out = {}
        for line in sh("ip", "route", "show", "table", "all", ns=self.lab.host).splitlines():
            if " dev " in line:
                out[line.split()[0]] = line.split(" dev ")[1].split()[0]
        return out
