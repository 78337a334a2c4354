"""A database whose storage is full: every write is a 503 ``ServiceUnavailable.StorageFull``
that changes nothing, reads go on, and writes succeed again once there is room, without a
restart.

SQLite only: its ``max_page_count`` makes the real engine refuse with ``SQLITE_FULL`` exactly as a
full file system does (set on every connection the pool hands out). The reliability report's
``sqlite-disk-full`` row fills a real tmpfs; PostgreSQL's ``disk_full`` is classified by its
SQLSTATE (``tests/unit/test_storage_full.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from havip.api import create_app
from havip.domain import ids
from havip.domain.errors import Unavailable
from havip.domain.model import Account
from havip.service.accounts import bootstrap
from havip.service.context import Settings
from havip.store import Store

from .helpers import Caller

pytestmark = pytest.mark.integration

NO_LIMIT = 1_073_741_823


class Room:
    """The pages a connection may use: ``full()`` caps them at what the file has now."""

    def __init__(self, store: Store) -> None:
        self.limit = NO_LIMIT
        self.store = store
        event.listen(store._write, "checkout", self._apply)

    def _apply(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA max_page_count={self.limit}")
        cur.close()

    def full(self) -> None:
        with self.store._write.connect() as conn:
            self.limit = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())

    def free(self) -> None:
        self.limit = NO_LIMIT


@pytest.fixture
def full_store(tmp_path: Path) -> Iterator[tuple[Store, Room]]:
    store = Store(f"sqlite:///{tmp_path / 'full.db'}")
    store.migrate()
    room = Room(store)
    yield store, room
    store.dispose()


def test_a_full_database_refuses_a_unit_of_work_as_storage_full_and_keeps_nothing(
    full_store: tuple[Store, Room],
) -> None:
    store, room = full_store
    room.full()
    with pytest.raises(Unavailable) as refused, store.uow(write=True) as uow:
        for n in range(200):  # more than the free room of the last page
            uow.accounts.add(Account(id=ids.new_id("account"), name=f"a{n}"))
        uow.commit()
    assert refused.value.code == "ServiceUnavailable.StorageFull"
    assert "storage is full" in refused.value.message
    with store.uow() as uow:
        assert uow.accounts.count() == 0
    room.free()
    with store.uow(write=True) as uow:
        uow.accounts.add(Account(id=ids.new_id("account"), name="after"))
        uow.commit()
    with store.uow() as uow:
        assert uow.accounts.count() == 1


def test_the_api_answers_503_storage_full_changes_nothing_and_recovers_without_a_restart(
    full_store: tuple[Store, Room],
) -> None:
    store, room = full_store
    boot = bootstrap(store.uow)
    app = create_app(store.uow, Settings(), changes=store.changes)
    with TestClient(app) as http:
        tenant = Caller(http, boot.tenant_token)
        kept = tenant.post("/v1/vpcs", {"cidr": "10.0.0.0/16", "name": "before"})
        room.full()
        refused = 0
        for n in range(40):  # a page has room for a few small rows: the disk runs full within these
            resp = tenant.request("POST", "/v1/vpcs", json={"cidr": "10.1.0.0/16", "name": f"full-{n}"})
            if resp.status_code == 201:
                continue
            body = resp.json()
            assert (resp.status_code, body["code"]) == (503, "ServiceUnavailable.StorageFull"), resp.text
            assert body["request_id"] and "storage is full" in body["message"]
            refused += 1
        assert refused > 0
        names = {v["name"] for v in tenant.get("/v1/vpcs")["items"]}  # reads go on
        assert "before" in names
        assert len(names) == 1 + 40 - refused  # a refused write left nothing
        assert tenant.get(f"/v1/vpcs/{kept['id']}")["name"] == "before"
        room.free()
        after = tenant.post("/v1/vpcs", {"cidr": "10.2.0.0/16", "name": "after"})
        assert tenant.get(f"/v1/vpcs/{after['id']}")["name"] == "after"
