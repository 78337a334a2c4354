"""``Store``: an engine, the migrations, and units of work over SQLite or PostgreSQL.

Concurrency: a write unit of work takes the database's write lock at its start —
``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL — so
the rules the service checks inside it (quotas, free addresses, member limits) hold
when requests race. Read units of work take no lock (SQLite runs in WAL mode).
Unique constraints in ``tables`` back this up.

PostgreSQL (``postgresql+psycopg://``; a bare ``postgresql://`` means psycopg too):
writes run at READ COMMITTED, so every statement after the lock sees what the writer
before committed (a REPEATABLE READ snapshot would be taken before the lock is
granted); reads run at REPEATABLE READ, one consistent snapshot per unit of work. A
writer waits at most ``LOCK_TIMEOUT`` for the lock and is then ``Unavailable``, as
SQLite's busy timeout makes it. ``touch`` sends ``NOTIFY`` naming the hosts it touched in
its transaction (``changes``); migrations take a session advisory lock of their own, so replicas that
start together migrate one after the other.

A database that cannot write because its storage is full (SQLite's ``SQLITE_FULL``,
PostgreSQL's ``53100 disk_full``), wherever in a unit of work it shows (a flush, the
revision bump, the commit), is ``Unavailable`` with the code
``ServiceUnavailable.StorageFull`` (HTTP 503): the transaction is rolled back, so nothing of
the refused write remains, and the next write succeeds once there is space again, without a
restart. Any other ``OperationalError`` inside a unit of work is ``ServiceUnavailable``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event, func, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from havip import logs
from havip.domain import model as m
from havip.domain.errors import Conflict, Unavailable
from havip.store import tables
from havip.store.changes import CHANNEL, PgListener, RevisionHub, SqlitePoller, StoreChanges, payloads
from havip.store.repository import SqlRepository
from havip.store.storable import check_session

log = logging.getLogger("havip.store")

_PG_WRITE_LOCK = 0x4856_4950  # "HVIP": one advisory lock serialises writers
_PG_MIGRATE_LOCK = 0x4856_4D47  # "HVMG": one migration at a time across replicas
LOCK_TIMEOUT = 30.0
"""Seconds a writer waits for the write lock before it is ``Unavailable`` (both engines)."""
EXPECTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
SQLITE_POLL_INTERVAL = 0.1
"""Seconds between two looks at a SQLite revision for commits of other processes."""


def normalise_url(url: str) -> URL:
    """The URL with a driver we ship: ``postgresql://`` (or ``postgres://``) means psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_engine(url: URL, immediate: bool, lock_timeout: float) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": lock_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cur.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns, also in WAL mode
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _pg_engines(url: URL, lock_timeout: float) -> tuple[Engine, Engine]:
    """(read, write): separate pools, so readers never queue behind writers waiting for the lock."""
    named = {"application_name": "havip"}  # how replicas show in pg_stat_activity
    read = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=15,
        isolation_level="REPEATABLE READ",
        connect_args=named,
    )
    write = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=15,
        isolation_level="READ COMMITTED",
        connect_args={**named, "options": f"-c lock_timeout={int(lock_timeout * 1000)}"},
    )
    return read, write


SQLITE_FULL = 13
"""SQLite's primary result code for "database or disk is full"."""
PG_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE ``disk_full``."""


def storage_full(exc: OperationalError) -> bool:
    """Whether the database refused because its storage is full (either engine)."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
        return True
    if getattr(orig, "sqlstate", None) == PG_DISK_FULL:
        return True
    return "database or disk is full" in str(orig)


def unavailable(exc: OperationalError, doing: str) -> Unavailable:
    """The error a caller sees for an ``OperationalError`` while the store was ``doing`` something."""
    if storage_full(exc):
        return Unavailable(
            f"the database's storage is full: {doing} was refused and nothing of it was kept; "
            "it succeeds again once there is space",
            code="ServiceUnavailable.StorageFull",
        )
    return Unavailable(f"the database is not available ({doing}): {exc.orig}")


@contextlib.contextmanager
def _unavailable_on_error() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise unavailable(exc, "the schema") from exc


