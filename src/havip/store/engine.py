"""``Store``: an engine, the migrations, and units of work over SQLite or PostgreSQL.

Concurrency: a write unit of work takes the database's write lock at its start —
``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL — so
the rules the service checks inside it (quotas, free addresses, member limits) hold
when requests race. Read units of work take no lock (SQLite runs in WAL mode).
Unique constraints in ``tables`` back this up.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from havip.domain import model as m
from havip.domain.errors import Conflict, Unavailable
from havip.store import tables
from havip.store.repository import SqlRepository

log = logging.getLogger("havip.store")

_PG_WRITE_LOCK = 0x4856_4950  # "HVIP": one advisory lock serialises writers


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """The database behind the control plane, addressed by a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        tables.start_mappers()
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            self._read = _sqlite_engine(url, immediate=False)
            self._write = _sqlite_engine(url, immediate=True)
        else:
            self._read = create_engine(url, pool_pre_ping=True)
            self._write = self._read
        self._read_sessions = sessionmaker(self._read, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from havip.store.migrate import upgrade

        upgrade(self._write, self.url)

    def uow(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, write)

    def dispose(self) -> None:
        self._read.dispose()
        if self._write is not self._read:
            self._write.dispose()

    def session(self, write: bool) -> Session:
        return (self._write_sessions if write else self._read_sessions)()


class SqlUnitOfWork:
    def __init__(self, store: Store, write: bool) -> None:
        self._store = store
        self._write = write
        self._committed = False

    def __enter__(self) -> Self:
        s = self._store.session(self._write)
        self.session = s
        try:
            if self._write and self._store.dialect == "postgresql":
                s.execute(select(_pg_lock()))
            else:
                s.connection()  # begin now: the write lock is taken here, not mid-way
        except OperationalError as exc:
            s.close()
            raise Unavailable(f"the database is not available: {exc.orig}") from exc
        self.accounts = SqlRepository(s, m.Account)
        self.api_keys = SqlRepository(s, m.ApiKey)
        self.quota_overrides = SqlRepository(s, m.QuotaOverride)
        self.hosts = SqlRepository(s, m.Host)
        self.vpcs = SqlRepository(s, m.Vpc)
        self.subnets = SqlRepository(s, m.Subnet)
        self.instances = SqlRepository(s, m.Instance)
        self.interfaces = SqlRepository(s, m.NetworkInterface)
        self.havips = SqlRepository(s, m.HaVip)
        self.members = SqlRepository(s, m.HaVipMember)
        self.events = SqlRepository(s, m.HaVipEvent)
        self.eip_pools = SqlRepository(s, m.EipPool)
        self.eips = SqlRepository(s, m.Eip)
        self.route_tables = SqlRepository(s, m.RouteTable)
        self.route_entries = SqlRepository(s, m.RouteEntry)
        self.idempotency = SqlRepository(s, m.IdempotencyRecord)
        self.allocations = SqlRepository(s, m.IpAllocation)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() alone: it ends an uncommitted transaction (the pool rolls it back)
        # without expiring what the session loaded; rollback() would expire it, and
        # SQLAlchemy 2.1 then fails on any attribute read of a returned object
        self.session.close()

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            log.warning("commit refused by a constraint: %s", exc.orig)
            raise Conflict(
                "the request conflicts with a concurrent change (a unique address, name or token); retry it",
                code="Conflict.Concurrent",
            ) from exc
        except OperationalError as exc:
            self.session.rollback()
            raise Unavailable(f"the database could not commit: {exc.orig}") from exc
        self._committed = True

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()

    def bump_revision(self) -> int:
        t = tables.state_revision
        self.session.execute(update(t).where(t.c.id == 1).values(value=t.c.value + 1))
        return self.revision()

    def revision(self) -> int:
        t = tables.state_revision
        return int(self.session.scalar(select(t.c.value).where(t.c.id == 1)) or 0)


def _pg_lock() -> Any:
    from sqlalchemy import func

    return func.pg_advisory_xact_lock(_PG_WRITE_LOCK)
