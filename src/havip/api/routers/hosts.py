"""Routes of hosts and of their agents: desired state (a long poll) and claim reports.

The long poll waits on the app's ``RevisionFeed`` (the store's LISTEN/NOTIFY on
PostgreSQL, in-process news plus a poller on SQLite) for its own host: it subscribes
to the host, then reads the host's revision, then sleeps until the feed names the host
(a write that changed its desired state) or the wait ends. A write elsewhere wakes it
not at all. A waiting agent holds no thread and costs no query; every ``RECHECK``
seconds it reads the revision again, in case the feed's source lost news (a dropped
LISTEN connection). An app made without a feed falls back to reading the revision every
``POLL_INTERVAL`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from prometheus_client import Gauge
from starlette.concurrency import run_in_threadpool

from havip import contract as c
from havip.api import views
from havip.api.deps import CtxDep, PageDep, app_state
from havip.api.routers import ERROR_RESPONSES
from havip.domain.errors import HavipError
from havip.domain.limits import LONG_POLL_MAX_WAIT
from havip.service import agents
from havip.service import compute as svc
from havip.service.context import Ctx
from havip.service.ports import RevisionFeed

router = APIRouter(prefix="/v1/hosts", tags=["hosts"], responses=ERROR_RESPONSES)

RECHECK = 30.0
"""Seconds after which a waiting long poll reads the revision again, whatever the feed said.