class Store:
    """The database behind the control plane, addressed by a SQLAlchemy URL."""

    def __init__(
        self, url: str, *, poll_interval: float = SQLITE_POLL_INTERVAL, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        tables.start_mappers()
        self.url = url
        try:
            parsed = normalise_url(url)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc}); expected {EXPECTED_URLS}") from None
        self.dialect = parsed.get_backend_name()
        shown = parsed.render_as_string(hide_password=True)
        hub = RevisionHub()
        try:
            if self.dialect == "sqlite":
                db = parsed.database
                if db and db != ":memory:":
                    Path(db).parent.mkdir(parents=True, exist_ok=True)
                self._read = _sqlite_engine(parsed, immediate=False, lock_timeout=lock_timeout)
                self._write = _sqlite_engine(parsed, immediate=True, lock_timeout=lock_timeout)
                self.changes = StoreChanges(hub, SqlitePoller(hub, self._read, poll_interval))
            elif self.dialect == "postgresql":
                self._read, self._write = _pg_engines(parsed, lock_timeout)
                self.changes = StoreChanges(hub, PgListener(hub, parsed))
            else:
                raise ValueError(f"unsupported database {shown}; expected {EXPECTED_URLS}")
        except (ArgumentError, ImportError) as exc:
            raise ValueError(f"cannot open {shown}: {exc}; expected {EXPECTED_URLS}") from exc
        self._read_sessions = sessionmaker(self._read, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write, expire_on_commit=False)
        event.listen(self._write_sessions, "before_flush", check_session)

    def migrate(self) -> tuple[str | None, str | None]:
        """Bring the schema to the newest migration (idempotent); (revision before, after)."""
        from havip.store.migrate import current, upgrade

        with _unavailable_on_error(), self._write.connect() as conn:
            if self.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_lock(_PG_MIGRATE_LOCK)))
                conn.commit()
            try:
                before = current(conn)
                upgrade(conn)
                return before, current(conn)
            finally:
                if self.dialect == "postgresql":
                    conn.rollback()
                    conn.execute(select(func.pg_advisory_unlock(_PG_MIGRATE_LOCK)))
                    conn.commit()

    def schema_revision(self) -> str | None:
        """The migration the database is at (None: an empty database)."""
        from havip.store.migrate import current

        with _unavailable_on_error(), self._read.connect() as conn:
            return current(conn)

    def head_revision(self) -> str:
        """The newest migration this code ships (``schema_revision`` is at it after ``migrate``)."""
        from havip.store.migrate import head

        return head()

    def uow(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, write)

    def dispose(self) -> None:
        self.changes.close()
        self._read.dispose()
        self._write.dispose()

    def session(self, write: bool) -> Session:
        return (self._write_sessions if write else self._read_sessions)()


class SqlUnitOfWork:
    def __init__(self, store: Store, write: bool) -> None:
        self._store = store
        self._write = write
        self._bumped: int | None = None
        self._touched: set[str] = set()

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
            raise unavailable(exc, "beginning a transaction") from exc
        self.accounts = SqlRepository(s, m.Account)
        self.api_keys = SqlRepository(s, m.ApiKey)
        self.access_keys = SqlRepository(s, m.AccessKey)
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
        if isinstance(exc, OperationalError):  # a flush or statement the database refused
            raise unavailable(exc, "a write" if self._write else "a read") from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            logs.event(log, "commit-refused", level=logging.WARNING, reason="a constraint", error=str(exc.orig))
            raise Conflict(
                "the request conflicts with a concurrent change (a unique address, name or token); retry it",
                code="Conflict.Concurrent",
            ) from exc
        except OperationalError as exc:
            self.session.rollback()
            raise unavailable(exc, "the commit") from exc
        if self._bumped is not None and self._store.dialect == "sqlite":
            # PostgreSQL: NOTIFY reaches every replica
            self._store.changes.committed(self._bumped, self._touched)
        self._bumped, self._touched = None, set()

    def rollback(self) -> None:
        self.session.rollback()
        self._bumped, self._touched = None, set()

    def flush(self) -> None:
        self.session.flush()

    def touch(self, *, vpc_ids: Iterable[str] = (), host_ids: Iterable[str] = (), all_hosts: bool = False) -> int:
        """Set a new global revision on the hosts this write changes (``UnitOfWork.touch``).

        One statement finds and updates them (the hosts named, and those with an interface in
        ``vpc_ids`` as this transaction sees them); on PostgreSQL the notifications naming
        them are sent with the commit. Host rows already loaded get the new value too."""
        if self._bumped is None:
            self._bumped = self._advance()
        value = self._bumped
        self.session.flush()  # the interfaces this transaction moved count
        h, i = tables.hosts, tables.network_interfaces
        stmt = update(h).values(revision=value).returning(h.c.id)
        if not all_hosts:
            vpcs, named = sorted(set(vpc_ids)), sorted(set(host_ids))
            if not vpcs and not named:
                return value
            in_vpcs = select(i.c.host_id).where(i.c.vpc_id.in_(vpcs), i.c.host_id.is_not(None))
            stmt = stmt.where(or_(h.c.id.in_(named), h.c.id.in_(in_vpcs)))
        touched = {str(r[0]) for r in self.session.execute(stmt)} - self._touched
        for obj in self.session.identity_map.values():
            if isinstance(obj, m.Host) and obj.id in touched:
                set_committed_value(obj, "revision", value)
        if touched and self._store.dialect == "postgresql":
            for payload in payloads(value, touched):
                self.session.execute(select(func.pg_notify(CHANNEL, payload)))
        self._touched |= touched
        return value

    def _advance(self) -> int:
        t = tables.state_revision
        stmt = update(t).where(t.c.id == 1).values(value=t.c.value + 1).returning(t.c.value)
        return int(self.session.execute(stmt).scalar_one())

    def revision(self) -> int:
        t = tables.state_revision
        return int(self.session.scalar(select(t.c.value).where(t.c.id == 1)) or 0)


def _pg_lock() -> Any:
    return func.pg_advisory_xact_lock(_PG_WRITE_LOCK)
