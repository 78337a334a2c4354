"""The resources of a havip cloud as plain dataclasses.

These classes carry state only; the rules that change them live in ``rules``,
``quotas``, ``status`` and ``claims``. The store maps them to tables imperatively
(see ``havip.store.tables``), so they stay free of any persistence concern.
Addresses and CIDRs are kept as strings (the canonical text form) so that a row,
a wire schema and a domain object agree without conversion; helpers in ``rules``
parse them where arithmetic is needed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


def utcnow() -> dt.datetime:
    """The default clock of the domain; the service layer injects its own."""
    return dt.datetime.now(dt.UTC)


class HaVipStatus(enum.StrEnum):
    CREATING = "Creating"
    AVAILABLE = "Available"
    IN_USE = "InUse"
    DELETING = "Deleting"


class BindingMode(enum.StrEnum):
    """Who may claim a HaVip by ARP announcement.

    ``explicit``: only associated members (Alibaba; Tencent with CheckAssociate).
    ``subnet``: any network interface of the HaVip's subnet (Tencent's default).
    """

    EXPLICIT = "explicit"
    SUBNET = "subnet"


class MemberType(enum.StrEnum):
    INSTANCE = "instance"
    NETWORK_INTERFACE = "network_interface"


class NextHopType(enum.StrEnum):
    HAVIP = "havip"
    INSTANCE = "instance"
    NETWORK_INTERFACE = "network_interface"


class EventKind(enum.StrEnum):
    """The kinds of entry in a HaVip's history."""

    HOLDER_CHANGED = "holder_changed"  # a claim moved the VIP to a new holder
    HOLDER_CLEARED = "holder_cleared"  # the holder was removed (forced unassociate)
    CLAIM_REFUSED = "claim_refused"  # an interface that may not claim announced the VIP
    SPLIT_BRAIN = "split_brain"  # two interfaces held the VIP at once
    ASSOCIATED = "associated"
    UNASSOCIATED = "unassociated"


class Role(enum.StrEnum):
    OPERATOR = "operator"
    TENANT = "tenant"
    AGENT = "agent"


@dataclass
class Account:
    id: str
    name: str
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class ApiKey:
    """A credential. Only a hash of the secret is kept."""

    id: str
    role: Role
    secret_hash: str
    account_id: str | None = None  # tenant keys
    host_id: str | None = None  # agent keys
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class AccessKey:
    """A cloud-API credential of one account: an AccessKey ID and its secret.

    The Alibaba and Tencent facades verify HMAC signatures made with the secret, so
    the secret itself is kept, not a hash of it (docs/adr/0003-access-key-secrets.md).
    It is shown once when issued and never listed.
    """

    id: str
    account_id: str
    secret: str
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class QuotaOverride:
    """An operator's raise (or cut) of one quota for one account."""

    id: str
    account_id: str
    name: str
    value: int


@dataclass
class Host:
    """A hypervisor (a network namespace in tests and in the lab) running one agent.

    ``agent_*`` and ``applied_revision`` are what its agent said on its last long poll
    (a heartbeat, never a change of the desired state: it bumps no revision). ``revision``
    is its desired state's: every write that changes it sets it to a new global revision, so
    it only grows and the agent watches its own host's. A host with
    an ``underlay`` address reaches the other such hosts of its VPCs over a tunnel; a host
    without one keeps every address of its VPCs it does not hold itself in the sink."""

    id: str
    name: str
    region: str
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    agent_seen_at: dt.datetime | None = None
    agent_version: str | None = None
    applied_revision: int | None = None
    underlay: str | None = None  # its IPv4 address on the underlay network (tunnel, claim messages); None: one host
    revision: int = 0  # of its desired state: the global revision of the last write that changed it


class AgentState(enum.StrEnum):
    """What the control plane knows of a host's agent."""

    UP = "up"  # seen within its lease
    DOWN = "down"  # silent for longer than its lease
    NEVER_SEEN = "never-seen"  # no agent has polled for this host yet


def agent_state(seen_at: dt.datetime | None, now: dt.datetime, lease: float) -> AgentState:
    """An agent is up while its last poll is younger than ``lease`` seconds."""
    if seen_at is None:
        return AgentState.NEVER_SEEN
    return AgentState.UP if (now - seen_at).total_seconds() <= lease else AgentState.DOWN


