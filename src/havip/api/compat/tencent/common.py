"""Small pieces the Tencent action modules share: paging, filters, times, tasks."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection

from havip.api.compat.call import Call, utc
from havip.api.compat.memory import Task
from havip.domain.errors import InvalidParameter
from havip.service.context import Page

NEVER = "0000-00-00 00:00:00"


def tc_time(value: dt.datetime | None) -> str:
    """Tencent's times: ``YYYY-MM-DD hh:mm:ss`` without a zone (havip's are UTC)."""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S") if value is not None else NEVER


def paging(call: Call, default: int = 20, most: int = 100) -> Page:
    """``Offset`` and ``Limit``; some actions send them as strings, which is accepted too."""
    a = call.args
    limit = a.integer("Limit", default, 1, most, too_big="InvalidParameter.Limit")  # Tencent: LimitExceeded
    return Page(limit=limit, offset=a.integer("Offset", 0, 0, 10_000_000))


def filters(call: Call, known: Collection[str], *, ids_param: str | None = None) -> dict[str, list[str]]:
    """``Filters[{Name, Values}]`` (at most 10, 5 values each) as name -> values.

    Values of one filter are ORed, filters ANDed; a filter named twice keeps both
    value lists ORed. ``ids_param`` (e.g. ``HaVipIds``) may not come with ``Filters``.
    """
    a = call.args
    given = a.objects("Filters", limit=10)
    if ids_param is not None and given and a.has(ids_param):
        raise InvalidParameter(f"{ids_param} and Filters cannot be combined", code="InvalidParameter.Coexist")
    out: dict[str, list[str]] = {}
    for flt in given:
        name = flt.need("Name")
        if name not in known:
            raise InvalidParameter(
                f"the filter {name!r} is not supported; filters: {', '.join(sorted(known))}",
                code="InvalidParameter.Filter",
            )
        out.setdefault(name, []).extend(flt.strings("Values", limit=5))
    return out


def record_task(call: Call, *resource_ids: str) -> str:
    """Remember an asynchronous action that has finished: its RequestId is its TaskId."""
    account = call.ctx.principal.account_id or ""
    call.memory.tasks.put_new(call.request_id, Task(account, tuple(resource_ids)), call.ctx.now().timestamp())
    return call.request_id


def route_number(entry_id: str) -> int:
    """Tencent's integer RouteId for one of our route entries (stable, fits a JSON number)."""
    return int.from_bytes(hashlib.sha256(entry_id.encode()).digest()[:6], "big")


def check_name(param: str, value: str | None, most: int = 60) -> str | None:
    """Tencent's names are at most 60 characters (havip's own rule allows more)."""
    if value is not None and len(value) > most:
        raise InvalidParameter(f"{param} is at most {most} characters long", code="InvalidParameter.TooLong")
    return value
