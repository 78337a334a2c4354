"""When each host of a lab switched the VIP in a failover, from its agent's own log.

The new holder's host logs ``claim-switched`` (its route to the member's port
acknowledged); every other host that took the claim message logs ``peer-claim-applied``
(its route into the tunnel acknowledged). A host with neither after the failure followed
through the control plane instead (a lost message, or no claim key), or not at all yet:
its time is unknown here, and the timeline says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SWITCHED = "claim-switched"
APPLIED = "peer-claim-applied"


@dataclass(frozen=True)
class HostSwitch:
    host: str
    how: str  # "claim" (its own member's GARP), "peer-claim" (a claim message), "control-plane"
    ms: float | None  # after the failure, from the log line's time; None: not in its log
    latency_us: int | None  # GARP on the claiming host -> this host's route acknowledged

    def as_dict(self) -> dict[str, object]:
        return {"host": self.host, "how": self.how, "ms": self.ms, "latency_us": self.latency_us}


def timestamp_ns(text: object) -> int | None:
    """ns since the epoch of an ISO-8601 time as the API and the logs write it (``Z`` or an
    offset; none: UTC), to the microsecond; None for no time or a malformed one."""
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1_000_000) * 1000


def first_switch(lines: Iterable[str], vip: str, since_ns: int) -> tuple[str, int, int | None] | None:
    """The first ``claim-switched`` or ``peer-claim-applied`` for ``vip`` logged at or after
    ``since_ns``: (event, ns, latency_us)."""
    for line in lines:
        if SWITCHED not in line and APPLIED not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        at = timestamp_ns(rec.get("ts"))
        if rec.get("event") in (SWITCHED, APPLIED) and rec.get("vip") == vip and at is not None and at >= since_ns:
            latency = rec.get("latency_us")
            return str(rec["event"]), at, int(latency) if latency is not None else None
    return None


def host_switches(logs: Mapping[str, Path], vip: str, injected_ns: int) -> list[HostSwitch]:
    """Per host (name -> its agent's log), in the order given."""
    out = []
    for host, path in logs.items():
        try:
            with path.open() as f:
                found = first_switch(f, vip, injected_ns)
        except FileNotFoundError:  # a crashed host's log is gone with it
            found = None
        if found is None:
            out.append(HostSwitch(host, "control-plane", None, None))
            continue
        event, at, latency = found
        how = "claim" if event == SWITCHED else "peer-claim"
        out.append(HostSwitch(host, how, (at - injected_ns) / 1e6, latency))
    return out
