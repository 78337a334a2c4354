"""A fake havip server for client and CLI tests, over ``httpx.MockTransport``.

``FakeApi`` answers from a table of routes, ``(method, path) -> answer``, and
records every request, so a test states what the server says and then checks what
the client sent. A route's answer is a JSON value (status 200, or 201 for POST),
an ``httpx.Response``, or a function of the request returning one of these.
``None`` answers 204 (no content). Unknown routes answer 404 with the API's error body, like the real server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

Answer = Any  # JSON value | httpx.Response | Callable[[httpx.Request], JSON value | httpx.Response]


def error(status: int, code: str, message: str, request_id: str = "req-1") -> httpx.Response:
    """An error answer in the API's form."""
    body = {"code": code, "message": message, "request_id": request_id}
    return httpx.Response(status, json=body, headers={"X-Request-Id": request_id})


def page(items: list[Any], total: int | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return {"items": items, "total": len(items) if total is None else total, "limit": limit, "offset": offset}


@dataclass(frozen=True)
class Seen:
    """One request the fake received, decoded."""

    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: Mapping[str, str]
    raw_path: str  # as sent, still percent-encoded


@dataclass
class FakeApi:
    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                dict(request.url.params),
                body,
                dict(request.headers),
                request.url.raw_path.decode().split("?")[0],
            )
        )
        key = (request.method, request.url.path)
        if key not in self.routes:
            return error(404, "NotFound.Route", f"no route {request.method} {request.url.path}")
        answer = self.routes[key]
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, httpx.Response):
            return answer
        if answer is None:
            return httpx.Response(204, headers={"X-Request-Id": "req-1"})
        status = 201 if request.method == "POST" else 200
        return httpx.Response(status, json=answer, headers={"X-Request-Id": "req-1"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def last(self) -> Seen:
        assert self.seen, "the fake server received no request"
        return self.seen[-1]

    def calls(self) -> list[tuple[str, str]]:
        return [(s.method, s.path) for s in self.seen]


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A route that fails in the transport, as a dead server does."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler
