"""FastAPI dependencies: the caller's credential, the use-case context, paging.

``ctx`` authenticates the Bearer token against the store (through the app's
unit-of-work factory), binds the account to the request's log lines, and builds the
``Ctx`` every use case takes. Dependencies
only read the request; what a principal may do is the service layer's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from havip import logs
from havip.contract import DEFAULT_LIMIT, MAX_LIMIT
from havip.domain.errors import InvalidParameter, Unauthenticated
from havip.domain.model import utcnow
from havip.service.accounts import authenticate
from havip.service.context import Ctx, Page, Settings
from havip.service.ports import Clock, RevisionFeed, SchemaProbe, UnitOfWorkFactory

bearer = HTTPBearer(auto_error=False, description="an API key: '<key id>.<secret>'")


@dataclass(frozen=True)
class AppState:
    """What the routes need from the app; kept on ``app.state.havip``."""

    uow_factory: UnitOfWorkFactory
    settings: Settings
    clock: Clock = utcnow
    changes: RevisionFeed | None = None
    """News of committed revisions for the agents' long poll (None: it polls)."""
    schema: SchemaProbe | None = None
    """The store's migration state for ``/readyz`` (None: only a read through the unit of work is checked)."""


def app_state(request: Request) -> AppState:
    state = request.app.state.havip
    assert isinstance(state, AppState)
    return state


def ctx(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Ctx:
    state = app_state(request)
    if credentials is None:
        raise Unauthenticated(
            "this request needs an API key: 'Authorization: Bearer <key id>.<secret>'",
            code="Unauthenticated.MissingKey",
        )
    principal = authenticate(state.uow_factory, credentials.credentials)
    names = request.scope.get("extensions", {}).get("tls", {}).get("client_cert_names")
    if names is not None:
        principal = replace(principal, cert_names=frozenset(names))
    logs.bind(account=principal.account_id)
    return Ctx(uow=state.uow_factory, principal=principal, clock=state.clock, settings=state.settings)


def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=Page.MAX_OFFSET, description="items to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


CtxDep = Annotated[Ctx, Depends(ctx)]
PageDep = Annotated[Page, Depends(page)]


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _walk(dependant: Dependant) -> set[str]:
    """The query parameters a route declares, its dependencies' (``PageDep``'s ``limit``...) included."""
    names = {f.alias for f in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _walk(sub)
    return names


def _query_names(route: APIRoute) -> frozenset[str]:
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = frozenset(_walk(route.dependant))
        _QUERY_NAMES[id(route)] = names
    return names


def strict_query(request: Request) -> None:
    """An unknown query parameter is refused, as an unknown body field is (not silently ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route)
    for name in request.query_params:
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) or "no query parameters"
            raise InvalidParameter(
                f"unknown query parameter {name!r}; {request.method} {route.path} takes: {takes}",
                code="InvalidParameter.UnknownQuery",
            )
