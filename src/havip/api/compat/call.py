"""The pieces every facade shares: the request environment, authentication, the call.

``Env`` is what the root route hands a facade for one request. ``authenticate`` is
the one order of checks both clouds get: the clock skew, the AccessKey, the
signature, then the nonce (recorded only once the signature holds, so nobody can
burn someone else's nonces). ``Call`` is what an action handler receives: a ``Ctx``
acting as the AccessKey's account (the same use cases and the same isolation as
the native API), the parameters, the region and the request id.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from havip import logs
from havip.api.compat.memory import Memory
from havip.api.compat.wire import Args
from havip.domain.errors import Unauthenticated
from havip.domain.rules import AddressRule
from havip.service.access_keys import signing_key
from havip.service.context import Ctx, Principal, Settings
from havip.service.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("havip.api.compat")


@dataclass(frozen=True)
class Env:
    uow: UnitOfWorkFactory
    settings: Settings
    clock: Clock
    memory: Memory
    request_id: str

    def ctx(self, principal: Principal, address_rule: AddressRule) -> Ctx:
        return Ctx(
            uow=self.uow, principal=principal, clock=self.clock, settings=self.settings, address_rule=address_rule
        )


@dataclass(frozen=True)
class Signed:
    """What a request claims about itself, for ``authenticate`` to check."""

    access_key_id: str
    timestamp: dt.datetime
    nonce: str | None
    verify: Callable[[str], bool]  # secret -> does the signature hold
    mismatch: str | None = None  # the message when it does not (None: the generic one)


def authenticate(env: Env, signed: Signed, max_skew: dt.timedelta) -> Principal:
    skew = abs(env.clock() - signed.timestamp)
    if skew > max_skew:
        raise Unauthenticated(
            f"the request's timestamp {signed.timestamp:%Y-%m-%dT%H:%M:%SZ} is {int(skew.total_seconds())} s "
            f"away from the server's clock; at most {int(max_skew.total_seconds())} s are accepted",
            code="Unauthenticated.RequestExpired",
        )
    key = signing_key(env.uow, signed.access_key_id)
    if not signed.verify(key.secret):
        raise Unauthenticated(
            signed.mismatch or "the signature does not match: check the AccessKey secret and the signing method",
            code="Unauthenticated.SignatureMismatch",
        )
    if signed.nonce is not None:
        fresh = env.memory.nonces.put_new((signed.access_key_id, signed.nonce), True, env.clock().timestamp())
        if not fresh:
            raise Unauthenticated(
                f"the signature nonce {signed.nonce!r} was used already (a replayed request)",
                code="Unauthenticated.NonceUsed",
            )
    logs.bind(account=key.principal.account_id)
    return key.principal


@dataclass(frozen=True)
class Call:
    """One authenticated request as an action handler sees it."""

    ctx: Ctx
    args: Args
    region: str
    request_id: str
    memory: Memory


Handler = Callable[[Call], dict[str, Any]]


def utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes from the store are UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def outcome(cloud: str, action: str, request_id: str, code: str = "", our_code: str = "") -> None:
    """One log line per facade request: the cloud, the action, and the error codes (theirs, ours) if any."""
    if code:
        logs.bind(code=code)  # the request-served line names the error too
    logs.event(
        log,
        "compat-answered",
        cloud=cloud,
        action=action or "-",
        code=code or "OK",
        our_code=our_code or None,
        request_id=request_id,
    )
