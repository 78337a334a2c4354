"""A readable dump of what the agent wants and what it saw, for debugging.

``snapshot(agent)`` returns plain JSON-able data: the desired state as the control
plane sent it, the host model built from it, the last kernel read-back (only objects
the agent looks at), the local claims not yet confirmed, the claim path's view, the
last discovery round and the last flow reset. Served at ``/debug/state`` of the metrics endpoint and printed
by ``havip agent --dump`` (one-shot, with the plan that a reconcile would apply).
No kernel I/O here: it formats what the agent already holds.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from havip.agent.runtime import Agent


def jsonable(value: Any) -> Any:
    """Dataclasses, mappings, sets and enums as JSON-able values (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _key(k: Any) -> str:
    return "/".join(map(str, k)) if isinstance(k, tuple) else str(k)


def snapshot(agent: Agent) -> dict[str, Any]:
    cp = agent.claim_path
    return {
        "host": agent.host_name,
        "reconciled_revision": agent.reconciled_revision,
        "desired_state": jsonable(agent.state),
        "desired_host": jsonable(agent.desired),
        "observed": jsonable(agent.observed),
        "local_claims": jsonable(agent.ledger.local().claims),
        "claim_view": jsonable(agent.ledger.view),
        "last_round": jsonable(cp.last_round),
        "last_flow_reset": jsonable(agent.resetter.last),
        "reports_pending": agent.reporter.pending(),
        "loops": {"alive": agent.loops.alive(), "fatal": jsonable(agent.loops.fatal)},
    }
