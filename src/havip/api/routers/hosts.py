"""Routes of hosts and of their agents: desired state (a long poll) and claim reports."""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep
from havip.api.routers import ERROR_RESPONSES
from havip.service import agents
from havip.service import compute as svc
from havip.service.context import Ctx

router = APIRouter(prefix="/v1/hosts", tags=["hosts"], responses=ERROR_RESPONSES)

MAX_WAIT = 60.0
POLL_INTERVAL = 0.05
"""Seconds between two looks at the revision while a long poll waits."""


@router.get("", response_model=c.ListOf[c.Host], summary="List hosts")
def list_hosts(ctx: CtxDep, page: PageDep) -> c.ListOf[c.Host]:
    items, total = svc.list_hosts(ctx, page)
    return views.many(c.Host, items, total, page)


@router.post("", status_code=201, response_model=c.HostCreated, summary="Register a host (operator)")
def create_host(ctx: CtxDep, body: c.HostCreate) -> c.HostCreated:
    host, key = svc.create_host(ctx, name=body.name, region=body.region, description=body.description)
    return c.HostCreated(host=views.one(c.Host, host), agent_key=views.issued_key(key))


@router.get("/{host}", response_model=c.Host, summary="Show a host (by id or name)")
def get_host(ctx: CtxDep, host: str) -> c.Host:
    return views.one(c.Host, svc.get_host(ctx, host))


@router.delete("/{host}", status_code=204, summary="Remove a host and its agent key (operator)")
def delete_host(ctx: CtxDep, host: str) -> None:
    svc.delete_host(ctx, host)


async def wait_for_change(ctx: Ctx, host: str, since_revision: int, wait: float) -> None:
    """Return once the revision differs from ``since_revision`` or ``wait`` seconds passed."""
    deadline = time.monotonic() + wait
    while await run_in_threadpool(agents.current_revision, ctx, host) == since_revision:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await anyio.sleep(min(POLL_INTERVAL, remaining))


@router.get(
    "/{host}/desired-state",
    response_model=c.DesiredState,
    tags=["agents"],
    summary="What the host's agent should configure (long poll with since_revision and wait)",
)
async def desired_state(
    ctx: CtxDep,
    host: str,
    since_revision: Annotated[
        int | None, Query(description="answer only once the revision differs from this one (or wait has passed)")
    ] = None,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, description="seconds to wait for a change")] = 0,
) -> c.DesiredState:
    # async so a waiting agent holds no worker thread; the store calls go to the threadpool
    if since_revision is not None and wait > 0:
        await wait_for_change(ctx, host, since_revision, wait)
    state = await run_in_threadpool(agents.desired_state, ctx, host)
    return views.one(c.DesiredState, state)


@router.post(
    "/{host}/reports",
    response_model=c.ReportResult,
    tags=["agents"],
    summary="Report a claim, a refusal or a split brain seen on the host (its agent)",
)
def report(ctx: CtxDep, host: str, body: c.Report) -> c.ReportResult:
    rep = agents.ClaimReport(
        havip_id=body.havip_id,
        interface_id=body.interface_id,
        kind=body.kind,
        at=body.at,
        cause=body.cause,
        latency_us=body.latency_us,
        others=list(body.others),
    )
    return c.ReportResult(outcome=agents.report(ctx, host, rep))
