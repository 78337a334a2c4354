"""The lab's scenarios beyond the product page's pair: what each adds to a lab.

``basic``: nothing (the pair, the client, the HaVip). ``eip``: the product pages' public
service: an EIP on the HaVip, an internet namespace (``havip-<lab>-inet``, the upstream
router and an internet client at 198.51.100.100) behind the host's ``uplink``, and a
probe from the internet client to the EIP. ``gateway``: the pair routes a remote network
for the VPC, as NAT or VPN gateways do: a route entry 192.168.50.0/24 -> the HaVip, a
remote namespace (``havip-<lab>-remote``, a host at 192.168.50.10) linked to each
member by its own ``eth1``, the members forwarding and masquerading toward it, and a
probe from the client through the gateways (the remote host answers with the name of
the gateway a request came through). Every address here exists only inside the lab's
namespaces. Across hosts (``--hosts N``) the uplink is host 1's, whose agent translates the
EIP; the other hosts' agents run with ``--eip-host`` naming it (``agent_args``), so the
internet's packets for a holder elsewhere cross the tunnel and its answers come back to host 1
(docs/agent.md, "EIPs across hosts"); the remote network is linked to each member directly,
wherever its host is (each gateway has its own way there, as in the clouds), and the client
reaches it through the tunnel towards the holder's host. The builder calls the hooks in build order; ``remove`` takes the EIP or the
route entry away again (tests check that the host forgets it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from havip.client import HavipClient
from havip.lab import netns
from havip.lab.spec import host_name, namespace_prefix

if TYPE_CHECKING:
    from havip.lab.build import LabBuilder

UPLINK = "uplink"
UPLINK_HOST = "198.51.100.254"
UPLINK_GATEWAY = "198.51.100.253"
INTERNET_CLIENT = "198.51.100.100"
EIP_POOL = "198.51.100.0/26"
REMOTE_CIDR = "192.168.50.0/24"
REMOTE_HOST = "192.168.50.10"

GATEWAY_NAT = """\
table ip lab_gateway {
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "eth1" masquerade
\t}
}
"""


def inet_namespace(lab: str) -> str:
    return f"{namespace_prefix(lab)}inet"


def remote_namespace(lab: str) -> str:
    return f"{namespace_prefix(lab)}remote"


def transit(n: int) -> tuple[str, str]:
    """(member side, remote side) of the n-th member's link to the remote network (n >= 1)."""
    return f"100.64.{n}.1", f"100.64.{n}.2"


@dataclass(frozen=True)
class ProbePath:
    """A second probe: from ``namespace`` to ``target`` (UDP 7000), logged as ``probe-<name>.log``."""

    name: str
    namespace: str
    target: str


