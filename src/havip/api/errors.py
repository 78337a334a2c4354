"""The one error table of the native API: error kinds to HTTP statuses, and the handlers.

Every error answer is ``{"code", "message", "request_id"}`` with the status its kind
maps to. ``install`` registers the handlers on an app; the request middleware calls
``internal_error`` for anything unexpected (so the 500 still carries the request id).
Every error answer binds its ``code`` to the request's log fields (the middleware's
``request-served`` line names it); a 5xx also logs ``error-answered`` with the traceback,
an unexpected exception ``unhandled-error`` (both carry the request id the middleware bound).
Handlers only translate: they never retry, swallow or change state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from havip import logs
from havip.contract import Error
from havip.domain.errors import HavipError, Kind

log = logging.getLogger("havip.api")

STATUS: Mapping[Kind, int] = {
    Kind.INVALID: 400,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.QUOTA: 403,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.INTERNAL: 500,
}
"""HTTP status of each error kind (docs/api-routes.md)."""

STATUS_BY_CODE: Mapping[str, int] = {
    "ServiceUnavailable": 503,
    "ServiceUnavailable.StorageFull": 503,  # the database's disk is full (store.engine.storage_full)
}
"""Codes whose status differs from their kind's."""

# Errors Starlette raises itself (routing), by status: (code, message).
ROUTING_ERRORS: Mapping[int, tuple[str, str]] = {
    404: ("NotFound.Route", "no route matches {method} {path}"),
    405: ("MethodNotAllowed", "{method} is not allowed on {path}"),
    413: ("RequestTooLarge", "{detail}"),
}


def request_id_of(request: Request) -> str:
    """The id the request middleware gave this request."""
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else ""


def error_response(
    status: int, code: str, message: str, request_id: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = Error(code=code, message=message, request_id=request_id).model_dump()
    logs.bind(code=code)
    out = {"X-Request-Id": request_id, **(headers or {})}
    return JSONResponse(body, status_code=status, headers=out)


def status_of(exc: HavipError) -> int:
    return STATUS_BY_CODE.get(exc.code, STATUS[exc.kind])


def _havip_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HavipError)
    status = status_of(exc)
    if status >= 500:
        logs.event(log, "error-answered", level=logging.ERROR, exc_info=exc, code=exc.code, status=status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, request_id_of(request), headers)


def describe_validation(errors: Sequence[Any]) -> str:
    """'limit (query): Input should be less than or equal to 1000; cidr (body): Field required'."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where, field = (loc[0], ".".join(loc[1:])) if loc else ("request", "")
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{field} ({where}): {msg}" if field else f"{where}: {msg}")
    return "; ".join(parts) or "the request is invalid"


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "InvalidParameter", describe_validation(exc.errors()), request_id_of(request))


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, template = ROUTING_ERRORS.get(exc.status_code, ("HttpError", "{detail}"))
    message = template.format(method=request.method, path=request.url.path, detail=exc.detail)
    return error_response(exc.status_code, code, message, request_id_of(request), exc.headers)


def internal_error(request_id: str, exc: BaseException) -> JSONResponse:
    """The answer to a bug: logs the traceback, tells the caller only the request id."""
    logs.event(log, "unhandled-error", level=logging.ERROR, exc_info=exc, code="InternalError", status=500)
    return error_response(500, "InternalError", "an internal error occurred; quote the request id", request_id)


def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    return internal_error(request_id_of(request), exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HavipError, _havip_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)  # backstop; the middleware answers first
