"""One router per resource family; each handler parses, calls one use case, serialises.

Handlers are sync ``def`` (FastAPI runs them in its threadpool; the store is
synchronous) except the desired-state long poll, which waits without a thread.
"""

from __future__ import annotations

from typing import Any

from havip.contract import Error

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Error, "description": text}
    for status, text in (
        (400, "invalid request (code InvalidParameter... for body and query validation)"),
        (401, "no or bad API key"),
        (403, "not allowed, or a quota would be exceeded (QuotaExceeded...)"),
        (404, "no such resource, or another account's"),
        (409, "the state forbids it now"),
    )
}
"""The error answers every authenticated route may give, for the OpenAPI document."""