@dataclass
class Scenario:
    name: str = "basic"
    eip: str = ""
    eip_id: str = ""
    route_entry_id: str = ""
    route_table_id: str = ""
    removed: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ build hooks

    def namespaces(self, b: LabBuilder) -> None:
        if self.name == "eip":
            netns.create(inet_namespace(b.spec.name))
        elif self.name == "gateway":
            netns.create(remote_namespace(b.spec.name))

    def resources(self, b: LabBuilder, operator: HavipClient, vpc_id: str) -> None:
        api = b.api()
        if self.name == "eip":
            b.progress(f"EIP: a pool {EIP_POOL} (operator), an EIP associated with the HaVip")
            operator.create("eip-pools", {"cidr": EIP_POOL, "name": "lab", "documentation_range": True})
            eip = api.create("eips", {"name": "lab"})
            self.eip, self.eip_id = str(eip["ip"]), str(eip["id"])
            api.eip_associate(self.eip_id, havip_id=b.havip_id)
        elif self.name == "gateway":
            b.progress(f"route entry: {REMOTE_CIDR} -> the HaVip (the pair is the VPC's gateway)")
            (table,) = api.list_all("route-tables", {"vpc_id": vpc_id})
            self.route_table_id = str(table["id"])
            body = {"destination": REMOTE_CIDR, "next_hop_type": "havip", "next_hop_id": b.havip_id}
            self.route_entry_id = str(api.create_route_entry(self.route_table_id, body)["id"])

    def wire(self, b: LabBuilder) -> None:
        if self.name == "eip":
            inet = inet_namespace(b.spec.name)
            b.progress(f"internet: {inet} behind the host's {UPLINK} ({UPLINK_HOST}), client {INTERNET_CLIENT}")
            netns.ip("link", "add", UPLINK, "type", "veth", "peer", "name", "eth0", "netns", inet, netns=b.host_ns)
            netns.ip("addr", "add", f"{UPLINK_HOST}/30", "dev", UPLINK, netns=b.host_ns)
            netns.ip("link", "set", UPLINK, "up", netns=b.host_ns)
            netns.ip("addr", "add", f"{UPLINK_GATEWAY}/30", "dev", "eth0", netns=inet)
            netns.ip("link", "set", "eth0", "up", netns=inet)
            netns.ip("addr", "add", f"{INTERNET_CLIENT}/32", "dev", "lo", netns=inet)
            netns.ip("route", "add", EIP_POOL, "via", UPLINK_HOST, "src", INTERNET_CLIENT, netns=inet)
        elif self.name == "gateway":
            remote = remote_namespace(b.spec.name)
            b.progress(f"remote network: {remote} ({REMOTE_HOST}) behind each member's eth1")
            netns.ip("addr", "add", f"{REMOTE_HOST}/32", "dev", "lo", netns=remote)
            for n, node in enumerate(b.members(), start=1):
                mine, theirs = transit(n)
                dev = f"r-{node.name}"[:15]
                netns.ip(
                    "link", "add", dev, "type", "veth", "peer", "name", "eth1", "netns", node.namespace, netns=remote
                )
                netns.ip("addr", "add", f"{theirs}/30", "dev", dev, netns=remote)
                netns.ip("link", "set", dev, "up", netns=remote)
                netns.ip("addr", "add", f"{mine}/30", "dev", "eth1", netns=node.namespace)
                netns.ip("link", "set", "eth1", "up", netns=node.namespace)
                netns.ip("route", "add", REMOTE_CIDR, "via", theirs, "dev", "eth1", netns=node.namespace)
                netns.sysctl(node.namespace, "net.ipv4.ip_forward", "1")
                netns.run(netns.exec_args(node.namespace, "nft", "-f", "-"), stdin=GATEWAY_NAT)

    def agent_args(self, host: int, hosts: int) -> list[str]:
        """The agent of lab host ``host`` (of ``hosts``): in ``eip``, host 1 has the uplink
        and translates the EIP; every other host sends the EIP's traffic to it (``--eip-host``)."""
        if self.name != "eip":
            return []
        if host == 1:
            return ["--uplink", UPLINK, "--uplink-gateway", UPLINK_GATEWAY]
        return ["--eip-host", host_name(1)] if hosts > 1 else []

    def services(self, b: LabBuilder) -> None:
        if self.name == "gateway":
            names = ",".join(f"{transit(n)[0]}={node.name}" for n, node in enumerate(b.members(), start=1))
            b.table.start(
                "service-remote",
                netns.exec_args(
                    remote_namespace(b.spec.name),
                    sys.executable,
                    "-m",
                    "havip.lab.service",
                    "--name",
                    "remote",
                    "--peer-names",
                    names,
                ),
            )

    def paths(self, b: LabBuilder) -> list[ProbePath]:
        if self.name == "eip":
            return [ProbePath("eip", inet_namespace(b.spec.name), self.eip)]
        if self.name == "gateway":
            return [ProbePath("route", b.client().namespace, REMOTE_HOST)]
        return []

    # ------------------------------------------------------------- afterwards

    def status(self, b: LabBuilder) -> dict[str, Any]:
        if self.name == "eip":
            return {
                "eip": self.eip if "eip" not in self.removed else None,
                "internet_client": INTERNET_CLIENT,
                "internet_namespace": inet_namespace(b.spec.name),
                "uplink": UPLINK,
            }
        if self.name == "gateway":
            return {
                "route_entry": None
                if "route" in self.removed
                else {"destination": REMOTE_CIDR, "next_hop_type": "havip", "next_hop_id": b.havip_id},
                "remote_host": REMOTE_HOST,
                "remote_namespace": remote_namespace(b.spec.name),
            }
        return {}

    def remove(self, b: LabBuilder) -> str:
        """Take the scenario's EIP or route entry away (through the API); what was removed."""
        api = b.api()
        if self.name == "eip" and "eip" not in self.removed:
            api.eip_unassociate(self.eip_id)
            self.removed.append("eip")
            return "eip"
        if self.name == "gateway" and "route" not in self.removed:
            api.delete_route_entry(self.route_table_id, self.route_entry_id)
            self.removed.append("route")
            return "route"
        raise ValueError(f"scenario {self.name} has nothing (more) to remove")
