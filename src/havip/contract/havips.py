"""Wire schemas of HaVips, their members, their holder and their history."""

from __future__ import annotations

from pydantic import BaseModel, Field

from havip.contract.common import Request, Resource, UtcDatetime
from havip.domain.model import AgentState, BindingMode, EventKind, HaVipStatus, MemberType


class HaVipCreate(Request):
    subnet_id: str
    ip: str | None = None
    name: str = ""
    description: str = ""
    binding_mode: BindingMode = BindingMode.EXPLICIT
    client_token: str | None = None


class HaVipUpdate(Request):
    name: str | None = None
    description: str | None = None
    binding_mode: BindingMode | None = None


class MemberAdd(Request):
    member_type: MemberType
    member_id: str


class Holder(BaseModel):
    """The interface that announced the HaVip last and was allowed to."""

    interface_id: str | None
    instance_id: str | None
    host_id: str | None
    since: UtcDatetime | None
    epoch: int = Field(0, description="the claim epoch it holds by: a claim must carry a higher one to move it")
    host_agent: AgentState = Field(
        AgentState.UP,
        description=(
            "the holder's host's agent as the control plane sees it now: 'up' (within its lease), "
            "'down' (its lease ran out: the host may be lost, and the VIP with it, until another member "
            "announces it), 'never-seen'"
        ),
    )
    healthy: bool = Field(
        True, description="the holder's host's agent is up; false: the holder may be gone (see host_agent)"
    )


class Member(Resource):
    member_type: MemberType
    member_id: str
    created_at: UtcDatetime


class HaVipEip(Resource):
    id: str
    ip: str


class HaVip(Resource):
    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    ip: str
    name: str
    description: str
    binding_mode: BindingMode
    status: HaVipStatus
    member_type: MemberType | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    holder: Holder | None
    members: list[Member]
    eips: list[HaVipEip]
    route_entry_ids: list[str]


class Event(Resource):
    id: str
    havip_id: str
    account_id: str
    kind: EventKind
    at: UtcDatetime
    previous_interface_id: str | None
    previous_instance_id: str | None
    interface_id: str | None
    instance_id: str | None
    host_id: str | None
    cause: str = Field(description='what showed the change, e.g. "garp-request", "probe-answer", "api"')
    reason: str = Field(description="for refused claims: why")
    latency_us: int | None
    detail: dict[str, str]
    count: int = Field(
        description="how many occurrences this entry stands for: repeated refusals of one interface for one reason "
        "merge into one entry (docs/events.md); 1 for every other kind"
    )
    first_seen: UtcDatetime = Field(description="the first occurrence (the same as at)")
    last_seen: UtcDatetime = Field(description="the latest occurrence merged into this entry")
