"""``/healthz`` and ``/readyz`` on both engines: ready at head, not ready behind it or without
a database that answers (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from havip.api.app import create_app
from havip.service.context import Settings
from havip.store import Store

pytestmark = pytest.mark.integration


def readyz(store: Store) -> tuple[int, dict[str, Any]]:
    with TestClient(create_app(store.uow, Settings(), schema=store)) as client:
        answer = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # liveness never looks at the store
        return answer.status_code, answer.json()


def test_ready_at_the_head_migration(store: Store) -> None:
    assert readyz(store) == (200, {"status": "ready", "checks": {"store": "ok", "schema": "ok"}})


def test_not_ready_behind_the_head_migration(store: Store, db_url: str) -> None:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    engine.dispose()
    status, body = readyz(store)
    assert status == 503
    assert body["status"] == "not-ready"
    assert body["checks"]["store"] == "ok"
    assert body["checks"]["schema"] == f"at migration 0002, this code needs {store.head_revision()}"


@pytest.fixture
def unreachable(engine: str, tmp_path: Any) -> Iterator[Store]:
    """A store whose database does not answer: a port where nothing listens, or a SQLite file in a
    folder that is not there any more."""
    if engine == "sqlite":
        folder = tmp_path / "gone"
        url = f"sqlite:///{folder / 't.db'}"
        store = Store(url)
        folder.joinpath("t.db").unlink(missing_ok=True)
        folder.rmdir()
    else:
        store = Store("postgresql+psycopg://havip@127.0.0.1:9/havip?connect_timeout=2")
    yield store
    store.dispose()


def test_not_ready_when_the_database_does_not_answer(unreachable: Store) -> None:
    status, body = readyz(unreachable)
    assert status == 503
    assert body["status"] == "not-ready"
    assert body["checks"]["store"].startswith("no answer: ")
    assert body["checks"]["schema"] != "ok"
