"""Limits at the edge: a body over the limit is refused with 413 ``RequestTooLarge`` and changes
nothing, whether its Content-Length says so or it arrives chunked; the facades too (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from havip.api.app import create_app
from havip.api.middleware import MAX_BODY_BYTES
from havip.contract.agents import ReportBatch
from havip.service.accounts import Bootstrap
from havip.service.context import Settings
from havip.store import Store

from .helpers import Caller, LiveServer, serve

pytestmark = pytest.mark.integration

LIMIT = 4096


@pytest.fixture
def live(store: Store) -> Iterator[LiveServer]:
    with serve(create_app(store.uow, Settings(), changes=store.changes, max_body_bytes=LIMIT)) as server:
        yield server


def big_vpc(boot: Bootstrap) -> bytes:
    return json.dumps({"cidr": "10.0.0.0/16", "account_id": boot.account.id, "description": "x" * LIMIT}).encode()


def vpcs(live: LiveServer, boot: Bootstrap) -> list[Any]:
    with live.client() as http:
        return list(Caller(http, boot.operator_token).get("/v1/vpcs", params={"account_id": boot.account.id})["items"])


def refused(answer: Any) -> None:
    assert answer.status_code == 413, answer.text
    body = answer.json()
    assert body["code"] == "RequestTooLarge"
    assert f"larger than {LIMIT} bytes" in body["message"]
    assert body["request_id"] == answer.headers["x-request-id"]


def test_a_declared_length_over_the_limit_is_refused(live: LiveServer, boot: Bootstrap) -> None:
    with live.client() as http:
        headers = {"Authorization": f"Bearer {boot.operator_token}", "Content-Type": "application/json"}
        refused(http.post("/v1/vpcs", content=big_vpc(boot), headers=headers))
    assert vpcs(live, boot) == []


def test_a_chunked_body_over_the_limit_is_refused(live: LiveServer, boot: Bootstrap) -> None:
    data = big_vpc(boot)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), 512):
            yield data[i : i + 512]

    with live.client() as http:
        headers = {"Authorization": f"Bearer {boot.operator_token}", "Content-Type": "application/json"}
        answer = http.post("/v1/vpcs", content=chunks(), headers=headers)
        assert "content-length" not in {k.lower() for k in answer.request.headers}
        refused(answer)
    assert vpcs(live, boot) == []


def test_a_body_under_the_limit_is_served(live: LiveServer, boot: Bootstrap) -> None:
    with live.client() as http:
        Caller(http, boot.operator_token).ok(
            "POST", "/v1/vpcs", 201, json={"cidr": "10.0.0.0/16", "account_id": boot.account.id}
        )
    assert len(vpcs(live, boot)) == 1


@pytest.mark.parametrize("path", ["/", "/?Action=DescribeHaVips"], ids=["alibaba-form", "tencent-json"])
def test_the_cloud_facades_are_limited_too(live: LiveServer, path: str) -> None:
    with live.client() as http:
        refused(http.post(path, content=b"Action=CreateHaVip&Description=" + b"x" * LIMIT))


def test_the_agents_largest_batch_fits_the_default_limit() -> None:
    report = {
        "havip_id": "havip-" + "a" * 20,
        "interface_id": "eni-" + "b" * 20,
        "kind": "claim",
        "at": "2026-12-02T12:00:00.000000Z",
        "cause": "garp-request",
        "latency_us": 999_999,
        "others": ["eni-" + "c" * 20],
    }
    batch = {"reports": [report] * 1000}
    ReportBatch.model_validate(batch)  # the shape the server takes
    assert len(json.dumps(batch)) * 2 < MAX_BODY_BYTES
