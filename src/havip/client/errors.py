"""The one exception the client raises.

Every failure a caller of :class:`havip.client.HavipClient` can see is an
:class:`ApiError`: an error answer of the server (its status and the
``{code, message, request_id}`` body) or a transport failure (status
:data:`NO_RESPONSE` and a code of our own, such as ``ConnectionFailed``). Callers
(the CLI, the agent) branch on ``code`` and show ``message``; they never see httpx.
"""

from __future__ import annotations

NO_RESPONSE = 0
"""The ``status`` of an error for which the server sent no answer at all."""


class ApiError(Exception):
    """An error answer of the havip API, or a failure to get one."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        return f"{text} (request {self.request_id})" if self.request_id else text

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r}, {self.request_id!r})"
