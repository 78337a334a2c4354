"""How a waiting long poll learns that its host's desired-state revision moved.

``Store.changes`` is the service's ``RevisionFeed``: ``subscribe(host_id, callback)`` calls
``callback(revision)`` from some thread whenever host ``host_id``'s revision may have moved
(``callback(None)`` when any host's may have). A write names the hosts it touched
(``SqlUnitOfWork.touch``), and only their subscribers hear of it: a claim in a VPC of 10
hosts wakes 10 long polls, whatever the fleet's size. The sources behind it:

- PostgreSQL: the write unit of work sends ``NOTIFY`` in the same transaction (delivered
  only if it commits), one notification per chunk of hosts (``payloads``: the revision and
  host ids, under PostgreSQL's 8000-byte limit), and one listener thread per store holds
  a ``LISTEN`` connection. Every replica on the database hears every commit, its own
  included, within a millisecond. After a lost connection the listener reconnects with
  backoff and tells everyone to look again (``None``), so nothing missed stays missed.
- SQLite: a unit of work that touched hosts publishes them after its commit (in-process,
  no delay); a poller thread looks at the stored global revision every ``poll_interval``
  seconds while anyone waits and, when it moved, publishes the hosts whose revision is
  newer than what it saw (commits by another process on the same file).

Callbacks run on the listener's, poller's or committer's thread: they must be quick
and must not raise (the API's only sets an event on its loop). This module knows
nothing about HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import NullPool

from havip import logs
from havip.store import tables

log = logging.getLogger("havip.store.changes")

CHANNEL = "havip_revision"
"""The PostgreSQL notification channel; a payload is ``REVISION:HOST_ID,HOST_ID,...`` (``payloads``)."""

PAYLOAD_LIMIT = 7900
"""Bytes of one notification's payload at most (PostgreSQL refuses 8000 and more)."""

RECONNECT_BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Seconds between the listener's attempts to reconnect (the last one repeats)."""

Callback = Callable[[int | None], None]


def payloads(revision: int, host_ids: Iterable[str]) -> list[str]:
    """The notifications that name ``host_ids`` at ``revision``, each under ``PAYLOAD_LIMIT`` bytes."""
    head = f"{revision}:"
    out: list[str] = []
    chunk: list[str] = []
    size = len(head)
    for host_id in sorted(set(host_ids)):
        if chunk and size + 1 + len(host_id) > PAYLOAD_LIMIT:
            out.append(head + ",".join(chunk))
            chunk, size = [], len(head)
        chunk.append(host_id)
        size += len(host_id) + 1
    if chunk:
        out.append(head + ",".join(chunk))
    return out


def parse_payload(payload: str) -> tuple[int, list[str] | None]:
    """(revision, the hosts named) of a notification; ``None``: it names nobody (a bare
    revision, as an older replica sends it), so every host must look again.

    Raises ``ValueError`` on anything else."""
    revision, sep, hosts = payload.partition(":")
    if not sep:
        return int(revision), None
    return int(revision), [h for h in hosts.split(",") if h]


class RevisionHub:
    """Subscribers by host and the newest revision published for each; ``publish`` may be
    called from any thread and costs in proportion to the hosts it names, not to the waiters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, dict[int, Callback]] = {}
        self._count = 0
        self._next = 0
        self._latest: dict[str, int] = {}
        self.subscribed = threading.Event()
        """Set while anyone is subscribed (the SQLite poller sleeps otherwise)."""

    def subscribe(self, host_id: str, callback: Callback) -> Callable[[], None]:
        with self._lock:
            key = self._next
            self._next += 1
            self._subscribers.setdefault(host_id, {})[key] = callback
            self._count += 1
            self.subscribed.set()

        def unsubscribe() -> None:
            with self._lock:
                of_host = self._subscribers.get(host_id, {})
                if of_host.pop(key, None) is None:
                    return
                self._count -= 1
                if not of_host:
                    del self._subscribers[host_id]
                if not self._count:
                    self.subscribed.clear()

        return unsubscribe

    def publish(self, revision: int, host_ids: Iterable[str]) -> None:
        """Tell the subscribers of ``host_ids`` about ``revision``, skipping a host for which
        an equal or newer one was published (the in-process path and the poller both report)."""
        calls: list[tuple[Callback, int | None]] = []
        with self._lock:
            for host_id in host_ids:
                if self._latest.get(host_id, -1) >= revision:
                    continue
                self._latest[host_id] = revision
                calls += [(cb, revision) for cb in self._subscribers.get(host_id, {}).values()]
        self._call(calls)

    def publish_all(self) -> None:
        """Tell every subscriber to look again: news that names no host (a lost connection)."""
        with self._lock:
            calls: list[tuple[Callback, int | None]] = [
                (cb, None) for of_host in self._subscribers.values() for cb in of_host.values()
            ]
        self._call(calls)

    def _call(self, calls: list[tuple[Callback, int | None]]) -> None:
        for callback, revision in calls:
            try:
                callback(revision)
            except Exception:  # one broken subscriber must not starve the others
                logs.event(log, "revision-subscriber-failed", level=logging.ERROR, exc_info=True, revision=revision)

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._count


def read_revision(engine: Engine) -> int:
    t = tables.state_revision
    with engine.connect() as conn:
        return int(conn.scalar(select(t.c.value).where(t.c.id == 1)) or 0)


def read_hosts_since(engine: Engine, revision: int) -> list[tuple[str, int]]:
    """(host id, revision) of the hosts whose revision is newer than ``revision``."""
    t = tables.hosts
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.revision).where(t.c.revision > revision))
        return [(str(r[0]), int(r[1])) for r in rows]


class _Worker:
    """A daemon thread started on first use and stopped by ``stop``."""

    name = "havip-changes"

    def __init__(self, hub: RevisionHub) -> None:
        self.hub = hub
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.hub.subscribed.set()  # wake a poller that sleeps for want of subscribers
        with self._start_lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when it is time to stop."""
        return self._stop.wait(seconds)

    def _run(self) -> None:
        raise NotImplementedError