@dataclass
class Vpc:
    """A VPC. ``vni`` is allocated by the control plane at creation (unique, never
    reused while the VPC exists): the VXLAN network identifier its traffic between
    hosts is carried in."""

    id: str
    account_id: str
    region: str
    cidr: str
    name: str = ""
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)
    vni: int | None = None


@dataclass
class Subnet:
    """A subnet (Alibaba: vSwitch) of a VPC."""

    id: str
    account_id: str
    region: str
    vpc_id: str
    cidr: str
    name: str = ""
    description: str = ""
    zone: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class Instance:
    """A compute instance (ECS/CVM); its primary network interface is created with it."""

    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    name: str = ""
    status: str = "Running"
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class NetworkInterface:
    """An ENI: addresses in one subnet, a MAC, and its placement on a host.

    ``host_id`` and ``device`` say where the agent finds or creates the port: the
    host-side device name of a veth or an existing tap of a VM.
    """

    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    primary_ip: str
    mac: str
    secondary_ips: list[str] = field(default_factory=list)
    instance_id: str | None = None
    primary: bool = False  # the instance's primary interface (deleted with it)
    host_id: str | None = None
    device: str | None = None
    name: str = ""
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def addresses(self) -> list[str]:
        return [self.primary_ip, *self.secondary_ips]


@dataclass
class HaVip:
    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    ip: str
    name: str = ""
    description: str = ""
    binding_mode: BindingMode = BindingMode.EXPLICIT
    status: HaVipStatus = HaVipStatus.AVAILABLE
    member_type: MemberType | None = None  # fixed by the first member, cleared with the last
    holder_interface_id: str | None = None
    holder_instance_id: str | None = None
    holder_host_id: str | None = None
    holder_since: dt.datetime | None = None
    epoch: int = 0  # the holder's claim epoch: claims are ordered by it (highest seen + 1), never by clocks
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class HaVipMember:
    """One association of a HaVip with an instance or a network interface."""

    id: str
    havip_id: str
    member_type: MemberType
    member_id: str
    account_id: str
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class HaVipEvent:
    """One entry of a HaVip's history: holder changes, refused claims, split brains.

    Repeated refusals are one entry with a ``count`` (``havip.domain.history`` says when they
    merge); ``at`` is the first occurrence, the entry's place in the history."""

    id: str
    havip_id: str
    account_id: str
    kind: EventKind
    at: dt.datetime
    previous_interface_id: str | None = None
    previous_instance_id: str | None = None
    interface_id: str | None = None
    instance_id: str | None = None
    host_id: str | None = None
    cause: str = ""  # e.g. "garp-request", "garp-reply", "probe-answer", "api"
    reason: str = ""  # for refused claims: why
    latency_us: int | None = None  # switch latency the data plane measured
    detail: dict[str, str] = field(default_factory=dict)
    count: int = 1  # how many occurrences this entry stands for (> 1: merged refusals, ``domain.history``)
    first_seen: dt.datetime | None = None  # the first occurrence (= ``at``); None on creation means ``at``
    last_seen: dt.datetime | None = None  # the latest occurrence merged into it; None on creation means ``at``

    def __post_init__(self) -> None:
        if self.first_seen is None:
            self.first_seen = self.at
        if self.last_seen is None:
            self.last_seen = self.at


@dataclass
class EipPool:
    """An operator's range of public addresses that EIPs are allocated from."""

    id: str
    region: str
    cidr: str
    name: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class Eip:
    id: str
    account_id: str
    region: str
    pool_id: str
    ip: str
    name: str = ""
    havip_id: str | None = None
    network_interface_id: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def associated(self) -> bool:
        return self.havip_id is not None or self.network_interface_id is not None


@dataclass
class RouteTable:
    """A VPC's route table; the system table is created with the VPC."""

    id: str
    account_id: str
    region: str
    vpc_id: str
    name: str = ""
    system: bool = True
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class RouteEntry:
    id: str
    account_id: str
    region: str
    route_table_id: str
    vpc_id: str
    destination: str
    next_hop_type: NextHopType
    next_hop_id: str
    name: str = ""
    description: str = ""
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class IdempotencyRecord:
    """The first result of a create carrying a client token, returned on retries."""

    id: str
    account_id: str
    token: str
    operation: str
    resource_id: str
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class IpAllocation:
    """One address of a subnet given to one owner (an interface, a HaVip).

    The store keeps (subnet_id, ip) unique, so two owners can never get one address,
    even when requests race.
    """

    id: str
    subnet_id: str
    ip: str
    owner_type: str  # "network_interface" | "havip"
    owner_id: str
