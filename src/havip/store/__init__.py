"""The store: SQLAlchemy tables, repositories and the unit of work; SQLite or PostgreSQL.

The only package that imports SQLAlchemy or Alembic. Entry point: ``Store(url)``.
"""

from havip.store.engine import Store

__all__ = ["Store"]
