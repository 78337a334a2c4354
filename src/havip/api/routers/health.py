"""Unauthenticated routes: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from havip import contract as c
from havip.api.metrics import Metrics

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=c.Health, summary="Liveness (no auth)")
def healthz() -> c.Health:
    return c.Health(status="ok")


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
