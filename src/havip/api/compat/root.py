"""The route both clouds' SDKs call: ``GET|POST /`` on the control plane's address.

The official SDKs and Terraform only take a host (and port) as their endpoint, so
both facades live at the root path and ``choose`` tells them apart by what every
request of each carries: Tencent's ``X-TC-Action`` header (API 3.0) or ``SecretId``
parameter (legacy signature); Alibaba's ``x-acs-action`` header (current SDKs) or
``AccessKeyId``/``Action`` parameters (classic RPC, Terraform). Anything else is the
native API's 404. The facade then runs in the threadpool (the store is synchronous).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from havip.api.compat import alibaba, tencent
from havip.api.compat.call import Env
from havip.api.compat.memory import Memory
from havip.api.compat.wire import Wire
from havip.api.deps import app_state
from havip.api.errors import request_id_of

Facade = Callable[[Wire, Env], Response]

router = APIRouter(include_in_schema=False)


def choose(wire: Wire) -> Facade | None:
    if wire.header("x-tc-action") or (wire.header("authorization") or "").startswith("TC3-"):
        return tencent.handle
    if wire.header("x-acs-action") or (wire.header("authorization") or "").startswith("ACS3-"):
        return alibaba.handle
    params = {k for k, _ in wire.query_pairs()} | {k for k, _ in wire.form_pairs()}
    if "SecretId" in params:
        return tencent.handle
    if "AccessKeyId" in params or "Action" in params:
        return alibaba.handle
    return None


def headers_of(scope: Scope) -> Mapping[str, Sequence[str]]:
    out: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out


@router.api_route("/", methods=["GET", "POST"])
async def cloud_api(request: Request) -> Response:
    wire = Wire(
        method=request.method,
        path=request.url.path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=headers_of(request.scope),
        body=await request.body(),
    )
    facade = choose(wire)
    if facade is None:
        raise HTTPException(404)
    state = app_state(request)
    memory = request.app.state.compat
    assert isinstance(memory, Memory)
    env = Env(state.uow_factory, state.settings, state.clock, memory, request_id_of(request))
    return await run_in_threadpool(facade, wire, env)


def install(app: FastAPI) -> None:
    """Mount both facades on ``app`` (their memory lives as long as the app)."""
    app.state.compat = Memory()
    app.include_router(router)
