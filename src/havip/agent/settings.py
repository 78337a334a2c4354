"""The agent's settings: small grouped dataclasses, each field with its default and why.

Read once at the edge (``havip agent``) and passed down; nothing here reads the
environment or the clock. Tests shrink the timers by building their own instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from havip.domain.limits import LONG_POLL_MAX_WAIT, REPORT_BATCH_MAX


@dataclass(frozen=True)
class FollowSettings:
    """How the agent follows the control plane's desired state."""

    long_poll_wait: float = 30.0
    """Seconds one long poll may wait for a new revision (at most ``domain.limits.LONG_POLL_MAX_WAIT``)."""

    resync_interval: float = 60.0
    """Seconds between two full read-back + plan passes when nothing changed (repairs drift)."""

    backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
    """Delays between attempts while the control plane is unreachable; the last repeats."""

    request_timeout: float = 5.0
    """Seconds an ordinary request (not the long poll's wait) may take."""

    def __post_init__(self) -> None:
        if not 0 < self.long_poll_wait <= LONG_POLL_MAX_WAIT:
            raise ValueError(
                f"long_poll_wait must be in (0, {LONG_POLL_MAX_WAIT:g}] seconds, not {self.long_poll_wait}"
            )


@dataclass(frozen=True)
class ReportSettings:
    """How queued claim reports reach the control plane."""

    backoff: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
    """Delays between delivery attempts of one report; the last repeats until it is delivered."""

    batch_max: int = 256
    """Reports sent in one request (and applied in one transaction); at most
    ``domain.limits.REPORT_BATCH_MAX``, what the control plane accepts."""

    queue_max: int = 10_000
    """Reports kept while the control plane is down. When full, the oldest report that
    switched no route (refused, split brain, held elsewhere) goes first; a claim goes only
    when nothing else is left, and then retires its local claim (never pins a route)."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_max <= REPORT_BATCH_MAX:
            raise ValueError(
                f"batch_max must be 1..{REPORT_BATCH_MAX} (the control plane's limit), not {self.batch_max}"
            )
        if self.queue_max <= self.batch_max:
            raise ValueError(f"queue_max ({self.queue_max}) must exceed batch_max ({self.batch_max})")


@dataclass(frozen=True)
class DiscoverySettings:
    """Holder discovery: ARP requests for every HaVip into its claimants' ports."""

    interval: float = 30.0
    """Seconds between two rounds on the slow timer (rounds also run at start and after a gap)."""

    answer_window: float = 0.15
    """Seconds a round waits for answers before deciding (a veth answers in microseconds)."""

    claim_shield: float = 2.0
    """Seconds after an unsolicited claim during which no probe answer may move that VIP."""


@dataclass(frozen=True)
class NftLimits:
    """Rate limits applied in nftables before anything reaches user space."""

    havip_arp_rate: int = 10
    """ARP per second per (port, HaVip) once the burst is used up (keepalived refreshes every 5 s)."""

    havip_arp_burst: int = 25
    """Packets a (port, HaVip) may send at once: keepalived's 5 + 5 GARPs of a failover fit twice."""

    reply_rate: int = 20
    """Other ARP replies per second per port (the host never ARPs instances, so these are rare)."""

    reply_burst: int = 50
    """Burst of other ARP replies per port."""

    request_rate: int = 50
    """ARP requests per second per port for anything but a HaVip (a guest resolving its peers sends few)."""

    request_burst: int = 100
    """Burst of such ARP requests per port."""

    refused_log_rate: int = 5
    """Refused claims logged to the agent per second per port (all are dropped and counted)."""

    refused_log_burst: int = 10
    """Burst of refused claims logged per port."""

    nflog_group: int = 7
    """NFLOG group the refused claims are logged to (queue threshold 1: no batching delay)."""


