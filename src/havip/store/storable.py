"""The last check before a row reaches the database: would every engine keep this value?

PostgreSQL refuses a string longer than its column or holding a NUL character, and an
integer outside its column's range; SQLite silently keeps the first two and refuses
only integers beyond 64 bits. The domain's rules should have refused such a value
already; when one slips through, ``check_session`` (run before every flush) refuses
it the same way on both engines, as ``InvalidParameter.Unstorable`` (400) instead of
a database error (500), and logs it so the missing rule gets written.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import BigInteger, Integer, String, inspect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from havip import logs
from havip.domain.errors import InvalidParameter

log = logging.getLogger("havip.store")

INT_RANGES = {BigInteger: 63, Integer: 31}  # BigInteger first: it is an Integer too


def _impl(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


def problem(value: Any, type_: TypeEngine[Any]) -> str | None:
    """Why a column of ``type_`` cannot hold ``value`` on every engine (None: it can)."""
    impl = _impl(type_)
    if isinstance(value, str) and isinstance(impl, String) and not isinstance(type_, TypeDecorator):
        if "\x00" in value:
            return "contains a NUL character"
        if impl.length is not None and len(value) > impl.length:
            return f"is {len(value)} characters long, more than the {impl.length} it may have"
    if isinstance(value, int) and not isinstance(value, bool):
        for cls, bits in INT_RANGES.items():
            if isinstance(impl, cls):
                if not -(2**bits) <= value < 2**bits:
                    return f"is outside the range of a {bits + 1}-bit integer"
                break
    return None


def check_object(obj: Any) -> None:
    mapper = inspect(obj).mapper
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        why = problem(getattr(obj, attr.key), column.type)
        if why is not None:
            table = getattr(column, "table", None)
            where = f"{table.name}.{column.name}" if table is not None else column.name
            logs.event(log, "value-refused", level=logging.WARNING, column=where, reason=why)
            raise InvalidParameter(f"the value of {attr.key} {why}", code="InvalidParameter.Unstorable")


def check_session(session: Session, _context: Any, _instances: Any) -> None:
    """``before_flush`` hook: refuse what an engine would refuse, the same way on both."""
    for obj in (*session.new, *session.dirty):
        check_object(obj)
