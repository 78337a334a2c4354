"""Helpers of the integration tier: a caller per credential, error checks, wait_until."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

ERROR_FIELDS = {"code", "message", "request_id"}


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> None:
    """Poll ``predicate`` until it holds; fail the test when ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def check_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is an error of ``status`` (and ``code``) with exactly the error fields."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body, dict)
    assert set(body) == ERROR_FIELDS, body
    assert body["request_id"] == resp.headers["x-request-id"]
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


@dataclass
class Caller:
    """One credential (or none) against one HTTP client."""

    http: httpx.Client | TestClient
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={**self.headers, **(headers or {})}, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Send; the answer must have ``status``; returns the JSON body (None when empty)."""
        resp = self.request(method, path, **kwargs)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        assert resp.headers.get("x-request-id")
        return resp.json() if resp.content else None

    def fails(self, method: str, path: str, status: int, code: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return check_error(self.request(method, path, **kwargs), status, code)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.ok("GET", path, **kwargs)

    def post(self, path: str, json: Any, status: int = 201, **kwargs: Any) -> Any:
        return self.ok("POST", path, status=status, json=json, **kwargs)

    def patch(self, path: str, json: Any, **kwargs: Any) -> Any:
        return self.ok("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, status: int = 204, **kwargs: Any) -> Any:
        return self.ok("DELETE", path, status=status, **kwargs)


@dataclass
class Net:
    """Account A's VPC 10.0.0.0/16 with subnet 10.0.1.0/24, and hosts h1, h2 with their agents."""

    vpc: str
    subnet: str
    route_table: str
    h1: str
    h2: str
    agent_h1: Caller
    agent_h2: Caller

    def instance(self, caller: Caller, host: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"subnet_id": self.subnet, **({"host": host} if host else {}), **extra}
        out: dict[str, Any] = caller.post("/v1/instances", body)
        return out


@dataclass
class LiveServer:
    base_url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60.0)


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Run ``app`` under uvicorn on 127.0.0.1 with an ephemeral port, in a thread."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: srv.started or not thread.is_alive())
        assert srv.started, "uvicorn did not start"
        port = srv.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(f"http://127.0.0.1:{port}")
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
