"""The FastAPI application of the native API: ``create_app(uow_factory, settings)``.

Called by the server entry point and by tests. Everything the app needs hangs off
``app.state`` (the store as a unit-of-work factory, settings, a metrics registry);
nothing is built at import time, so many apps can live in one process. The app never
imports the store: it is handed a ``UnitOfWorkFactory``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from havip.api import compat, errors
from havip.api.deps import AppState, strict_query
from havip.api.metrics import Metrics
from havip.api.middleware import MAX_BODY_BYTES, RequestMiddleware
from havip.api.routers import access_keys, accounts, compute, eips, havips, health, hosts, network
from havip.domain.model import utcnow
from havip.service.context import Settings
from havip.service.ports import Clock, RevisionFeed, SchemaProbe, UnitOfWorkFactory

TAGS = [
    {"name": "health", "description": "liveness, readiness and metrics (no auth)"},
    {"name": "accounts", "description": "accounts and API keys"},
    {"name": "access-keys", "description": "AccessKey ID/secret pairs for the Alibaba and Tencent API facades"},
    {"name": "quotas", "description": "per-account limits"},
    {"name": "hosts", "description": "hypervisors running an agent"},
    {"name": "agents", "description": "a host agent's desired state and claim reports"},
    {"name": "vpcs", "description": "virtual private clouds"},
    {"name": "subnets", "description": "subnets (vSwitches) of a VPC"},
    {"name": "instances", "description": "compute instances with their primary interface"},
    {"name": "network-interfaces", "description": "network interfaces (ENIs) and their placement"},
    {"name": "havips", "description": "high-availability virtual IPs, members and history"},
    {"name": "eip-pools", "description": "public address ranges (operator)"},
    {"name": "eips", "description": "elastic IPs"},
    {"name": "route-tables", "description": "route tables and entries"},
]


class HavipApi(FastAPI):
    """FastAPI whose OpenAPI document shows the validation errors we really send (400, not 422)."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema


def create_app(
    uow_factory: UnitOfWorkFactory,
    settings: Settings,
    *,
    clock: Clock = utcnow,
    changes: RevisionFeed | None = None,
    schema: SchemaProbe | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    app = HavipApi(
        docs_url=None,  # served by install_docs from the installed package, not a CDN
        redoc_url=None,
        title="havip",
        version="1",
        description="High-Availability Virtual IPs: the native REST API (docs/api-routes.md).",
        openapi_tags=TAGS,
    )
    app.state.havip = AppState(uow_factory=uow_factory, settings=settings, clock=clock, changes=changes, schema=schema)
    app.state.metrics = Metrics()
    errors.install(app)
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics, max_body=max_body_bytes)
    for module in (health, accounts, access_keys, hosts, network, compute, havips, eips):
        app.include_router(module.router, dependencies=[Depends(strict_query)])
    install_docs(app)
    compat.install(app)  # the Alibaba and Tencent facades at / (docs/compat.md)
    return app


DOCS_ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` with its script, style and icon from the ``swagger-ui-bundle``
    package: the page works on a machine with no internet (FastAPI's default loads a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="havip API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
