"""An in-memory implementation of the service ports, for unit tests.

``FakeStore`` plays the database, ``FakeUnitOfWork`` a transaction and
``FakeRepository`` a table. Callers: unit tests of the service layer and of the
layers above it (``Ctx(uow=FakeStore().uow, ...)``). It must not grow behaviour the
real store (``havip.store``) does not have; where the port leaves something open it
is chosen as a SQL engine would and said so below.

Transactions. Entering a unit of work takes a deep copy of the committed state; the
repositories hand out the objects of that copy, so mutating one of them is a write,
exactly as with a session's identity map. ``commit()`` publishes a deep copy of the
working state; leaving without it (or calling ``rollback()``) discards the changes.
Objects handed out are therefore detached once their unit of work ends. Readers see
the last committed state (snapshot isolation). A write unit of work holds the
store's lock for its whole duration, so write transactions are serialised as the
store's write lock serialises them; a nested write unit of work in the same thread
raises instead of deadlocking.

Choices the port leaves open, made as ``havip.store`` makes them: ties are broken by
id in the direction of the order; sets are IN like lists; a kind of resource without
``created_at`` is ordered by id under the default ``order_by``. NULLs sort first when
ascending (SQLite's order; PostgreSQL's is the opposite, so do not rely on it). The
store's unique constraints (``UNIQUE``) are checked at ``commit()``, which then rolls
back and raises ``Conflict`` with the store's code ``Conflict.Concurrent``. Where
the store is lenient the fake is strict, so that tests catch misuse: an unknown filter
or order attribute raises ``AttributeError``; adding an id twice raises ``ValueError``
(a primary-key violation); writing in a unit of work opened without ``write=True``
raises ``RuntimeError``.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from havip.domain import model as m
from havip.domain.errors import Conflict
from havip.service.ports import Repository, UnitOfWork, UnitOfWorkFactory

__all__ = ["FakeRepository", "FakeStore", "FakeUnitOfWork"]

_DEFAULT_ORDER = "created_at"


class _Identified(Protocol):
    id: str


T = TypeVar("T", bound=_Identified)

_Rows = dict[str, Any]  # id -> object, one kind of resource

# attribute name on the unit of work -> the resource class it holds
TABLES: dict[str, type[Any]] = {
    "accounts": m.Account,
    "api_keys": m.ApiKey,
    "access_keys": m.AccessKey,
    "quota_overrides": m.QuotaOverride,
    "hosts": m.Host,
    "vpcs": m.Vpc,
    "subnets": m.Subnet,
    "instances": m.Instance,
    "interfaces": m.NetworkInterface,
    "havips": m.HaVip,
    "members": m.HaVipMember,
    "events": m.HaVipEvent,
    "eip_pools": m.EipPool,
    "eips": m.Eip,
    "route_tables": m.RouteTable,
    "route_entries": m.RouteEntry,
    "idempotency": m.IdempotencyRecord,
    "allocations": m.IpAllocation,
}


# the unique constraints of ``havip.store.tables`` (besides ids), by table; NULLs never collide
UNIQUE: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (("name",),),
    "quota_overrides": (("account_id", "name"),),
    "hosts": (("name",), ("underlay",)),
    "vpcs": (("vni",),),
    "interfaces": (("mac",), ("host_id", "device")),
    "havips": (("subnet_id", "ip"),),
    "members": (("havip_id", "member_id"),),
    "eips": (("pool_id", "ip"),),
    "route_entries": (("route_table_id", "destination"),),
    "idempotency": (("account_id", "operation", "token"),),
    "allocations": (("subnet_id", "ip"),),
}


@dataclass(frozen=True)
class _State:
    """One committed version of the whole store; never mutated once published."""

    tables: dict[str, _Rows] = field(default_factory=lambda: {name: {} for name in TABLES})
    revision: int = 0


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)


class FakeRepository(Generic[T]):
    """One kind of resource, over the rows of one unit of work."""

    def __init__(self, cls: type[T], rows: _Rows, unit: FakeUnitOfWork) -> None:
        self._cls = cls
        self._rows = rows
        self._unit = unit
        self._columns = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    def get(self, ident: str) -> T | None:
        obj: T | None = self._rows.get(ident)
        return obj

    def add(self, obj: T) -> None:
        self._unit._check_writable("add")
        if not isinstance(obj, self._cls):
            raise TypeError(f"a {self._cls.__name__} repository cannot store a {type(obj).__name__}")
        current = self._rows.get(obj.id)
        if current is not None and current is not obj:
            raise ValueError(f"{self._cls.__name__} {obj.id!r} already exists")
        self._rows[obj.id] = obj

    def remove(self, obj: T) -> None:
        self._unit._check_writable("remove")
        if self._rows.get(obj.id) is not obj:
            raise ValueError(f"{self._cls.__name__} {obj.id!r} is not in this unit of work")
        del self._rows[obj.id]

    def find(
        self, *, limit: int | None = None, offset: int = 0, order_by: str = _DEFAULT_ORDER, **filters: Any
    ) -> list[T]:
        found = self._matching(filters)
        descending = order_by.startswith("-")
        key = order_by.lstrip("-")
        if key not in self._columns:
            if key != _DEFAULT_ORDER:
                raise AttributeError(f"{self._cls.__name__} has no attribute {key!r} to order by")
            key = "id"
        found.sort(key=lambda obj: (_null_first(getattr(obj, key)), obj.id), reverse=descending)
        end = None if limit is None else offset + limit
        return found[offset:end]

    def count(self, **filters: Any) -> int:
        return len(self._matching(filters))

    def _matching(self, filters: dict[str, Any]) -> list[T]:
        for name in filters:
            if name not in self._columns:
                raise AttributeError(f"{self._cls.__name__} has no attribute {name!r} to filter on")
        tests = [(name, _matcher(value)) for name, value in filters.items()]
        return [obj for obj in self._rows.values() if all(test(getattr(obj, name)) for name, test in tests)]


def _matcher(wanted: Any) -> Any:
    if isinstance(wanted, list | tuple | set | frozenset):
        choices: Iterable[Any] = tuple(wanted)
        return lambda value: any(_equal(value, choice) for choice in choices)
    return lambda value: _equal(value, wanted)


def _equal(value: Any, wanted: Any) -> bool:
    if wanted is None or value is None:
        return value is wanted
    return bool(value == wanted)


class FakeUnitOfWork:
    """One transaction over every repository; see the module docstring."""

    accounts: Repository[m.Account]
    api_keys: Repository[m.ApiKey]
    access_keys: Repository[m.AccessKey]
    quota_overrides: Repository[m.QuotaOverride]
    hosts: Repository[m.Host]
    vpcs: Repository[m.Vpc]
    subnets: Repository[m.Subnet]
    instances: Repository[m.Instance]
    interfaces: Repository[m.NetworkInterface]
    havips: Repository[m.HaVip]
    members: Repository[m.HaVipMember]
    events: Repository[m.HaVipEvent]
    eip_pools: Repository[m.EipPool]
    eips: Repository[m.Eip]
    route_tables: Repository[m.RouteTable]
    route_entries: Repository[m.RouteEntry]
    idempotency: Repository[m.IdempotencyRecord]
    allocations: Repository[m.IpAllocation]

    def __init__(self, store: FakeStore, *, write: bool = False) -> None:
        self._store = store
        self.write = write
        self._tables: dict[str, _Rows] = {}
        self._revision = 0
        self._bumped = False
        self._entered = False
        self._holds_lock = False

    def __enter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a unit of work can be entered only once")
        if self.write:
            self._store._acquire()
            self._holds_lock = True
        self._entered = True
        self._load(self._store._state)
        for name, cls in TABLES.items():
            setattr(self, name, FakeRepository(cls, self._tables[name], self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.rollback()
        finally:
            self._entered = False
            if self._holds_lock:
                self._holds_lock = False
                self._store._release()

    def commit(self) -> None:
        self._check_writable("commit")
        clash = _first_clash(self._tables)
        if clash is not None:
            self.rollback()
            raise Conflict(
                f"the request conflicts with a concurrent change ({clash}); retry it", code="Conflict.Concurrent"
            )
        self._store._state = _State(copy.deepcopy(self._tables), self._revision)
        self._bumped = False

    def rollback(self) -> None:
        self._check_entered()
        self._load(self._store._state)

    def flush(self) -> None:
        self._check_entered()

    def touch(self, *, vpc_ids: Iterable[str] = (), host_ids: Iterable[str] = (), all_hosts: bool = False) -> int:
        self._check_writable("touch hosts")
        if not self._bumped:
            self._revision += 1
            self._bumped = True
        hosts: dict[str, m.Host] = self._tables["hosts"]
        if all_hosts:
            wanted = set(hosts)
        else:
            vpcs = set(vpc_ids)
            wanted = set(host_ids) | {
                str(e.host_id) for e in self._tables["interfaces"].values() if e.vpc_id in vpcs and e.host_id
            }
        for host_id in wanted & set(hosts):
            hosts[host_id].revision = self._revision
        return self._revision

    def revision(self) -> int:
        self._check_entered()
        return self._revision

    def _load(self, state: _State) -> None:
        """Make the working rows a private copy of ``state``, keeping the dicts the repositories hold."""
        fresh = copy.deepcopy(state.tables)
        for name in TABLES:
            rows = self._tables.setdefault(name, {})
            rows.clear()
            rows.update(fresh[name])
        self._revision = state.revision
        self._bumped = False

    def _check_entered(self) -> None:
        if not self._entered:
            raise RuntimeError("use the unit of work as a context manager ('with store.uow() as uow:')")

    def _check_writable(self, what: str) -> None:
        self._check_entered()
        if not self.write:
            raise RuntimeError(f"cannot {what} in a read-only unit of work; open it with write=True")


def _first_clash(tables: dict[str, _Rows]) -> str | None:
    """The first unique constraint two rows break, described; None if all hold."""
    for name, constraints in UNIQUE.items():
        for columns in constraints:
            seen: set[tuple[Any, ...]] = set()
            for obj in tables[name].values():
                key = tuple(getattr(obj, c) for c in columns)
                if None in key:
                    continue
                if key in seen:
                    return f"{name} {', '.join(columns)} = {', '.join(map(str, key))} twice"
                seen.add(key)
    return None


class FakeStore:
    """The in-memory database; ``store.uow`` is a ``UnitOfWorkFactory``."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.Lock()
        self._writer: int | None = None

    def uow(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, write=write)

    __call__ = uow

    @property
    def revision(self) -> int:
        """The last committed desired-state revision."""
        return self._state.revision

    def _acquire(self) -> None:
        if self._writer == threading.get_ident():
            raise RuntimeError("a write unit of work is already open in this thread; nesting one would deadlock")
        self._lock.acquire()
        self._writer = threading.get_ident()

    def _release(self) -> None:
        self._writer = None
        self._lock.release()


if TYPE_CHECKING:

    def _conforms(store: FakeStore) -> tuple[UnitOfWorkFactory, UnitOfWork]:
        """Let mypy prove the fake implements the ports."""
        return store.uow, store.uow()
