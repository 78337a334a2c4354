"""Rules about a host's agent: who may speak for a host, what a report may carry, when
a heartbeat is written.

Pure functions over plain values (the caller passes the principal's fields, the host's
and the clock's reading); each ``check_*`` raises a ``HavipError`` with a stable code
when its rule is broken. Called by ``service.agents``; must not read the store, the
clock or the settings itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from havip.domain.errors import Forbidden, InvalidParameter
from havip.domain.limits import REPORT_BATCH_MAX, REPORT_CAUSE_MAX, REPORT_LATENCY_MAX_US
from havip.domain.model import Role

HEARTBEAT_EVERY = 5.0
"""Seconds between two heartbeat writes of one host when its agent says nothing new: a poll
answered at once after every change must not write each time (the lease is 90 s)."""


def check_agent_access(
    *,
    role: Role,
    principal_host_id: str | None,
    cert_names: Collection[str] | None,
    host_id: str,
    host_name: str,
    cert_required: bool,
) -> None:
    """Only the operator or the host's own agent may read its state or report its claims.

    With ``cert_required`` (mTLS) the agent's key counts only together with a verified
    client certificate named after the host (``cert_names``: None when there was none).
    """
    if role is Role.OPERATOR:
        return
    if role is not Role.AGENT or principal_host_id != host_id:
        raise Forbidden(
            f"only the agent credential of host {host_name} may read its state or report its claims",
            code="Forbidden.NotThisHostsAgent",
        )
    if cert_required and host_name not in (cert_names or ()):
        shown = ", ".join(sorted(cert_names)) if cert_names else "no client certificate"
        raise Forbidden(
            f"the agent key of host {host_name} is accepted only with a client certificate named {host_name} "
            f"(this request came with {shown})",
            code="Forbidden.AgentCertificate",
        )


def check_batch_size(n: int) -> None:
    """A batch carries 1 to ``REPORT_BATCH_MAX`` reports."""
    if not 1 <= n <= REPORT_BATCH_MAX:
        raise InvalidParameter(f"a batch carries 1 to {REPORT_BATCH_MAX} reports, not {n}")


def check_report_fields(*, latency_us: int | None, cause: str) -> None:
    """A report's measured latency is 0 to an hour; its cause is short printable ASCII."""
    if latency_us is not None and not 0 <= latency_us <= REPORT_LATENCY_MAX_US:
        raise InvalidParameter(f"latency_us must be between 0 and {REPORT_LATENCY_MAX_US} (an hour)")
    if len(cause) > REPORT_CAUSE_MAX or not (cause.isascii() and cause.isprintable()):
        raise InvalidParameter(f"cause must be at most {REPORT_CAUSE_MAX} printable ASCII characters")


def heartbeat_due(*, says_something_new: bool, last_seen_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an agent's poll is written as a heartbeat.

    It is when the agent says something new (its version, the revision it applied),
    when it was never seen, or when the last write is ``HEARTBEAT_EVERY`` seconds old.
    """
    if says_something_new or last_seen_at is None:
        return True
    return (now - last_seen_at).total_seconds() >= HEARTBEAT_EVERY