The last resort only: the feed itself tells every waiting poll to look again after it lost
its source (a reconnected LISTEN). Each recheck is a read per waiting host, so it is what
waiting costs: every 5 s was 200 reads/s with 1,000 hosts (benchmark 9)."""
POLL_INTERVAL = 0.05
"""Seconds between two looks at the revision while a long poll waits without a feed."""


@router.get("", response_model=c.ListOf[c.Host], summary="List hosts")
def list_hosts(ctx: CtxDep, page: PageDep) -> c.ListOf[c.Host]:
    items, total = svc.list_hosts(ctx, page)
    return c.ListOf[c.Host](
        items=[views.host(h, health) for h, health in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=c.HostCreated, summary="Register a host (operator)")
def create_host(ctx: CtxDep, body: c.HostCreate) -> c.HostCreated:
    host, key = svc.create_host(
        ctx, name=body.name, region=body.region, description=body.description, underlay=body.underlay
    )
    return c.HostCreated(host=views.host(host, svc.agent_health(ctx, host)), agent_key=views.issued_key(key))


@router.get("/{host}", response_model=c.Host, summary="Show a host (by id or name)")
def get_host(ctx: CtxDep, host: str) -> c.Host:
    return views.host(*svc.get_host(ctx, host))


@router.patch("/{host}", response_model=c.Host, summary="Change a host's description or underlay address (operator)")
def update_host(ctx: CtxDep, host: str, body: c.HostUpdate) -> c.Host:
    updated = svc.update_host(ctx, host, description=body.description, underlay=body.underlay)
    return views.host(*svc.get_host(ctx, updated.id))


@router.delete("/{host}", status_code=204, summary="Remove a host and its agent key (operator)")
def delete_host(ctx: CtxDep, host: str) -> None:
    svc.delete_host(ctx, host)


async def wait_for_change(
    ctx: Ctx, host: str, since_revision: int, wait: float, feed: RevisionFeed | None, waiting: Gauge
) -> None:
    """Return once the host's revision differs from ``since_revision`` or ``wait`` seconds passed.

    ``waiting`` counts the polls that are subscribed and have seen the old revision. Only
    news naming this host wakes the poll (or news naming nobody); each wake reads the host's
    revision again (one indexed row), so a wake for nothing costs no desired-state read.
    """
    deadline = time.monotonic() + wait
    if feed is None:
        await _poll_for_change(ctx, host, since_revision, deadline)
        return
    host_id = ctx.principal.host_id  # an agent polls its own host (or is refused by the read below)
    if host_id is None:  # an operator's poll, by name or id
        host_id, revision = await run_in_threadpool(agents.current_revision, ctx, host)
        if revision != since_revision:
            return
    assert host_id is not None
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def on_revision(revision: int | None) -> None:  # on the feed's thread
        if revision != since_revision:
            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody waits any more
                loop.call_soon_threadsafe(woken.set)

    unsubscribe = feed.subscribe(host_id, on_revision)  # before reading again: a change in between still wakes us
    try:
        while True:
            if (await run_in_threadpool(agents.current_revision, ctx, host))[1] != since_revision:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with anyio.move_on_after(min(RECHECK, remaining)), waiting.track_inprogress():
                await woken.wait()
            if not woken.is_set() and deadline - time.monotonic() <= 0:
                return  # the wait is over: the desired state read next carries the revision
            woken.clear()  # woken or RECHECK: read the revision again
    finally:
        unsubscribe()


async def _poll_for_change(ctx: Ctx, host: str, since_revision: int, deadline: float) -> None:
    while (await run_in_threadpool(agents.current_revision, ctx, host))[1] == since_revision:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await anyio.sleep(min(POLL_INTERVAL, remaining))


@router.get(
    "/{host}/desired-state",
    response_model=c.DesiredState,
    tags=["agents"],
    summary="What the host's agent should configure (long poll with since_revision and wait)",
    responses={304: {"description": "a long poll (since_revision and wait) ended with the revision unchanged"}},
)
async def desired_state(
    request: Request,
    ctx: CtxDep,
    host: str,
    since_revision: Annotated[
        int | None, Query(description="answer only once the revision differs from this one (or wait has passed)")
    ] = None,
    wait: Annotated[float, Query(ge=0, le=LONG_POLL_MAX_WAIT, description="seconds to wait for a change")] = 0,
    agent_version: Annotated[str | None, Query(description="the polling agent's havip version (heartbeat)")] = None,
    applied_revision: Annotated[
        int | None, Query(ge=0, description="the revision the polling agent applied last (heartbeat)")
    ] = None,
) -> c.DesiredState | Response:
    # async so a waiting agent holds no worker thread; the store calls go to the threadpool
    beat = agents.Heartbeat(agent_version, applied_revision)  # refused before the wait when malformed
    if since_revision is not None and wait > 0:
        waiting = request.app.state.metrics.long_polls
        await wait_for_change(ctx, host, since_revision, wait, app_state(request).changes, waiting)
        if await run_in_threadpool(agents.unchanged, ctx, host, since_revision, beat):
            return Response(status_code=304)  # the wait ended with nothing new: the agent keeps its state
    state = await run_in_threadpool(agents.desired_state, ctx, host, beat)
    return views.one(c.DesiredState, state)


@router.post(
    "/{host}/reports",
    response_model=c.ReportResult,
    tags=["agents"],
    summary="Report a claim, a refusal or a split brain seen on the host (its agent)",
)
def report(ctx: CtxDep, host: str, body: c.Report) -> c.ReportResult:
    return c.ReportResult(outcome=agents.report(ctx, host, _claim_report(body)))


@router.post(
    "/{host}/reports/batch",
    response_model=c.ReportBatchResult,
    response_model_exclude_none=True,  # each item carries its outcome or its error
    tags=["agents"],
    summary="Report several claims (a mass failover) in one request, applied in order in one transaction",
)
def report_batch(ctx: CtxDep, host: str, body: c.ReportBatch) -> c.ReportBatchResult:
    results = agents.report_many(ctx, host, [_claim_report(r) for r in body.reports])
    return c.ReportBatchResult(
        results=[
            c.ReportBatchItem(error=c.ReportRefusal(code=r.code, message=r.message))
            if isinstance(r, HavipError)
            else c.ReportBatchItem(outcome=r)
            for r in results
        ]
    )


def _claim_report(body: c.Report) -> agents.ClaimReport:
    return agents.ClaimReport(
        havip_id=body.havip_id,
        interface_id=body.interface_id,
        kind=body.kind,
        at=body.at,
        cause=body.cause,
        latency_us=body.latency_us,
        others=list(body.others),
        epoch=body.epoch,
    )
