"""Fixtures of the integration tier: the real API on the real stores, SQLite and PostgreSQL.

``db_url`` is parametrized over both engines (test ids end in ``[sqlite]`` or
``[postgresql]``), so every test that uses a store, an app or a client runs on both:
a fresh SQLite file, or a fresh PostgreSQL database copied from a migrated template
(``CREATE DATABASE ... TEMPLATE``, ~25 ms) in the session's throwaway cluster
(``pg_cluster``, see ``pg.py``: one per session, on a unix socket, stopped and
deleted at the end, also after failures). Without PostgreSQL's binaries the
PostgreSQL half fails with what to install; it never skips.

``store`` is migrated; ``client`` drives the app in process (FastAPI's TestClient);
``server`` runs it under uvicorn on 127.0.0.1 with an ephemeral port for tests that
need real concurrent HTTP. ``Caller`` wraps one credential and checks statuses and
error bodies, so tests read as the API does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from havip.api import create_app
from havip.service.accounts import Bootstrap, bootstrap
from havip.service.context import Settings
from havip.store import Store

from . import pg
from .helpers import Caller, LiveServer, Net, serve

ENGINES = ("sqlite", "postgresql")
TEMPLATE = "havip_template"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.PgCluster]:
    """One PostgreSQL cluster for the session, with a migrated template database."""
    try:
        cluster = pg.start()
    except pg.PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        with cluster.admin() as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        template = Store(cluster.url(TEMPLATE))
        template.migrate()
        template.dispose()  # CREATE DATABASE ... TEMPLATE needs it without connections
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(pg_cluster: pg.PgCluster) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = pg_cluster.create_database(template=TEMPLATE)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a test runs on (its id says which)."""
    return str(request.param)


@pytest.fixture
def db_url(engine: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    """A fresh database of ``engine``: a SQLite file, or a database in the session's cluster."""
    if engine == "sqlite":
        return "sqlite:///" + str(tmp_path / "t.db")
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def store(db_url: str, engine: str) -> Iterator[Store]:
    s = Store(db_url)
    if engine == "sqlite":
        s.migrate()  # a PostgreSQL database is a copy of the migrated template
    yield s
    s.dispose()


@pytest.fixture
def boot(store: Store) -> Bootstrap:
    return bootstrap(store.uow)


@pytest.fixture
def app(store: Store) -> FastAPI:
    return create_app(store.uow, Settings(), changes=store.changes)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def anonymous(client: TestClient) -> Caller:
    return Caller(client, None)


@pytest.fixture
def operator(client: TestClient, boot: Bootstrap) -> Caller:
    return Caller(client, boot.operator_token)


@pytest.fixture
def tenant(client: TestClient, boot: Bootstrap) -> Caller:
    """The default account's tenant key (account A)."""
    return Caller(client, boot.tenant_token)


@pytest.fixture
def account_a(boot: Bootstrap) -> str:
    return boot.account.id


@pytest.fixture
def created_b(operator: Caller) -> dict[str, Any]:
    body: dict[str, Any] = operator.post("/v1/accounts", {"name": "bravo"})
    return body


@pytest.fixture
def account_b(created_b: dict[str, Any]) -> str:
    return str(created_b["account"]["id"])


@pytest.fixture
def tenant_b(client: TestClient, created_b: dict[str, Any]) -> Caller:
    """A second account's tenant key (account B), made through POST /v1/accounts."""
    return Caller(client, created_b["key"]["token"])


# ---------------------------------------------------------------- a small cloud


@pytest.fixture
def net(client: TestClient, operator: Caller, tenant: Caller) -> Net:
    vpc = tenant.post("/v1/vpcs", {"cidr": "10.0.0.0/16", "name": "main"})
    subnet = tenant.post("/v1/subnets", {"vpc_id": vpc["id"], "cidr": "10.0.1.0/24", "name": "front"})
    tables = tenant.get("/v1/route-tables", params={"vpc_id": vpc["id"]})
    agents = {}
    for name in ("h1", "h2"):
        created = operator.post("/v1/hosts", {"name": name})
        agents[name] = (created["host"]["id"], Caller(client, created["agent_key"]["token"]))
    return Net(
        vpc=vpc["id"],
        subnet=subnet["id"],
        route_table=tables["items"][0]["id"],
        h1=agents["h1"][0],
        h2=agents["h2"][0],
        agent_h1=agents["h1"][1],
        agent_h2=agents["h2"][1],
    )


# ---------------------------------------------------------------- a live server


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    """The app under uvicorn on 127.0.0.1, an ephemeral port, in a thread."""
    with serve(app) as live:
        yield live
