"""Structured logs of havip, server and agent alike: fixed field names, one line per record.

Every line has ``ts`` (RFC 3339, UTC), ``level``, ``logger`` and ``event`` (a short kebab-case
name such as ``claim-switched`` or ``request-served``); its other fields come from the fixed
vocabulary ``FIELDS`` so that logs can be queried across versions and components
(``docs/logs.md`` is generated from it). An unknown field name is a ``ValueError``.

- ``event(logger, name, **fields)`` is what havip's modules call.
- ``bound(**fields)`` (a context manager) binds fields to everything logged in the current
  context: the server's request middleware binds ``request_id``, so every line logged while a
  request is served carries it, the traceback of an unhandled exception included, also lines of
  other libraries. ``bind(**fields)`` adds to the fields already bound (the error table binds
  ``code`` so that the access line of an error answer names it).
- ``JsonFormatter`` (one JSON object a line, the default) and ``TextFormatter`` (``key=value``,
  for a terminal) format any record, havip's or a library's (whose message becomes ``event``).
- ``install(level, fmt, logger)`` sends records to stderr; ``havip serve`` and ``havip agent``
  call it once at start-up.

Imports nothing of havip (it sits beside ``havip.domain`` at the bottom of the layers) and does
no I/O beyond ``logging``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import enum
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

FIELDS: Mapping[str, str] = {
    # the agent
    "havip": "the HaVip's id",
    "vip": "the HaVip's address",
    "interface": "a network interface (ENI) id",
    "port": "a host-side device name",
    "kind": "what kind of thing the event is about (a report kind, an action kind, ...)",
    "outcome": "how an attempt ended (a verdict, an enum value)",
    "reason": "why, as a short phrase or an enum value",
    "revision": "the desired-state revision",
    "latency_us": "a measured switch latency, in microseconds",
    "announced_us": "from a claim's GARP to its claim messages sent to the other hosts, in microseconds",
    "arrived_us": "from a claim's GARP on the claiming host to its claim message's arrival here, in microseconds",
    "error": "an error's text; with a traceback, the whole traceback",
    "count": "how many",
    "others": "how many others (e.g. other members that answered)",
    "actions": "how many actions a plan applied",
    "seconds": "a duration or a delay, in seconds",
    "resets": "how many resets",
    "epoch": "a claim's epoch: claims of a HaVip are ordered by it",
    "peer": "another host (its name) whose agent a claim message went to or came from",
    "source": "the address a datagram came from",
    # the server: requests
    "request_id": "the request's id, as in its X-Request-Id answer header and error bodies",
    "method": "the HTTP method",
    "route": "the route template (/v1/havips/{havip_id}), never the raw path",
    "status": "the HTTP status of the answer",
    "duration_ms": "how long the request took, in milliseconds",
    "account": "the account id a request acted for",
    "code": "the error code of the answer (docs/errors.md); OK on a facade's success",
    "our_code": "the native error code behind a cloud facade's code",
    "cloud": "the cloud facade (alibaba, tencent)",
    "action": "the cloud facade's action (CreateHaVip, ...)",
    "checks": "the readiness checks and their results",
    # the server: process and store
    "address": "the address the server listens on",
    "regions": "the regions the server serves",
    "default_region": "the region a request without one gets",
    "db": "the store's URL, without its password",
    "path": "a file path",
    "entries": "which entries were written",
    "column": "a store column (table.column)",
    "socket": "a unix socket path",
    "message": "a message sent or received (sd_notify, ...)",
}
"""Every field name a log line may carry besides ``ts``, ``level``, ``logger`` and ``event``, with
what it means."""

BASE_FIELDS = ("ts", "level", "logger", "event")

_BOUND: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("havip_log_fields", default=None)


class LogFormat(enum.StrEnum):
    """``--log-format`` of serve and agent."""

    json = "json"
    text = "text"


def check_fields(fields: Mapping[str, Any]) -> None:
    """A ``ValueError`` naming the fields outside the vocabulary, if any."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"log fields outside the fixed vocabulary: {sorted(unknown)}")


def event(
    logger: logging.Logger,
    name: str,
    *,
    level: int = logging.INFO,
    exc_info: bool | BaseException = False,
    **fields: Any,
) -> None:
    """Log event ``name`` with ``fields`` (names from ``FIELDS`` only; ``None`` values are left out).

    ``exc_info``: ``True`` for the exception being handled, or an exception; its traceback is the
    line's ``error``."""
    check_fields(fields)
    if logger.isEnabledFor(level):
        own = {k: v for k, v in fields.items() if v is not None}
        logger.log(level, name, exc_info=exc_info, extra={"havip_fields": {**bound_fields(), **own}})


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Within the block, every record logged in this context also carries ``fields``."""
    check_fields(fields)
    token = _BOUND.set({**(_BOUND.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _BOUND.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` to those bound by the enclosing ``bound`` block (nothing outside one).

    The bound fields are one dict shared by the contexts copied from the block's (a thread pool's
    worker, an exception handler), so a field bound there shows on the lines logged after it."""
    check_fields(fields)
    current = _BOUND.get()
    if current is not None:
        current.update((k, v) for k, v in fields.items() if v is not None)


def bound_fields() -> dict[str, Any]:
    """The fields bound in the current context (a copy)."""
    return dict(_BOUND.get() or {})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields: those ``event`` gave it (the bound ones included), else for a record of
    another library those bound when it was handled (``CaptureFields``) or, failing that, now."""
    own = getattr(record, "havip_fields", None)
    if isinstance(own, dict):
        return own
    captured = getattr(record, "havip_bound", None)
    return captured if isinstance(captured, dict) else bound_fields()


class CaptureFields(logging.Filter):
    """Copies the bound fields onto another library's record as it is handled (before any queue or
    thread hop); ``event`` records carry theirs already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "havip_fields") and not hasattr(record, "havip_bound"):
            record.havip_bound = bound_fields()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``event``, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(fields_of(record))
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _text_value(value: Any) -> str:
    """A string as is, quoted when it has spaces, quotes or ``=``; anything else as compact JSON."""
    if not isinstance(value, str):
        return json.dumps(value, default=str, separators=(",", ":"))
    return json.dumps(value) if not value or any(c in value for c in ' "=\n\t') else value


class TextFormatter(logging.Formatter):
    """``TS LEVEL LOGGER EVENT key=value ...`` for a terminal; a traceback follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        head = f"{_timestamp(record)} {record.levelname.lower()} {record.name} {record.getMessage()}"
        line = " ".join([head, *(f"{key}={_text_value(value)}" for key, value in fields.items())])
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def formatter(fmt: LogFormat | str = LogFormat.json) -> logging.Formatter:
    return TextFormatter() if LogFormat(fmt) is LogFormat.text else JsonFormatter()


def handler(fmt: LogFormat | str = LogFormat.json, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the formatter of ``fmt`` and the bound fields."""
    out = logging.StreamHandler(stream)
    out.setFormatter(formatter(fmt))
    out.addFilter(CaptureFields())
    return out


def install(level: int = logging.INFO, fmt: LogFormat | str = LogFormat.json, logger: str = "havip") -> None:
    """Send the records of ``logger`` (``""``: every logger, libraries' too) to stderr in ``fmt``."""
    target = logging.getLogger(logger)
    target.handlers[:] = [handler(fmt)]
    target.setLevel(level)
    if logger:
        target.propagate = False
