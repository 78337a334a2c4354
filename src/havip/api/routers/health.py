"""Unauthenticated routes: liveness, readiness and Prometheus metrics.

``/healthz`` says the process answers and touches nothing. ``/readyz`` says whether this
replica can serve: the store answers a read and its schema is at the migration this code
ships (a replica of a newer version against an older schema, or a database that is down,
is not ready). Load balancers and service managers use ``/readyz``; never 500 from it.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from havip import contract as c
from havip import logs
from havip.api.deps import app_state
from havip.api.metrics import Metrics

log = logging.getLogger("havip.api")

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=c.Health, summary="Liveness (no auth)")
def healthz() -> c.Health:
    return c.Health(status="ok")


@router.get(
    "/readyz",
    response_model=c.Readiness,
    summary="Readiness (no auth): the store answers and its schema is at head",
    responses={503: {"model": c.Readiness, "description": "not ready: a check failed"}},
)
def readyz(request: Request) -> JSONResponse:
    state = app_state(request)
    checks = {"store": "ok", "schema": "not checked (no schema probe)"}
    try:
        with state.uow_factory() as uow:
            uow.revision()
    except Exception as exc:  # any failure means not ready; the body says which, the log says why
        checks["store"] = f"no answer: {exc}"
    if state.schema is not None:
        try:
            at, head = state.schema.schema_revision(), state.schema.head_revision()
            checks["schema"] = "ok" if at == head else f"at migration {at or 'none'}, this code needs {head}"
        except Exception as exc:  # as above
            checks["schema"] = f"cannot read the migration: {exc}"
    ready = all(value == "ok" for value in checks.values()) or (state.schema is None and checks["store"] == "ok")
    if not ready:
        logs.event(log, "not-ready", level=logging.WARNING, checks=checks)
    body = c.Readiness(status="ready" if ready else "not-ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (no auth)",
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