@dataclass(frozen=True)
class UplinkSettings:
    """The host's way to the internet, for EIPs (``havip agent --uplink DEV --uplink-gateway IP``)."""

    device: str | None = None
    """A device of the host namespace, addressed and linked by whoever runs the host; the
    upstream routes the EIP pools to the host's address on it. None: no EIPs here."""

    gateway: str | None = None
    """The upstream router's address on that device: where traffic from an EIP leaves."""

    @property
    def configured(self) -> bool:
        return bool(self.device and self.gateway)


@dataclass(frozen=True)
class TunnelSettings:
    """The VXLAN-GPE tunnel between hosts (used only when the host has an underlay address)."""

    mtu: int = 1464
    """MTU of the tunnel device: the underlay's MTU minus 36 (outer IPv4 20, UDP 8, GPE 8).
    A packet forwarded into the tunnel that is bigger and has DF set gets ICMP
    fragmentation-needed back; set the instances' MTU to it, or raise the underlay's MTU
    to this + 36 (docs/agent.md)."""

    port: int = 4790
    """UDP port of VXLAN-GPE (IANA's), on every host alike: a route cannot choose it."""

    eip_host: str | None = None
    """The peer (host name) that translates the EIPs of this host's VPCs: a host whose agent
    runs with ``--uplink`` (``havip agent --eip-host NAME``). With it, a VIP or address held
    here that has an EIP gets the internet's traffic from that host through the tunnel, and
    its replies (any destination outside the VPC) go back to it, where conntrack un-NATs
    them. None: EIPs are translated only where their address lives (one host)."""

    def __post_init__(self) -> None:
        if not 576 <= self.mtu <= 65_535 - 36:
            raise ValueError(f"tunnel mtu must be 576..{65_535 - 36}, not {self.mtu}")
        if not 1 <= self.port <= 65_535:
            raise ValueError(f"tunnel port must be 1..65535, not {self.port}")


@dataclass(frozen=True)
class LoopPolicy:
    """How the loop runner (``havip.agent.loops``) treats one loop's failures."""

    backoff: tuple[float, ...] = (0.05, 0.2, 1.0, 5.0)
    """Pauses after 1, 2, ... failures in a row (an exception out of one step); the last repeats."""

    give_up_after: int | None = None
    """Failures in a row after which the agent stops and exits non-zero (None: never give up)."""

    def delay(self, failures: int) -> float:
        """The pause after the ``failures``-th failure in a row (1-based)."""
        return self.backoff[min(max(failures, 1), len(self.backoff)) - 1]


@dataclass(frozen=True)
class LoopSettings:
    claims: LoopPolicy = LoopPolicy((0.05, 0.1, 0.5, 1.0), give_up_after=60)
    """The claim path: short pauses (claims must flow again at once); a minute of failures
    (a socket that broke for good) restarts the agent."""

    reporter: LoopPolicy = LoopPolicy((0.1, 0.5, 2.0, 5.0))
    """The reporter's own failures (not the control plane's: those are retried inside)."""

    follow: LoopPolicy = LoopPolicy((0.2, 1.0, 5.0))
    """Following and reconciling (a desired state that does not validate, a bug)."""

    flows: LoopPolicy = LoopPolicy((0.05, 0.5, 2.0))
    """Flow resets."""


@dataclass(frozen=True)
class AgentSettings:
    follow: FollowSettings = field(default_factory=FollowSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    nft: NftLimits = field(default_factory=NftLimits)
    uplink: UplinkSettings = field(default_factory=UplinkSettings)
    tunnel: TunnelSettings = field(default_factory=TunnelSettings)
    loops: LoopSettings = field(default_factory=LoopSettings)
    counters_interval: float = 5.0
    """Seconds between two reads of the nftables drop counters into the metrics."""
    state_dir: str | None = None
    """Where the agent keeps its claim journal (``havip.agent.journal``): the claims it switched
    and has not yet seen delivered, so a restarted agent reports them instead of losing them.
    None: no journal (a crash then loses the reports of claims not yet delivered)."""
