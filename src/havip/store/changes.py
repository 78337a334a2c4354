"""How a waiting long poll learns that the desired-state revision moved.

``Store.changes`` is the service's ``RevisionFeed``: ``subscribe(callback)`` calls
``callback(revision)`` from some thread whenever a newer revision may be committed.
The sources behind it:

- PostgreSQL: the write unit of work that bumps the revision sends ``NOTIFY`` in the
  same transaction (delivered only if it commits), and one listener thread per store
  holds a ``LISTEN`` connection. Every replica on the database hears every commit, its
  own included, within a millisecond. After a lost connection the listener reconnects
  with backoff and publishes the current revision, so nothing missed stays missed.
- SQLite: a unit of work that bumped the revision publishes it after its commit
  (in-process, no delay); a poller thread looks at the stored revision every
  ``poll_interval`` seconds while anyone waits, for commits by another process on the
  same file.

Callbacks run on the listener's, poller's or committer's thread: they must be quick
and must not raise (the API's only sets an event on its loop). This module knows
nothing about HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import NullPool

from havip import logs
from havip.store import tables

log = logging.getLogger("havip.store.changes")

CHANNEL = "havip_revision"
"""The PostgreSQL notification channel; the payload is the new revision."""

RECONNECT_BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Seconds between the listener's attempts to reconnect (the last one repeats)."""

Callback = Callable[[int], None]


class RevisionHub:
    """Subscribers and the newest revision published; ``publish`` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, Callback] = {}
        self._next = 0
        self._latest: int | None = None
        self.subscribed = threading.Event()
        """Set while anyone is subscribed (the SQLite poller sleeps otherwise)."""

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        with self._lock:
            key = self._next
            self._next += 1
            self._subscribers[key] = callback
            self.subscribed.set()

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(key, None)
                if not self._subscribers:
                    self.subscribed.clear()

        return unsubscribe

    def publish(self, revision: int, *, force: bool = False) -> None:
        """Tell every subscriber about ``revision`` unless an equal or newer one was published."""
        with self._lock:
            if not force and self._latest is not None and revision <= self._latest:
                return
            self._latest = revision if self._latest is None else max(revision, self._latest)
            callbacks = list(self._subscribers.values())
        for callback in callbacks:
            try:
                callback(revision)
            except Exception:  # one broken subscriber must not starve the others
                logs.event(log, "revision-subscriber-failed", level=logging.ERROR, exc_info=True, revision=revision)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._subscribers)


def read_revision(engine: Engine) -> int:
    t = tables.state_revision
    with engine.connect() as conn:
        return int(conn.scalar(select(t.c.value).where(t.c.id == 1)) or 0)


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
        while not self.stopping:
            self.hub.subscribed.wait()
            if self.stopping:
                return
            try:
                self.hub.publish(read_revision(self._engine))
            except Exception as exc:  # the database may be busy or gone for a moment
                logs.event(log, "revision-poll-failed", level=logging.WARNING, error=str(exc))
            self.sleep(self._interval)


class PgListener(_Worker):
    """Holds a ``LISTEN`` connection and publishes each revision notified on ``CHANNEL``."""

    name = "havip-pg-listener"

    def __init__(self, hub: RevisionHub, url: Any, read_engine: Engine) -> None:
        super().__init__(hub)
        # a connection of its own, outside the pools: it lives as long as the store
        self._engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": "havip-listener"})
        self._read_engine = read_engine
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
            self.hub.publish(read_revision(self._read_engine), force=True)
            while not self.stopping:
                for note in conn.notifies(timeout=0.5):
                    self.hub.publish(int(note.payload))
        finally:
            self.connected.clear()
            raw.close()


class StoreChanges:
    """The ``RevisionFeed`` of one store: a hub and the source that feeds it, started on first use."""

    def __init__(self, hub: RevisionHub, source: _Worker) -> None:
        self.hub = hub
        self.source = source

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        unsubscribe = self.hub.subscribe(callback)
        self.source.ensure_started()
        return unsubscribe

    def committed(self, revision: int) -> None:
        """A unit of work of this process committed ``revision`` (SQLite's in-process path)."""
        self.hub.publish(revision)

    def close(self) -> None:
        self.source.stop()
