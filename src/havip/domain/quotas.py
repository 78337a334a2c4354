"""Limits of the product, each an adjustable per-account quota.

Defaults are the Alibaba product page's (seeds/alibaba-havip.md). An operator may
raise or lower any of them for one account; ``effective`` resolves the value in force.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from havip.domain.errors import InvalidParameter, QuotaExceeded


class Quota(enum.StrEnum):
    HAVIPS_PER_ACCOUNT = "havips_per_account"
    HAVIPS_PER_VPC = "havips_per_vpc"
    HAVIPS_PER_MEMBER = "havips_per_member"
    MEMBERS_PER_HAVIP = "members_per_havip"
    EIPS_PER_HAVIP = "eips_per_havip"
    HAVIP_ROUTES_PER_TABLE = "havip_routes_per_table"


@dataclass(frozen=True)
class QuotaSpec:
    name: Quota
    default: int
    description: str


SPECS: Mapping[Quota, QuotaSpec] = {
    s.name: s
    for s in (
        QuotaSpec(Quota.HAVIPS_PER_ACCOUNT, 5, "HaVips one account may create"),
        QuotaSpec(Quota.HAVIPS_PER_VPC, 5, "HaVips in one VPC"),
        QuotaSpec(Quota.HAVIPS_PER_MEMBER, 5, "HaVips one instance or network interface may be associated with"),
        QuotaSpec(Quota.MEMBERS_PER_HAVIP, 10, "instances or network interfaces associated with one HaVip"),
        QuotaSpec(Quota.EIPS_PER_HAVIP, 1, "EIPs associated with one HaVip"),
        QuotaSpec(Quota.HAVIP_ROUTES_PER_TABLE, 5, "route entries with a HaVip as next hop in one route table"),
    )
}

MAX_VALUE = 1_000_000


def parse_quota(name: str) -> Quota:
    try:
        return Quota(name)
    except ValueError as exc:
        known = ", ".join(q.value for q in Quota)
        raise InvalidParameter(f"unknown quota {name!r}; known quotas: {known}", code="InvalidQuota.Unknown") from exc


def check_value(value: int) -> int:
    if not 0 <= value <= MAX_VALUE:
        raise InvalidParameter(f"quota value {value} must be between 0 and {MAX_VALUE}", code="InvalidQuota.Value")
    return value


def effective(quota: Quota, overrides: Mapping[str, int]) -> int:
    return overrides.get(quota.value, SPECS[quota].default)


def check(quota: Quota, limit: int, used: int, what: str, adding: int = 1) -> None:
    """Raise ``QuotaExceeded`` if ``used + adding`` would pass ``limit``."""
    if used + adding > limit:
        raise QuotaExceeded(
            quota.value,
            limit,
            f"{what} would exceed the quota {quota.value} of {limit} (in use: {used}); "
            "an operator can raise it with 'havip quota set'",
        )
