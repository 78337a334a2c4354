"""Table definitions and the imperative mapping of the domain's dataclasses onto them.

The domain classes stay plain (cosmicpython's "classical mapping"): ``start_mappers``
instruments them once, when a ``Store`` is first opened, never at import time.
Uniqueness that must hold under races is declared here, so the database itself is
the last line of defence behind the service layer's write lock.
"""

from __future__ import annotations

import threading

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import registry

from havip.domain import model as m
from havip.store.types import StrEnumType, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 40


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


def _ref(name: str, *, nullable: bool = False, index: bool = True) -> Column[str]:
    return Column(name, String(ID), nullable=nullable, index=index)


def _created() -> Column[object]:
    return Column("created_at", UtcDateTime(), nullable=False)


accounts = Table("accounts", metadata, _id(), Column("name", String(128), nullable=False, unique=True), _created())

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("role", StrEnumType(m.Role), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    _ref("account_id", nullable=True),
    _ref("host_id", nullable=True),
    Column("description", String(256), nullable=False, default=""),
    _created(),
)

access_keys = Table(
    "access_keys",
    metadata,
    _id(),
    _ref("account_id"),
    Column("secret", String(64), nullable=False),  # as issued: HMAC needs it (docs/adr/0003)
    Column("description", String(256), nullable=False),
    _created(),
)

