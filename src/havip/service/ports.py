"""The ports the service layer needs: repositories and a unit of work.

Implemented by ``havip.store`` (SQLAlchemy) and by ``havip.service.fakes`` (memory,
for unit tests of the layers above).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from havip.domain import model as m

T = TypeVar("T")

Clock = Callable[[], dt.datetime]


class Repository(Protocol[T]):
    """Access to one kind of resource.

    Filters are keyword arguments: ``attr=value`` matches equality, ``attr=[v1, v2]``
    (a list or tuple) matches any of the values; ``None`` as a value matches NULL.
    """

    def get(self, ident: str) -> T | None: ...

    def add(self, obj: T) -> None: ...

    def remove(self, obj: T) -> None: ...

    def find(
        self, *, limit: int | None = None, offset: int = 0, order_by: str = "created_at", **filters: Any
    ) -> list[T]: ...

    def count(self, **filters: Any) -> int: ...


class UnitOfWork(Protocol):
    """One atomic transaction over every repository.

    Used as a context manager; leaving it without ``commit()`` rolls back. ``write=True``
    (given when the unit of work is created) takes the store's write lock at the start
    of the transaction, so rules checked inside it (quotas, unique addresses, member
    limits) cannot be broken by a concurrent request.
    """

    @property
    def accounts(self) -> Repository[m.Account]: ...

    @property
    def api_keys(self) -> Repository[m.ApiKey]: ...

    @property
    def access_keys(self) -> Repository[m.AccessKey]: ...

    @property
    def quota_overrides(self) -> Repository[m.QuotaOverride]: ...

    @property
    def hosts(self) -> Repository[m.Host]: ...

    @property
    def vpcs(self) -> Repository[m.Vpc]: ...

    @property
    def subnets(self) -> Repository[m.Subnet]: ...

    @property
    def instances(self) -> Repository[m.Instance]: ...

    @property
    def interfaces(self) -> Repository[m.NetworkInterface]: ...

    @property
    def havips(self) -> Repository[m.HaVip]: ...

    @property
    def members(self) -> Repository[m.HaVipMember]: ...

    @property
    def events(self) -> Repository[m.HaVipEvent]: ...

    @property
    def eip_pools(self) -> Repository[m.EipPool]: ...

    @property
    def eips(self) -> Repository[m.Eip]: ...

    @property
    def route_tables(self) -> Repository[m.RouteTable]: ...

    @property
    def route_entries(self) -> Repository[m.RouteEntry]: ...

    @property
    def idempotency(self) -> Repository[m.IdempotencyRecord]: ...

    @property
    def allocations(self) -> Repository[m.IpAllocation]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def flush(self) -> None: ...

    def touch(self, *, vpc_ids: Iterable[str] = (), host_ids: Iterable[str] = (), all_hosts: bool = False) -> int:
        """Say whose desired state this write changes; call in write transactions, after the change.

        The first call of a unit of work advances the global revision; every call sets it as
        the revision of the hosts named, of the hosts with an interface in one of ``vpc_ids``
        (as the unit of work sees them now: name the hosts a change removed from a VPC in
        ``host_ids``), or of every host with ``all_hosts``. The feed names those hosts after
        the commit. Returns the new revision."""
        ...

    def revision(self) -> int:
        """The global revision: the newest value any host's revision was set to."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


class SchemaProbe(Protocol):
    """What ``/readyz`` asks the store: the migration the database is at, and the newest one."""

    def schema_revision(self) -> str | None:
        """The database's migration (None: an empty database); raises ``Unavailable`` when it does not answer."""
        ...

    def head_revision(self) -> str:
        """The newest migration this code ships."""
        ...


class RevisionFeed(Protocol):
    """News of the hosts whose revision moved, also by commits of another process or replica.

    The store feeds it (PostgreSQL: LISTEN/NOTIFY naming the hosts; SQLite: in-process, plus
    polling for other processes); the agents' long poll waits on it for its own host only, so
    a write wakes the polls of the hosts it touched and no other.
    """

    def subscribe(self, host_id: str, callback: Callable[[int | None], None]) -> Callable[[], None]:
        """Call ``callback(revision)`` from any thread when host ``host_id``'s revision may have
        moved to ``revision`` (at least once per change, possibly more), ``callback(None)`` when
        any host's may have (news that names nobody, e.g. after a lost connection); returns the
        function that unsubscribes."""
        ...