class SqlitePoller(_Worker):
    """Publishes the stored revision when another process changed it (only while anyone waits)."""

    name = "havip-sqlite-poller"

    def __init__(self, hub: RevisionHub, engine: Engine, poll_interval: float) -> None:
        super().__init__(hub)
        self._engine = engine
        self._interval = poll_interval

    def _run(self) -> None:
        seen: int | None = None
        while not self.stopping:
            self.hub.subscribed.wait()
            if self.stopping:
                return
            try:
                seen = self._look(seen)
            except Exception as exc:  # the database may be busy or gone for a moment
                logs.event(log, "revision-poll-failed", level=logging.WARNING, error=str(exc))
            self.sleep(self._interval)

    def _look(self, seen: int | None) -> int:
        """Publish what moved since global revision ``seen`` (everyone looks again the first
        time: nothing was seen yet); returns the global revision now."""
        now = read_revision(self._engine)
        if seen is None:
            self.hub.publish_all()
        elif now > seen:
            for host_id, revision in read_hosts_since(self._engine, seen):
                self.hub.publish(revision, [host_id])
        return now


class PgListener(_Worker):
    """Holds a ``LISTEN`` connection and publishes each revision notified on ``CHANNEL``."""

    name = "havip-pg-listener"

    def __init__(self, hub: RevisionHub, url: Any) -> None:
        super().__init__(hub)
        # a connection of its own, outside the pools: it lives as long as the store
        self._engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": "havip-listener"})
        self.connected = threading.Event()
        """Set while the listener's LISTEN is in place (tests wait for it)."""

    def stop(self) -> None:
        super().stop()
        self._engine.dispose()

    def _run(self) -> None:
        failures = 0
        while not self.stopping:
            try:
                self._listen()
                failures = 0
            except Exception as exc:
                self.connected.clear()
                delay = RECONNECT_BACKOFF[min(failures, len(RECONNECT_BACKOFF) - 1)]
                failures += 1
                if not self.stopping:
                    logs.event(log, "revision-listener-lost", level=logging.WARNING, error=str(exc), seconds=delay)
                self.sleep(delay)

    def _listen(self) -> None:
        raw = self._engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            # a change may have been committed while we were not listening
            self.hub.publish_all()
            while not self.stopping:
                for note in conn.notifies(timeout=0.5):
                    self._heard(note.payload)
        finally:
            self.connected.clear()
            raw.close()

    def _heard(self, payload: str) -> None:
        try:
            revision, host_ids = parse_payload(payload)
        except ValueError:
            logs.event(log, "revision-payload-unreadable", level=logging.WARNING, error=repr(payload[:80]))
            self.hub.publish_all()
            return
        if host_ids is None:
            self.hub.publish_all()
        else:
            self.hub.publish(revision, host_ids)


class StoreChanges:
    """The ``RevisionFeed`` of one store: a hub and the source that feeds it, started on first use."""

    def __init__(self, hub: RevisionHub, source: _Worker) -> None:
        self.hub = hub
        self.source = source

    def subscribe(self, host_id: str, callback: Callback) -> Callable[[], None]:
        unsubscribe = self.hub.subscribe(host_id, callback)
        self.source.ensure_started()
        return unsubscribe

    def committed(self, revision: int, host_ids: Iterable[str]) -> None:
        """A unit of work of this process committed ``revision`` for ``host_ids`` (SQLite's in-process path)."""
        self.hub.publish(revision, host_ids)

    def close(self) -> None:
        self.source.stop()
