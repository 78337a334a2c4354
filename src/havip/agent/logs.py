"""Structured logs of the agent: one JSON object per line with fixed field names.

Every line has ``ts`` (RFC 3339, UTC), ``level``, ``logger`` and ``event`` (a short
kebab-case name such as ``claim-switched``); the other fields come from this fixed
vocabulary so logs can be queried across versions: ``havip``, ``vip``, ``interface``,
``port``, ``kind``, ``outcome``, ``reason``, ``revision``, ``latency_us``, ``error``,
``count``, ``others``, ``actions``, ``seconds``, ``resets``. ``event()`` is what the agent's modules
call; ``JsonFormatter`` is installed by ``havip agent``. No I/O beyond ``logging``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

FIELDS = (
    "havip",
    "vip",
    "interface",
    "port",
    "kind",
    "outcome",
    "reason",
    "revision",
    "latency_us",
    "error",
    "count",
    "others",
    "actions",
    "seconds",
    "resets",
)


def event(
    logger: logging.Logger, name: str, *, level: int = logging.INFO, exc_info: bool = False, **fields: Any
) -> None:
    """Log event ``name`` with ``fields`` (names from ``FIELDS`` only); ``exc_info``: the
    exception being handled, traceback included, as ``error``."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"log fields outside the fixed vocabulary: {sorted(unknown)}")
    if logger.isEnabledFor(level):
        logger.log(
            level, name, exc_info=exc_info, extra={"havip_fields": {k: v for k, v in fields.items() if v is not None}}
        )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(getattr(record, "havip_fields", {}))
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def install(level: int = logging.INFO) -> None:
    """Send the ``havip`` loggers' records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("havip")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
