"""The one exception tree of havip, with stable machine codes.

Every error a user can see is a :class:`HavipError` with a ``code`` (stable, dotted,
documented in docs/errors.md) and a ``kind`` that adapters map to their own status
(HTTP status in the native API, cloud error codes in the facades) through tables.
Callers: the domain rules and the service layer raise these; adapters translate them.
"""

from __future__ import annotations

import enum


class Kind(enum.Enum):
    """What sort of failure an error is; adapters map kinds to transport statuses."""

    INVALID = "invalid"  # the request itself is wrong
    NOT_FOUND = "not_found"  # a named resource does not exist (or is not yours)
    CONFLICT = "conflict"  # the request is fine but the state forbids it now
    QUOTA = "quota"  # a limit would be exceeded
    UNAUTHENTICATED = "unauthenticated"  # no or bad credential
    FORBIDDEN = "forbidden"  # credential valid but not allowed
    INTERNAL = "internal"  # a bug or an unavailable dependency


class HavipError(Exception):
    """Base of every error havip reports to a user."""

    kind: Kind = Kind.INTERNAL
    code: str = "InternalError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidParameter(HavipError):
    kind = Kind.INVALID
    code = "InvalidParameter"


class NotFound(HavipError):
    kind = Kind.NOT_FOUND
    code = "NotFound"

    def __init__(self, resource: str, ident: str) -> None:
        super().__init__(f"{resource} {ident!r} does not exist", code=f"NotFound.{resource}")
        self.resource = resource
        self.ident = ident


class Conflict(HavipError):
    kind = Kind.CONFLICT
    code = "Conflict"


class DependencyViolation(Conflict):
    code = "DependencyViolation"


class IncorrectStatus(Conflict):
    code = "IncorrectStatus"


class QuotaExceeded(HavipError):
    kind = Kind.QUOTA
    code = "QuotaExceeded"

    def __init__(self, quota: str, limit: int, message: str) -> None:
        super().__init__(message, code=f"QuotaExceeded.{quota}")
        self.quota = quota
        self.limit = limit


class Unauthenticated(HavipError):
    kind = Kind.UNAUTHENTICATED
    code = "Unauthenticated"


class Forbidden(HavipError):
    kind = Kind.FORBIDDEN
    code = "Forbidden"


class Unavailable(HavipError):
    """A dependency (the database, the control plane) cannot be reached right now."""

    kind = Kind.INTERNAL
    code = "ServiceUnavailable"
