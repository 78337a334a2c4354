"""The server's logs as a user quoting a request id reads them, on both engines.

A 500 from a route that fails (injected into this test's app, under a real uvicorn on a TCP
port) logs its traceback with the id of the answer's ``X-Request-Id`` header. ``havip serve`` as a
real process logs JSON lines only, one ``request-served`` line per request (uvicorn's access log
is off), and the line of an error answer carries its code, account and request id.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from havip import logs
from havip.api import create_app
from havip.service.context import Settings
from havip.store import Store

from .helpers import check_error, serve
from .processes import Replica

pytestmark = pytest.mark.integration


def lines_of(text: str) -> list[dict[str, Any]]:
    """Every line is one JSON object (a line that is not fails the test)."""
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def havip_log() -> Iterator[io.StringIO]:
    """The ``havip`` loggers' records as ``havip serve`` formats them, in a buffer."""
    stream = io.StringIO()
    handler = logs.handler(logs.LogFormat.json, stream)
    root = logging.getLogger("havip")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def failing_app(store: Store) -> FastAPI:
    app = create_app(store.uow, Settings(), changes=store.changes)

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("the disk is on fire")

    return app


def test_a_500_logs_its_traceback_with_the_request_id_of_the_answer(
    failing_app: FastAPI, havip_log: io.StringIO
) -> None:
    with serve(failing_app) as live, live.client() as client:
        answer = client.get("/test-only/boom")
        other = client.get("/healthz")
    body = check_error(answer, 500, "InternalError")
    rid = answer.headers["x-request-id"]
    assert len(rid) == 32 and body["request_id"] == rid  # made by the server, not sent by us
    assert "disk" not in answer.text
    mine = [line for line in lines_of(havip_log.getvalue()) if line.get("request_id") == rid]
    assert [line["event"] for line in mine] == ["unhandled-error", "request-served"]
    failure, served = mine
    assert (failure["level"], failure["logger"], failure["code"]) == ("error", "havip.api", "InternalError")
    assert failure["error"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the disk is on fire" in failure["error"]
    assert "def boom" in failure["error"] or "in boom" in failure["error"]
    assert {"method": "GET", "route": "/test-only/boom", "status": 500, "code": "InternalError"}.items() <= (
        served.items()
    )
    others = [
        line for line in lines_of(havip_log.getvalue()) if line.get("request_id") == other.headers["x-request-id"]
    ]
    assert [(line["event"], line["status"], "code" in line) for line in others] == [("request-served", 200, False)]


@pytest.fixture
def replica(db_url: str, tmp_path: Path) -> Iterator[Replica]:
    one = Replica("logs", db_url, tmp_path / "logs", log_level="info")
    try:
        one.start()
        yield one
    finally:
        one.stop()


def test_serve_logs_json_lines_and_an_error_answer_names_its_code_and_request_id(replica: Replica) -> None:
    token = replica.credentials()["tenant_token"]
    account = replica.credentials()["account_id"]
    with replica.http() as client:
        missing = client.get("/v1/vpcs/vpc-nope", headers={"Authorization": f"Bearer {token}"})
        nokey = client.get("/v1/vpcs", headers={"X-Request-Id": "trace-401"})
        fine = client.get("/v1/vpcs", headers={"Authorization": f"Bearer {token}"})
    check_error(missing, 404, "NotFound.Vpc")
    check_error(nokey, 401, "Unauthenticated.MissingKey")
    assert fine.status_code == 200
    replica.stop()  # flushes nothing we need, but the log is complete once it has stopped
    lines = lines_of(replica.log.read_text())
    assert all(set(logs.BASE_FIELDS) <= set(line) for line in lines)
    assert all(set(line) - set(logs.BASE_FIELDS) <= set(logs.FIELDS) for line in lines)
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]

    def of(answer: httpx.Response) -> list[dict[str, Any]]:
        return [line for line in lines if line.get("request_id") == answer.headers["x-request-id"]]

    [not_found] = of(missing)
    assert {
        "level": "info",
        "logger": "havip.api",
        "event": "request-served",
        "code": "NotFound.Vpc",
        "account": account,
        "method": "GET",
        "route": "/v1/vpcs/{vpc_id}",
        "status": 404,
    }.items() <= not_found.items()
    assert "vpc-nope" not in json.dumps(not_found)  # the route template, never the raw path
    [unauthenticated] = of(nokey)
    assert unauthenticated["request_id"] == "trace-401"
    assert (unauthenticated["code"], unauthenticated["status"]) == ("Unauthenticated.MissingKey", 401)
    assert "account" not in unauthenticated
    [ok] = of(fine)
    assert ok["status"] == 200 and "code" not in ok and ok["account"] == account
    assert token.partition(".")[2] not in replica.log.read_text()
