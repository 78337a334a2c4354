"""Small pieces the Alibaba action modules share: paging, times, IDs Alibaba has and we do not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from havip.api.compat.call import utc
from havip.api.compat.wire import Args
from havip.domain.errors import InvalidParameter
from havip.domain.model import NextHopType
from havip.service.context import Page

NEXT_HOP: Mapping[str, NextHopType] = {
    "HaVip": NextHopType.HAVIP,
    "Instance": NextHopType.INSTANCE,
    "NetworkInterface": NextHopType.NETWORK_INTERFACE,
}
NEXT_HOP_NAME: Mapping[NextHopType, str] = {v: k for k, v in NEXT_HOP.items()}


def iso(value: dt.datetime | None) -> str:
    """Alibaba's times: ISO 8601 UTC to the second, ``2021-04-12T02:23:36Z``."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def paging(args: Args, max_size: int = 50, default_size: int = 10) -> tuple[Page, int, int]:
    """``PageNumber`` (from 1) and ``PageSize`` as a Page, with both numbers for the answer."""
    number = args.integer("PageNumber", 1, 1, 1_000_000)
    size = args.integer("PageSize", default_size, 1, max_size)
    return Page(limit=size, offset=(number - 1) * size), number, size


def listed(total: int, number: int, size: int, key: str, inner: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A describe answer: ``{TotalCount, PageNumber, PageSize, Key: {Inner: [...]}}``."""
    return {"TotalCount": total, "PageNumber": number, "PageSize": size, key: {inner: items}}


def vrouter_id(vpc_id: str) -> str:
    """Alibaba VPCs have a vRouter; ours is the VPC itself, named so that it maps back."""
    return "vrt-" + vpc_id.removeprefix("vpc-")


def vpc_of_vrouter(router_id: str) -> str:
    return "vpc-" + router_id.removeprefix("vrt-")


def next_hop(name: str) -> NextHopType:
    try:
        return NEXT_HOP[name]
    except KeyError as exc:
        raise InvalidParameter(
            f"NextHopType {name!r} is not supported here; use one of {', '.join(NEXT_HOP)}",
            code="InvalidParameter.NextHopType",
        ) from exc


def no_tags() -> dict[str, list[Any]]:
    return {"Tag": []}
