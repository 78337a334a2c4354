"""The exit statuses of ``havip``: one number per kind of failure, for programs.

:class:`ExitCode` is the only place the numbers are written. :func:`exit_code` maps an
error's code (and the HTTP status of the server's answer, when there was one) to its
status through two tables; ``scripts/gen_cli_doc.py`` renders the same tables into
docs/cli.md. The numbers are stable: a new kind of failure gets a new number, an old
number never changes its meaning. Nothing here prints or talks to the server.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    STARTUP_FAILED = 3
    INVALID = 4
    NOT_FOUND = 5
    CONFLICT = 6
    QUOTA = 7
    DENIED = 8
    SERVER = 9
    UNREACHABLE = 10


MEANING: Mapping[ExitCode, str] = {
    ExitCode.OK: "The command did what it was asked.",
    ExitCode.FAILED: "Any other failure: a `keepalived check` with findings, a lab that failed, "
    "an unreadable credentials file, an error of no kind below.",
    ExitCode.USAGE: "The command line is wrong (unknown command or option, a missing or bad argument); "
    "nothing was sent. Click's own status.",
    ExitCode.STARTUP_FAILED: "`havip serve` could not start listening (e.g. the address is in use).",
    ExitCode.INVALID: "The server (or the CLI) refused a parameter: HTTP 400, codes `Invalid...`.",
    ExitCode.NOT_FOUND: "A resource (or a name given in place of an id) does not exist: HTTP 404, codes `NotFound...`.",
    ExitCode.CONFLICT: "The resource's state forbids it: HTTP 409 (in use, a dependency, an incorrect status, "
    "an address taken), or a name that matches more than one resource (`AmbiguousName`).",
    ExitCode.QUOTA: "A quota would be exceeded: codes `QuotaExceeded...` (HTTP 403).",
    ExitCode.DENIED: "Authentication or permission: HTTP 401 or 403 (not a quota), or no key to use (`NoCredentials`).",
    ExitCode.SERVER: "The server failed: HTTP 5xx, `ServiceUnavailable` (e.g. its database is unreachable), "
    "or it answered with something that is not the API's JSON (`InvalidResponse`).",
    ExitCode.UNREACHABLE: "No answer from the server: connection refused, timeout, TLS failure "
    "(`ConnectionFailed`, `Timeout`, `TlsFailed`, `TransportError`).",
}
"""What each status means (docs/cli.md)."""

BY_CODE: tuple[tuple[str, ExitCode], ...] = (
    ("QuotaExceeded", ExitCode.QUOTA),
    ("NotFound", ExitCode.NOT_FOUND),
    ("AmbiguousName", ExitCode.CONFLICT),
    ("NoCredentials", ExitCode.DENIED),
    ("ServiceUnavailable", ExitCode.SERVER),
    ("InvalidResponse", ExitCode.SERVER),  # a 2xx answer that is not the API's JSON
)
"""Error codes (and their dotted sub-codes) that say more than their HTTP status: checked first."""

BY_STATUS: Mapping[int, ExitCode] = {
    0: ExitCode.UNREACHABLE,  # havip.client.NO_RESPONSE: the server sent no answer
    400: ExitCode.INVALID,
    401: ExitCode.DENIED,
    403: ExitCode.DENIED,
    404: ExitCode.NOT_FOUND,
    405: ExitCode.INVALID,
    409: ExitCode.CONFLICT,
    413: ExitCode.INVALID,
    422: ExitCode.INVALID,
}
"""HTTP statuses of the server's answer; any other 4xx is INVALID, any 5xx SERVER."""


def exit_code(code: str, status: int | None = None) -> ExitCode:
    """The exit status for an error ``code``; ``status`` is the HTTP status when the server answered
    (``0`` when it did not), ``None`` for a failure of the CLI itself."""
    for prefix, exit in BY_CODE:
        if code == prefix or code.startswith(prefix + "."):
            return exit
    if status is not None:
        if status in BY_STATUS:
            return BY_STATUS[status]
        if status >= 500:
            return ExitCode.SERVER
        return ExitCode.INVALID if status >= 400 else ExitCode.FAILED
    return ExitCode.INVALID if code.startswith("Invalid") else ExitCode.FAILED
