"""Per-request plumbing: request id, body size limit, one log line, metrics, and the last-resort 500.

A pure ASGI middleware (no BaseHTTPMiddleware: it must not buffer the long poll).
It gives each request an id (a sane incoming ``X-Request-Id`` is kept, otherwise a
uuid4 hex), puts it in ``scope["state"]`` for the error handlers, binds it to every log
line of the request (``havip.logs.bound``: the error lines and an unhandled exception's
traceback carry it too), adds the header to every answer, and after the answer logs one
line (``request-served``: method, route, status, duration_ms, and the ``code`` of an error
answer) and observes the metrics under the route template (``/v1/havips/{havip_id}``),
never the raw path.

A body larger than ``max_body`` bytes is refused with 413 ``RequestTooLarge``: at once when
its Content-Length says so, else (chunked) as soon as the bytes read pass the limit, by an
``HTTPException`` raised from ``receive`` that the app's error table answers. The cloud
facades answer it in the native error format too (docs/api-routes.md).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from havip import logs
from havip.api.errors import error_response, internal_error
from havip.api.metrics import Metrics

log = logging.getLogger("havip.api")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"
MAX_BODY_BYTES = 1 << 20
"""The default body limit: 1 MiB, about four times the agent's largest batch of reports."""


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (havip serve --max-body-bytes)"


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises a 413 once the body has passed ``limit`` bytes."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large(limit))
        return message

    return receive_limited


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        length = declared_length(scope.get("headers", []))
        with logs.bound(request_id=rid):
            try:
                if length is not None and length > self.max_body:
                    refusal = error_response(413, "RequestTooLarge", too_large(self.max_body), rid)
                    await refusal(scope, receive, send_with_id)
                    return
                await self.app(scope, limited(receive, self.max_body), send_with_id)
            except Exception as exc:
                if response_started:  # too late for a 500: log it here, with the request id, and let the server close
                    logs.event(log, "unhandled-error", level=logging.ERROR, exc_info=exc, code="InternalError")
                    raise
                await internal_error(rid, exc)(scope, receive, send_with_id)
            finally:
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        self.metrics.observe(method, route, status, seconds)
        logs.event(
            log, "request-served", method=method, route=route, status=status, duration_ms=round(seconds * 1000, 1)
        )
