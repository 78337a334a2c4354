"""What a lab is made of: its settings, its names and where its files live.

Pure values: the supervisor builds from a ``LabSpec``, the CLI and ``down`` find a lab
(also a crashed one) by the names derived here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

NAME_RE = re.compile(r"^[a-z0-9]{1,16}$")  # no '-': lab a's namespace prefix would match lab a-b's
DEFAULT_NAME = "lab"
STATE_ROOT_ENV = "HAVIP_LAB_DIR"
# basic: the product page's pair and a client; eip: + an EIP on the HaVip and an internet
# namespace behind the host's uplink; gateway: + a remote network the pair routes for the VPC
SCENARIOS = ("basic", "eip", "gateway")


@dataclass(frozen=True)
class LabInstance:
    name: str
    address: str
    role: str  # "member" | "client"
    priority: int = 0


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


def host_namespace(lab: str) -> str:
    return f"havip-{lab}-host"


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
