"""Which database errors mean "the storage is full", and the answer the API gives for them."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from havip.api.errors import status_of
from havip.domain.errors import Unavailable
from havip.store.engine import storage_full, unavailable

pytestmark = pytest.mark.unit


class PgError(Exception):
    """What psycopg raises: an exception with the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code
    return exc


CASES = [
    pytest.param(sqlite_error("database or disk is full", 13), True, id="sqlite-full"),
    pytest.param(sqlite_error("database or disk is full", 13 | (1 << 8)), True, id="sqlite-full-extended"),
    pytest.param(sqlite3.OperationalError("database or disk is full"), True, id="sqlite-full-by-message"),
    pytest.param(sqlite_error("database is locked", 5), False, id="sqlite-locked"),
    pytest.param(sqlite_error("disk I/O error", 10), False, id="sqlite-ioerr"),
    pytest.param(PgError("53100"), True, id="pg-disk-full"),
    pytest.param(PgError("57P01"), False, id="pg-admin-shutdown"),
    pytest.param(PgError("55P03"), False, id="pg-lock-timeout"),
]


@pytest.mark.parametrize(("orig", "full"), CASES)
def test_storage_full_is_told_apart_from_other_database_failures(orig: Exception, full: bool) -> None:
    exc = OperationalError("INSERT ...", {}, orig)
    assert storage_full(exc) is full
    error = unavailable(exc, "a write")
    assert isinstance(error, Unavailable)
    assert error.code == ("ServiceUnavailable.StorageFull" if full else "ServiceUnavailable")
    assert status_of(error) == 503


def test_the_storage_full_message_says_what_was_refused_and_that_it_will_pass() -> None:
    error = unavailable(OperationalError("COMMIT", {}, sqlite_error("database or disk is full", 13)), "the commit")
    assert error.message.startswith("the database's storage is full: the commit was refused")
    assert "once there is space" in error.message
