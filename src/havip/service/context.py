"""Who is calling and with what: the principal, the clock, the unit-of-work factory.

Every use case takes a ``Ctx``. Tenant scoping is decided here once: a tenant sees
and touches only its own account's resources; an operator sees every account; an
agent sees only what its host needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from havip.domain.errors import Forbidden, InvalidParameter, NotFound
from havip.domain.history import Retention
from havip.domain.limits import PAGE_DEFAULT, PAGE_MAX
from havip.domain.model import Role, utcnow
from havip.domain.rules import NATIVE_ADDRESSES, AddressRule
from havip.service.ports import Clock, Repository, UnitOfWorkFactory


@dataclass(frozen=True)
class Principal:
    role: Role
    key_id: str
    account_id: str | None = None
    host_id: str | None = None
    cert_names: frozenset[str] | None = None
    """The names of the verified client certificate the request came with (None: no certificate)."""

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR


@dataclass(frozen=True)
class Settings:
    """Control-plane settings the use cases need (read once at the edge)."""

    regions: tuple[str, ...] = ("local",)
    default_region: str = "local"
    agent_cert_required: bool = False
    """mTLS (``havip serve --tls-client-ca``): an agent key is accepted only with a client
    certificate whose name (CN or DNS SAN) is the host's name."""
    agent_lease: float = 90.0
    """Seconds of silence after which a host's agent shows as down: longer than the agent's
    30 s long poll plus its request timeout and a retry, so one slow poll is no outage."""
    event_retention: Retention = field(default_factory=Retention)
    """How much of each HaVip's history is kept (``havip.domain.history``): by age and by
    count, never a holder change or split brain younger than the age."""


@dataclass(frozen=True)
class Ctx:
    uow: UnitOfWorkFactory
    principal: Principal
    clock: Clock = utcnow
    settings: Settings = field(default_factory=Settings)
    address_rule: AddressRule = NATIVE_ADDRESSES  # which subnet addresses are reserved on this surface

    def now(self) -> dt.datetime:
        return self.clock()


class _Owned(Protocol):
    id: str
    account_id: str


OwnedT = TypeVar("OwnedT", bound=_Owned)


def require_operator(ctx: Ctx) -> None:
    if not ctx.principal.is_operator:
        raise Forbidden("this operation needs the operator key", code="Forbidden.OperatorOnly")


def require_tenant_or_operator(ctx: Ctx) -> None:
    if ctx.principal.role is Role.AGENT:
        raise Forbidden("an agent credential may only read its host's state and report claims", code="Forbidden.Agent")


def acting_account(ctx: Ctx, account_id: str | None) -> str:
    """The account a create acts for: a tenant's own; an operator must name one."""
    require_tenant_or_operator(ctx)
    p = ctx.principal
    if p.is_operator:
        if not account_id:
            raise InvalidParameter(
                "the operator key acts for every account: name the account (account_id or --account)",
                code="MissingParameter.AccountId",
            )
        return account_id
    assert p.account_id is not None
    if account_id and account_id != p.account_id:
        raise NotFound("Account", account_id)
    return p.account_id


def scope_filters(ctx: Ctx, account_id: str | None = None) -> dict[str, Any]:
    """Filters that restrict a listing to what the caller may see."""
    require_tenant_or_operator(ctx)
    p = ctx.principal
    if p.is_operator:
        return {"account_id": account_id} if account_id else {}
    if account_id and account_id != p.account_id:
        return {"account_id": "\x00none"}
    return {"account_id": p.account_id}


def get_owned(ctx: Ctx, repo: Repository[OwnedT], resource: str, ident: str) -> OwnedT:
    """Load a resource the caller may see; another account's looks like a missing one."""
    obj = repo.get(ident)
    if obj is None:
        raise NotFound(resource, ident)
    p = ctx.principal
    if not p.is_operator and obj.account_id != p.account_id:
        raise NotFound(resource, ident)
    return obj


def check_region(ctx: Ctx, region: str | None) -> str:
    region = region or ctx.settings.default_region
    if region not in ctx.settings.regions:
        raise InvalidParameter(
            f"region {region!r} is not served here; regions: {', '.join(ctx.settings.regions)}",
            code="InvalidRegionId.NotFound",
        )
    return region


@dataclass(frozen=True)
class Page:
    limit: int = PAGE_DEFAULT
    offset: int = 0

    MAX_LIMIT = PAGE_MAX
    MAX_OFFSET = 2**31 - 1  # beyond any listing, and inside what every engine takes as an OFFSET

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= self.MAX_LIMIT:
            raise InvalidParameter(f"limit must be between 1 and {self.MAX_LIMIT}", code="InvalidParameter.Limit")
        if not 0 <= self.offset <= self.MAX_OFFSET:
            raise InvalidParameter(f"offset must be between 0 and {self.MAX_OFFSET}", code="InvalidParameter.Offset")
