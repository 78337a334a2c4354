"""``havip db``: the store's schema, without a server: ``upgrade`` and ``show``.

``havip serve`` migrates on every start, so these are for operators who migrate on
purpose: before rolling out a new version to several replicas on one PostgreSQL
(docs/postgresql.md), or to check which migration a database is at. They talk to the
database directly (the same ``--db``/``HAVIP_DB`` as ``serve``), never to the API.
The store is imported when a command runs, so other commands do not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from havip.cli.credentials import havip_home
from havip.cli.serve import redact_url
from havip.cli.state import CliError
from havip.domain.errors import HavipError

if TYPE_CHECKING:
    from havip.store import Store

T = TypeVar("T")

db_app = typer.Typer(
    help="The store's schema: migrate a database (SQLite or PostgreSQL) or show its migration.",
    no_args_is_help=True,
)

DB_OPTION = typer.Option(
    None,
    "--db",
    envvar="HAVIP_DB",
    help="The store's URL: sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB "
    "(default: sqlite:///$HAVIP_HOME/havip.db, as for havip serve).",
    show_default=False,
)


def _url(db: str | None) -> str:
    return db or f"sqlite:///{havip_home(os.environ) / 'havip.db'}"


def _open(url: str) -> Store:
    from havip.store import Store

    try:
        return Store(url)
    except ValueError as exc:
        raise CliError("InvalidParameter.Database", str(exc)) from exc


def _run(action: Callable[[], T], url: str) -> T:
    try:
        return action()
    except HavipError as exc:
        raise CliError(exc.code, f"{redact_url(url)}: {exc}") from exc


@db_app.command("upgrade")
def upgrade(db: str | None = DB_OPTION) -> None:
    """Migrate the database to this version's newest schema (safe to repeat; replicas may run meanwhile)."""
    url = _url(db)
    store = _open(url)
    try:
        before, after = _run(store.migrate, url)
    finally:
        store.dispose()
    if before == after:
        typer.echo(f"{redact_url(url)}: already at migration {after}")
    else:
        typer.echo(f"{redact_url(url)}: migrated from {before or 'an empty database'} to {after}")


@db_app.command("show")
def show(db: str | None = DB_OPTION) -> None:
    """Print the migration the database is at (none: an empty database)."""
    url = _url(db)
    store = _open(url)
    try:
        revision = _run(store.schema_revision, url)
    finally:
        store.dispose()
    typer.echo(f"{redact_url(url)}: migration {revision or 'none (an empty database)'}")
