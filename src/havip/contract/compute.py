"""Wire schemas of hosts, instances and network interfaces (ENIs)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from havip.contract.accounts import IssuedKey
from havip.contract.common import Request, Resource, UtcDatetime


class HostCreate(Request):
    name: str
    region: str | None = None
    description: str = ""
    underlay: str | None = Field(
        default=None, description="its unicast IPv4 address on the underlay network (unique); none: one host"
    )


class HostUpdate(Request):
    description: str | None = None
    underlay: str | None = Field(default=None, description='the new underlay address; "" removes it')


class HostAgent(BaseModel):
    """The host's agent as the control plane last heard from it."""

    state: str = Field(description="up (seen within its lease), down (silent past it) or never-seen")
    last_seen_at: UtcDatetime | None = Field(description="its last long poll")
    version: str | None = Field(description="the havip version it runs")
    applied_revision: int | None = Field(description="the revision of the desired state it applied last")
    in_sync: bool = Field(description="up, and it applied the newest revision")


class Host(Resource):
    id: str
    name: str
    region: str
    description: str
    created_at: UtcDatetime
    underlay: str | None = Field(default=None, description="its IPv4 address on the underlay network; none: one host")
    agent: HostAgent | None = None


class HostCreated(BaseModel):
    host: Host
    agent_key: IssuedKey


class NetworkInterfaceCreate(Request):
    subnet_id: str
    primary_ip: str | None = None
    secondary_ips: list[str] | None = None
    mac: str | None = None
    instance_id: str | None = None
    host: str | None = Field(default=None, description="host id or name the interface is placed on")
    device: str | None = Field(default=None, description="host-side device name (veth or tap)")
    name: str = ""
    description: str = ""
    client_token: str | None = None


class NetworkInterfaceUpdate(Request):
    name: str | None = None
    description: str | None = None
    host: str | None = Field(default=None, description='host id or name; "" removes the placement')
    device: str | None = Field(default=None, description='device name; "" clears it')
    secondary_ips: list[str] | None = Field(default=None, description="the full new list of secondary addresses")


class NetworkInterface(Resource):
    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    primary_ip: str
    mac: str
    secondary_ips: list[str]
    addresses: list[str] = Field(description="the primary address, then the secondary ones")
    instance_id: str | None
    primary: bool = Field(description="the instance's primary interface, deleted with it")
    host_id: str | None
    device: str | None
    name: str
    description: str
    created_at: UtcDatetime


class InstanceCreate(Request):
    subnet_id: str
    primary_ip: str | None = None
    mac: str | None = None
    host: str | None = Field(default=None, description="host id or name of the primary interface")
    device: str | None = None
    name: str = ""
    client_token: str | None = None


class InstanceUpdate(Request):
    name: str | None = None


class Instance(Resource):
    id: str
    account_id: str
    region: str
    vpc_id: str
    subnet_id: str
    name: str
    status: str
    created_at: UtcDatetime
    network_interfaces: list[NetworkInterface]