quota_overrides = Table(
    "quota_overrides",
    metadata,
    _id(),
    _ref("account_id"),
    Column("name", String(64), nullable=False),
    Column("value", Integer, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_quota_overrides_account_name"),
)

hosts = Table(
    "hosts",
    metadata,
    _id(),
    Column("name", String(63), nullable=False, unique=True),
    Column("region", String(64), nullable=False),
    Column("description", String(256), nullable=False),
    _created(),
    Column("agent_seen_at", UtcDateTime(), nullable=True),
    Column("agent_version", String(64), nullable=True),
    Column("applied_revision", BigInteger(), nullable=True),
    Column("underlay", String(15), nullable=True, unique=True),
    Column("revision", BigInteger(), nullable=False, server_default="0"),
)

vpcs = Table(
    "vpcs",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    Column("cidr", String(18), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False),
    _created(),
    Column("vni", Integer, nullable=False, unique=True),
)

subnets = Table(
    "subnets",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("vpc_id"),
    Column("cidr", String(18), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False),
    Column("zone", String(128), nullable=False),
    _created(),
)

instances = Table(
    "instances",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("vpc_id"),
    _ref("subnet_id"),
    Column("name", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    _created(),
)

network_interfaces = Table(
    "network_interfaces",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("vpc_id"),
    _ref("subnet_id"),
    Column("primary_ip", String(15), nullable=False),
    Column("mac", String(17), nullable=False, unique=True),
    Column("secondary_ips", JSON, nullable=False),
    _ref("instance_id", nullable=True),
    Column("primary", Boolean, nullable=False),
    _ref("host_id", nullable=True),
    Column("device", String(15), nullable=True),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False),
    _created(),
    UniqueConstraint("host_id", "device", name="uq_network_interfaces_host_device"),
)

havips = Table(
    "havips",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("vpc_id"),
    _ref("subnet_id"),
    Column("ip", String(15), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False),
    Column("binding_mode", StrEnumType(m.BindingMode), nullable=False),
    Column("status", StrEnumType(m.HaVipStatus), nullable=False),
    Column("member_type", StrEnumType(m.MemberType), nullable=True),
    _ref("holder_interface_id", nullable=True),
    Column("holder_instance_id", String(ID), nullable=True),
    Column("holder_host_id", String(ID), nullable=True),
    Column("holder_since", UtcDateTime(), nullable=True),
    Column("epoch", BigInteger, nullable=False, server_default="0"),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("subnet_id", "ip", name="uq_havips_subnet_ip"),
    Index("ix_havips_account_created", "account_id", "created_at", "id"),  # the list page, in order
)

havip_members = Table(
    "havip_members",
    metadata,
    _id(),
    _ref("havip_id"),
    Column("member_type", StrEnumType(m.MemberType), nullable=False),
    _ref("member_id"),
    _ref("account_id"),
    _created(),
    UniqueConstraint("havip_id", "member_id", name="uq_havip_members_havip_member"),
)

havip_events = Table(
    "havip_events",
    metadata,
    _id(),
    _ref("havip_id"),
    _ref("account_id"),
    Column("kind", StrEnumType(m.EventKind), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("previous_interface_id", String(ID), nullable=True),
    Column("previous_instance_id", String(ID), nullable=True),
    Column("interface_id", String(ID), nullable=True),
    Column("instance_id", String(ID), nullable=True),
    Column("host_id", String(ID), nullable=True),
    Column("cause", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("latency_us", BigInteger, nullable=True),
    Column("detail", JSON, nullable=False),
    Column("count", Integer, nullable=False, server_default="1"),  # merged refusals (domain.history)
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Index("ix_havip_events_havip_at", "havip_id", "at"),
    Index("ix_havip_events_havip_kind_at", "havip_id", "kind", "at"),
)

eip_pools = Table(
    "eip_pools",
    metadata,
    _id(),
    Column("region", String(64), nullable=False),
    Column("cidr", String(18), nullable=False),
    Column("name", String(128), nullable=False),
    _created(),
)

eips = Table(
    "eips",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("pool_id"),
    Column("ip", String(15), nullable=False),
    Column("name", String(128), nullable=False),
    _ref("havip_id", nullable=True),
    _ref("network_interface_id", nullable=True),
    _created(),
    UniqueConstraint("pool_id", "ip", name="uq_eips_pool_ip"),
)

route_tables = Table(
    "route_tables",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("vpc_id"),
    Column("name", String(128), nullable=False),
    Column("system", Boolean, nullable=False),
    _created(),
)

route_entries = Table(
    "route_entries",
    metadata,
    _id(),
    _ref("account_id"),
    Column("region", String(64), nullable=False),
    _ref("route_table_id"),
    _ref("vpc_id"),
    Column("destination", String(18), nullable=False),
    Column("next_hop_type", StrEnumType(m.NextHopType), nullable=False),
    _ref("next_hop_id"),
    Column("name", String(128), nullable=False),
    Column("description", String(256), nullable=False),
    _created(),
    UniqueConstraint("route_table_id", "destination", name="uq_route_entries_table_destination"),
)

idempotency = Table(
    "idempotency",
    metadata,
    _id(),
    _ref("account_id"),
    Column("token", String(64), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("resource_id", String(ID), nullable=False),
    _created(),
    UniqueConstraint("account_id", "operation", "token", name="uq_idempotency_account_operation_token"),
)

ip_allocations = Table(
    "ip_allocations",
    metadata,
    _id(),
    _ref("subnet_id"),  # a subnet's id, or an EIP pool's id for public addresses
    Column("ip", String(15), nullable=False),
    Column("owner_type", String(32), nullable=False),
    _ref("owner_id"),
    UniqueConstraint("subnet_id", "ip", name="uq_ip_allocations_subnet_ip"),
)

state_revision = Table(
    "state_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

MAPPINGS: list[tuple[type, Table]] = [
    (m.Account, accounts),
    (m.ApiKey, api_keys),
    (m.AccessKey, access_keys),
    (m.QuotaOverride, quota_overrides),
    (m.Host, hosts),
    (m.Vpc, vpcs),
    (m.Subnet, subnets),
    (m.Instance, instances),
    (m.NetworkInterface, network_interfaces),
    (m.HaVip, havips),
    (m.HaVipMember, havip_members),
    (m.HaVipEvent, havip_events),
    (m.EipPool, eip_pools),
    (m.Eip, eips),
    (m.RouteTable, route_tables),
    (m.RouteEntry, route_entries),
    (m.IdempotencyRecord, idempotency),
    (m.IpAllocation, ip_allocations),
]

_mapper_registry = registry(metadata=metadata)
_lock = threading.Lock()
_started = False


def start_mappers() -> None:
    """Map the domain classes onto the tables (once per process)."""
    global _started
    with _lock:
        if _started:
            return
        for cls, table in MAPPINGS:
            _mapper_registry.map_imperatively(cls, table)
        _started = True
