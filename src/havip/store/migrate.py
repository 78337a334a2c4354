"""Schema migrations with Alembic, configured in code (no alembic.ini to ship).

``upgrade`` brings a database to head; ``havip db upgrade`` and ``Store.migrate`` call it.
``new_revision`` is for developers adding a migration: change ``store/tables.py``, then
``new_revision('sqlite:////tmp/old.db', 'what changed')`` against a database at the old head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(conn: Connection) -> None:
    """Migrate the database behind ``conn`` to head and commit."""
    cfg = _config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    conn.commit()


def current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    newest = ScriptDirectory.from_config(_config()).get_current_head()
    assert newest is not None, f"no migrations under {MIGRATIONS}"
    return newest


def new_revision(url: str, message: str) -> None:
    """Autogenerate a migration from the difference between ``url``'s schema and the tables."""
    cfg = _config()
    engine = create_engine(url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
