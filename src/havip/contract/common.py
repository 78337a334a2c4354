"""Building blocks every wire schema shares: bases, UTC datetimes, lists, errors.

Used by the other contract modules; the api serialises with them and the client
parses with them. Nothing here knows about HTTP or the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from havip.domain.limits import PAGE_DEFAULT, PAGE_MAX

T = TypeVar("T")


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes are UTC (SQLite forgets the zone); aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC datetime
        raise ValueError("the time is out of range in UTC") from None


UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
"""A datetime that is always timezone-aware UTC (ISO 8601 with ``Z`` on the wire)."""


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Resource(BaseModel):
    """Base of answers: built from domain objects by attribute; unknown fields ignored when parsing."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")


class ListOf(BaseModel, Generic[T]):
    """One page of a listing: ``?limit=`` (1..``PAGE_MAX``, default ``PAGE_DEFAULT``) and ``&offset=``."""

    items: list[T]
    total: int = Field(description="how many items match, over all pages")
    limit: int
    offset: int


class Error(BaseModel):
    """The body of every error answer."""

    code: str = Field(description="stable machine code, e.g. NotFound.HaVip or QuotaExceeded.havips_per_account")
    message: str = Field(description="what went wrong, for a human")
    request_id: str = Field(description="the X-Request-Id of the request, for the logs")


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    """``/readyz``: ready when every check is ``ok``; each other value says what failed."""

    status: str = Field(description="ready or not-ready")
    checks: dict[str, str] = Field(description="store: a read answered; schema: at the head migration")


MAX_LIMIT = PAGE_MAX
DEFAULT_LIMIT = PAGE_DEFAULT
