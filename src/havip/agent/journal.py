"""The local claims this agent switched and the control plane has not acknowledged, on disk.

The kernel keeps the routes a claim switched across an agent's crash, but the report
of that claim lived only in the reporter's queue: a restarted agent found the control
plane's older holder, routed the VIP back to it and never told anyone (the reliability
matrix's "agent SIGKILL during a mass failover" showed it: the control plane never learnt
the new holder). So each switched claim is appended here before its report is queued,
and a delivery appends a ``done`` line; a new agent reads the file before its first
reconcile (``Journal.open``), queues the undelivered claims again and holds their routes
as local claims until the control plane has judged them, exactly as the dead process
would have.

One JSON object per line, appended with ``O_APPEND`` and no ``fsync``: a process crash
keeps what the page cache has (what the journal is for); a machine crash loses the
kernel's routes as well, and with them what the journal would protect. A torn last line
(a kill in the middle of a write) is skipped. The file is rewritten with only the
undelivered claims when it is opened, and emptied whenever nothing is pending and it has
grown past ``COMPACT_LINES``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from havip.agent.logs import event

log = logging.getLogger("havip.agent.journal")

COMPACT_LINES = 4096


@dataclass(frozen=True)
class Entry:
    """A switched claim as its report needs it."""

    havip_id: str
    interface_id: str
    kind: str  # ReportKind value: claim, or probe-answer for a heal
    at_ns: int
    cause: str
    latency_us: int | None = None
    epoch: int = 0

    @property
    def key(self) -> str:
        return key_of(self.havip_id, self.interface_id, self.at_ns)


def key_of(havip_id: str, interface_id: str, at_ns: int) -> str:
    """What names a claim in the journal (its ``done`` line names it the same way)."""
    return f"{havip_id}/{interface_id}/{at_ns}"


def journal_path(state_dir: Path, host: str) -> Path:
    """One file per host name, so agents of several lab hosts on one machine never share one."""
    return state_dir / f"claims-{host}.journal"


def _read(path: Path) -> list[Entry]:
    """The undelivered entries of an existing journal, in the order they were switched."""
    pending: dict[str, Entry] = {}
    torn = 0
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
            if rec.get("op") == "done":
                pending.pop(str(rec["key"]), None)
            else:
                e = Entry(**{k: v for k, v in rec.items() if k != "op"})
                pending[e.key] = e
        except (ValueError, TypeError, KeyError):
            torn += 1
    if torn:
        event(log, "journal-torn", path=str(path), count=torn, level=logging.WARNING)
    return list(pending.values())


class Journal:
    def __init__(self, path: Path, pending: list[Entry]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._pending = {e.key for e in pending}
        self._lines = len(pending)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @classmethod
    def open(cls, path: Path) -> tuple[Journal, list[Entry]]:
        """The journal at ``path`` (created if absent, with its directory) and the claims a
        previous process switched but never saw delivered; the file keeps only those."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pending = _read(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps({"op": "claim", **asdict(e)}) + "\n" for e in pending))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        if pending:
            event(log, "journal-replay", path=str(path), count=len(pending))
        return cls(path, pending), pending

    def _append(self, rec: dict[str, object]) -> None:
        os.write(self._fd, (json.dumps(rec) + "\n").encode())
        self._lines += 1

    def switched(self, entry: Entry) -> None:
        """A claim moved a route: on disk before its report is queued."""
        with self._lock:
            self._append({"op": "claim", **asdict(entry)})
            self._pending.add(entry.key)

    def delivered(self, key: str) -> None:
        """The control plane answered the claim's report (whatever it judged)."""
        with self._lock:
            if key not in self._pending:
                return
            self._pending.discard(key)
            self._append({"op": "done", "key": key})
            if not self._pending and self._lines > COMPACT_LINES:
                os.ftruncate(self._fd, 0)
                self._lines = 0

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
