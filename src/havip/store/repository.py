"""One generic SQL repository per mapped domain class (the service's ``Repository`` port).

Filters accept any value the service hands down. A string with a NUL character can
never be stored (PostgreSQL refuses it in text; the domain refuses control characters),
so it matches nothing on either engine instead of reaching the database, where
PostgreSQL would fail the whole query.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def storable(value: Any) -> bool:
    """False for a string no column can hold (it has a NUL character)."""
    return not (isinstance(value, str) and "\x00" in value)


class SqlRepository(Generic[T]):
    def __init__(self, session: Session, cls: type[T]) -> None:
        self._session = session
        self._cls = cls
        self._table = cls.__table__  # type: ignore[attr-defined]

    def get(self, ident: str) -> T | None:
        if not storable(ident):
            return None
        return self._session.get(self._cls, ident)

    def add(self, obj: T) -> None:
        self._session.add(obj)

    def remove(self, obj: T) -> None:
        self._session.delete(obj)

    def _where(self, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        for key, value in filters.items():
            col = self._table.c[key]
            if isinstance(value, list | tuple | set | frozenset):
                conds.append(col.in_([v for v in value if storable(v)]))
            elif value is None:
                conds.append(col.is_(None))
            elif not storable(value):
                conds.append(false())
            else:
                conds.append(col == value)
        return conds

    def find(
        self, *, limit: int | None = None, offset: int = 0, order_by: str = "created_at", **filters: Any
    ) -> list[T]:
        desc = order_by.startswith("-")
        name = order_by.lstrip("-")
        cols = self._table.c
        order = cols[name] if name in cols else cols["id"]
        stmt = select(self._cls).where(*self._where(filters))
        stmt = stmt.order_by(order.desc() if desc else order.asc(), cols["id"].desc() if desc else cols["id"].asc())
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self._session.scalars(stmt))

    def count(self, **filters: Any) -> int:
        stmt = select(func.count()).select_from(self._table).where(*self._where(filters))
        return int(self._session.scalar(stmt) or 0)
