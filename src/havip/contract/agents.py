"""Wire schemas between the control plane and a host's agent: desired state and reports."""

from __future__ import annotations

from pydantic import BaseModel, Field

from havip.contract.common import Request, Resource, UtcDatetime
from havip.domain import desired
from havip.domain.claims import Outcome, ReportKind
from havip.domain.limits import REPORT_BATCH_MAX


class DesiredInterface(Resource):
    id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None
    mac: str
    device: str | None
    addresses: list[str]


class DesiredSubnet(Resource):
    id: str
    vpc_id: str
    cidr: str
    gateway: str


class DesiredHaVip(Resource):
    id: str
    vpc_id: str
    subnet_id: str
    ip: str
    binding_mode: str
    claimants: list[str] = Field(description="interfaces on this host that may claim the HaVip")
    holder_interface_id: str | None
    holder_host: str | None = Field(description="host name of the holder; null when unheld")
    eips: list[str]
    epoch: int = Field(0, description="the holder's claim epoch: a claim must carry a higher one to move it")


class DesiredRoute(Resource):
    id: str
    vpc_id: str
    destination: str
    next_hop_type: str
    next_hop_id: str
    next_hop_interface_id: str | None = Field(
        None, description="instance and ENI next hops: the interface (an instance's primary); null for a HaVip"
    )
    next_hop_ip: str | None = Field(None, description="the next hop's address: the interface's primary or the VIP")


class DesiredEip(Resource):
    id: str
    ip: str
    vpc_id: str
    private_ip: str = Field(description="the address it is translated to: the VIP, or the interface's primary")
    havip_id: str | None
    network_interface_id: str | None


class DesiredPeer(Resource):
    host: str = Field(description="the other host's name")
    underlay: str = Field(description="its underlay address: the tunnel's and the claim messages' destination")


class DesiredRemoteInterface(Resource):
    id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None
    host: str = Field(description="the host it is placed on (one of peers)")
    addresses: list[str]
    claimable: list[str] = Field(default_factory=list, description="ids of the HaVips it may claim")


class DesiredState(Resource):
    revision: int = Field(description="the store's revision; pass it back as since_revision to wait for a change")
    host: str
    vpcs: dict[str, str] = Field(description="VPC id -> CIDR block")
    subnets: list[DesiredSubnet]
    interfaces: list[DesiredInterface]
    havips: list[DesiredHaVip]
    routes: list[DesiredRoute]
    eips: list[DesiredEip] = Field(
        default_factory=list, description="EIPs of the host's HaVips and of its interfaces, to translate on the uplink"
    )
    underlay: str | None = Field(None, description="this host's underlay address; null: no tunnel (one host)")
    vnis: dict[str, int] = Field(default_factory=dict, description="VPC id -> VXLAN network identifier")
    peers: list[DesiredPeer] = Field(default_factory=list, description="hosts with an underlay that share a VPC")
    remote_interfaces: list[DesiredRemoteInterface] = Field(
        default_factory=list, description="interfaces of the host's VPCs placed on peers: routed into the tunnel"
    )

    def to_domain(self) -> desired.DesiredState:
        """The one model of the desired state (``havip.domain.desired``): what the agent works on."""
        return desired.DesiredState(
            revision=self.revision,
            host=self.host,
            vpcs=dict(self.vpcs),
            subnets=[desired.DesiredSubnet(s.id, s.vpc_id, s.cidr, s.gateway) for s in self.subnets],
            interfaces=[desired.DesiredInterface(**i.model_dump()) for i in self.interfaces],
            havips=[desired.DesiredHaVip(**h.model_dump()) for h in self.havips],
            routes=[desired.DesiredRoute(**r.model_dump()) for r in self.routes],
            eips=[desired.DesiredEip(**e.model_dump()) for e in self.eips],
            underlay=self.underlay,
            vnis=dict(self.vnis),
            peers=[desired.DesiredPeer(**p.model_dump()) for p in self.peers],
            remote_interfaces=[desired.DesiredRemoteInterface(**r.model_dump()) for r in self.remote_interfaces],
        )


class Report(Request):
    """What a host's agent saw about one HaVip on one of its interfaces."""

    havip_id: str
    interface_id: str
    kind: ReportKind
    at: UtcDatetime
    cause: str = ""
    latency_us: int | None = None
    others: list[str] = Field(default_factory=list, description="split brain: the other interfaces")
    epoch: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="the claim's epoch (the highest the agent had seen + 1); claims of a HaVip are ordered by it",
    )


class ReportResult(BaseModel):
    outcome: Outcome


class ReportBatch(Request):
    """Several reports, applied in order in one transaction."""

    reports: list[Report] = Field(min_length=1, max_length=REPORT_BATCH_MAX)


class ReportRefusal(BaseModel):
    code: str = Field(description="the stable code the same report alone would have been refused with")
    message: str


class ReportBatchItem(BaseModel):
    """What became of one report of a batch: its outcome, or why it was refused."""

    outcome: Outcome | None = None
    error: ReportRefusal | None = None


class ReportBatchResult(BaseModel):
    results: list[ReportBatchItem] = Field(description="one per report, in order")


__all__ = [
    "DesiredEip",
    "DesiredHaVip",
    "DesiredInterface",
    "DesiredRoute",
    "DesiredState",
    "DesiredSubnet",
    "Outcome",
    "Report",
    "ReportBatch",
    "ReportBatchItem",
    "ReportBatchResult",
    "ReportKind",
    "ReportRefusal",
    "ReportResult",
]
