"""What a lab is made of: its settings, its names and where its files live.

Pure values: the supervisor builds from a ``LabSpec``, the CLI and ``down`` find a lab
(also a crashed one) by the names derived here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

NAME_RE = re.compile(r"^[a-z0-9]{1,16}$")  # no '-': lab a's namespace prefix would match lab a-b's
DEFAULT_NAME = "lab"
STATE_ROOT_ENV = "HAVIP_LAB_DIR"
# basic: the product page's pair and a client; eip: + an EIP on the HaVip and an internet
# namespace behind the host's uplink; gateway: + a remote network the pair routes for the VPC
SCENARIOS = ("basic", "eip", "gateway")
MAX_HOSTS = 10
UNDERLAY_CIDR = "10.255.0.0/24"  # the underlay bridge's network (inside the lab's own namespaces)


@dataclass(frozen=True)
class LabInstance:
    name: str
    address: str
    role: str  # "member" | "client"
    priority: int = 0
    host: int = 1  # which of the lab's hosts it is placed on (1-based)


@dataclass(frozen=True)
class LabSpec:
    """The product page's scenario by default (seeds/tencent-havip.md)."""

    name: str = DEFAULT_NAME
    vpc_cidr: str = "172.17.0.0/16"
    subnet_cidr: str = "172.17.16.0/24"
    vip: str = "172.17.16.3"
    instances: tuple[LabInstance, ...] = (
        LabInstance("i1", "172.17.16.7", "member", 100),
        LabInstance("i2", "172.17.16.13", "member", 80),
        LabInstance("client", "172.17.16.20", "client"),
    )
    binding_mode: str = "explicit"
    advert_int: float = 1.0  # the product page's
    vrrp_version: int = 0  # 0: 2 for whole seconds, 3 for sub-second advert_int
    check_interval: float = 1.0
    probe_interval_ms: float = 10.0
    extra: dict[str, str] = field(default_factory=dict)
    scenario: str = "basic"
    extra_havips: int = 0  # more HaVips on the same pair and instance (a mass failover)
    hosts: int = 1  # hypervisors: host namespaces joined by an underlay bridge (see ``placed``)
    db_url: str = ""  # the control plane's database ("": a SQLite file in the lab's directory)

    def __post_init__(self) -> None:
        if not 1 <= self.hosts <= MAX_HOSTS:
            raise ValueError(f"a lab has 1 to {MAX_HOSTS} hosts, not {self.hosts}")

    def placed(self) -> LabSpec:
        """The spec with its instances spread over the hosts: i1 on host 1, i2 on host 2, the
        client on host 3 (on host 1 with two hosts), and on every further host a bystander
        (an instance that only makes the host one of the VPC's: a port, no service)."""
        if self.hosts == 1 or any(i.host != 1 for i in self.instances):
            return self
        where = {"i1": 1, "i2": min(2, self.hosts), "client": 3 if self.hosts >= 3 else 1}
        spread = [replace(i, host=where.get(i.name, 1)) for i in self.instances]
        net = ipaddress.IPv4Network(self.subnet_cidr)
        for k in range(4, self.hosts + 1):
            spread.append(LabInstance(f"b{k}", str(net.network_address + 100 + k), "bystander", host=k))
        return replace(self, instances=tuple(spread))

    def host_names(self) -> list[str]:
        return [host_name(k) for k in range(1, self.hosts + 1)]

    def underlay(self, k: int) -> str:
        return str(ipaddress.IPv4Network(UNDERLAY_CIDR).network_address + k)

    @property
    def version(self) -> int:
        if self.vrrp_version:
            return self.vrrp_version
        return 2 if self.advert_int == int(self.advert_int) else 3

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LabSpec:
        raw = json.loads(text)
        raw["instances"] = tuple(LabInstance(**i) for i in raw["instances"])
        return cls(**raw)

    def extra_vips(self) -> list[str]:
        """The extra HaVips' addresses: the subnet's upper half, in order, skipping the
        addresses the lab already uses and the ones the cloud reserves (the last three)."""
        if not self.extra_havips:
            return []
        net = ipaddress.IPv4Network(self.subnet_cidr)
        used = {self.vip, *(i.address for i in self.instances)}
        start = int(net.network_address) + net.num_addresses // 2
        last = int(net.broadcast_address) - 4  # .. -3, -2, -1 reserved, and the broadcast
        pool = (str(ipaddress.IPv4Address(a)) for a in range(start, last + 1))
        vips = [a for a in pool if a not in used][: self.extra_havips]
        if len(vips) < self.extra_havips:
            raise ValueError(
                f"subnet {self.subnet_cidr} has room for {len(vips)} extra HaVips in its upper half, "
                f"not {self.extra_havips}: choose a larger subnet"
            )
        return vips

    def members(self) -> list[LabInstance]:
        return [i for i in self.instances if i.role == "member"]

    def instance(self, name: str) -> LabInstance:
        return next(i for i in self.instances if i.name == name)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(f"lab name {name!r} must be 1-16 characters of a-z and 0-9")
    return name


def check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r} is not one of {', '.join(SCENARIOS)}")
    return scenario


def namespace_prefix(lab: str) -> str:
    return f"havip-{lab}-"


def host_namespace(lab: str, k: int = 1) -> str:
    """Host ``k``'s namespace: host 1 keeps the one-host lab's name."""
    return f"havip-{lab}-host" if k == 1 else f"havip-{lab}-host{k}"


def host_name(k: int) -> str:
    """Host ``k``'s name in the control plane."""
    return "lab-host" if k == 1 else f"lab-host{k}"


def underlay_namespace(lab: str) -> str:
    return f"havip-{lab}-underlay"


def underlay_device(k: int) -> str:
    """Host ``k``'s port on the underlay bridge (in the underlay's namespace)."""
    return f"ul-host{k}"


UNDERLAY_BRIDGE = "ul"
UNDERLAY_NIC = "ul0"  # each host's underlay interface


def instance_namespace(lab: str, instance: str) -> str:
    return f"havip-{lab}-{instance}"


def port_device(instance: str) -> str:
    return f"p-{instance}"[:15]


def state_root() -> Path:
    return Path(os.environ.get(STATE_ROOT_ENV, "/run/havip/lab"))


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @classmethod
    def of(cls, lab: str) -> LabPaths:
        return cls(state_root() / lab)

    @property
    def socket(self) -> Path:
        return self.root / "supervisor.sock"

    @property
    def progress(self) -> Path:
        return self.root / "progress.log"

    @property
    def record(self) -> Path:
        return self.root / "lab.json"

    @property
    def api_socket(self) -> Path:
        return self.root / "api.sock"

    @property
    def credentials(self) -> Path:
        """The lab's operator and tenant keys, as ``havip serve`` writes them (credentials.json)."""
        return self.root / "credentials.json"

    @property
    def probe_log(self) -> Path:
        return self.root / "probe.log"

    def path_probe_log(self, path: str) -> Path:
        """A scenario's second probe (``eip``: the internet client to the EIP; ``route``:
        the client through the gateways)."""
        return self.root / f"probe-{path}.log"

    def connection_log(self, name: str) -> Path:
        return self.root / f"connection-{name}.log"

    def keepalived_state(self, instance: str) -> Path:
        return self.root / f"{instance}.vrrp-state"

    def keepalived_conf(self, instance: str) -> Path:
        return self.root / f"keepalived-{instance}.conf"
