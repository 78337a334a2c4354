"""One small command object per kernel operation, in the spirit of ovsdbapp.

``plan`` returns a list of these; ``havip.agent.dataplane`` executes them one by one.
Every action is idempotent when executed (create-or-adopt, replace, delete-if-present),
so a partially applied plan is simply planned again. Pure values, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from havip.agent.observed import Encap


@dataclass(frozen=True)
class SetHostSysctls:
    """ip_forward=1; all/default rp_filter=0 and send_redirects=0 (see research/rlab.md)."""


@dataclass(frozen=True)
class CreateSink:
    """An IFB device, up, aliased ``havip:sink:<vpc>``: the target of a VPC's catch-all."""

    vpc_id: str
    name: str


@dataclass(frozen=True)
class CreateVeth:
    """A veth pair for an interface that has no device yet; the peer is left for the instance."""

    name: str
    peer: str


@dataclass(frozen=True)
class ConfigurePort:
    """Adopt a device as a port: alias, gateway MAC, proxy ARP, sysctls, up."""

    device: str
    alias: str
    gateway_mac: str


@dataclass(frozen=True)
class ReleasePort:
    """Forget an adopted device (clear its alias); the device itself is not ours."""

    device: str


@dataclass(frozen=True)
class DeleteLink:
    """Delete a device the agent created (a sink or a veth)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class CreateTunnel:
    """The host's VXLAN-GPE device in collect_md mode (``type vxlan gpe external dstport
    PORT``), aliased ``havip:tunnel``, with ``mtu``, up; kept when it is already so.
    A device of that name with another UDP port is recreated. Also sets the host's
    net.ipv4.fwmark_reflect=1 (see ``marks.RULE_PREF_TUNNEL_REPLY``)."""

    name: str
    port: int
    mtu: int


@dataclass(frozen=True)
class ConfigureUplink:
    """rp_filter=0 and forwarding=1 on the uplink; its address and links stay as they are."""

    device: str


@dataclass(frozen=True)
class AddRule:
    priority: int
    iif: str | None
    table: int | None  # None: unreachable
    fwmark: int | None = None
    fwmask: int | None = None
    suppress_prefixlength: int | None = None
    tun_id: int | None = None


@dataclass(frozen=True)
class DeleteRule:
    priority: int
    iif: str | None
    table: int | None
    fwmark: int | None = None
    fwmask: int | None = None
    suppress_prefixlength: int | None = None
    tun_id: int | None = None


@dataclass(frozen=True)
class ReplaceRoute:
    """``dst dev device`` (scope link), or ``dst via gateway dev device onlink``, or
    ``dst encap ip id VNI dst UNDERLAY dev <tunnel>`` (``encap``: into the tunnel)."""

    table: int
    dst: str
    device: str
    gateway: str | None = None
    encap: Encap | None = None


@dataclass(frozen=True)
class DeleteRoute:
    table: int
    dst: str


@dataclass(frozen=True)
class ReplaceNeigh:
    device: str
    ip: str
    mac: str


@dataclass(frozen=True)
class DeleteNeigh:
    device: str
    ip: str


@dataclass(frozen=True)
class ApplyNftTable:
    """Replace one nftables table atomically with ``nft -f`` (``text`` defines it whole)."""

    family: str
    name: str
    digest: str
    text: str

    def __repr__(self) -> str:  # the text can be megabytes; keep logs readable
        return f"ApplyNftTable(family={self.family!r}, name={self.name!r}, digest={self.digest[:12]!r})"


@dataclass(frozen=True)
class DeleteNftTable:
    family: str
    name: str


Action = (
    SetHostSysctls
    | CreateSink
    | CreateVeth
    | ConfigurePort
    | ReleasePort
    | DeleteLink
    | CreateTunnel
    | ConfigureUplink
    | AddRule
    | DeleteRule
    | ReplaceRoute
    | DeleteRoute
    | ReplaceNeigh
    | DeleteNeigh
    | ApplyNftTable
    | DeleteNftTable
)
