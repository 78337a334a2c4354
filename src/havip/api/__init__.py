"""The native REST API (/v1) of the control plane, on FastAPI.

Public surface: ``create_app``. Routes are thin: parse a ``havip.contract`` body,
call one ``havip.service`` use case, serialise the result; errors are translated by
the one table in ``havip.api.errors``. This package must not import the store or
SQLAlchemy: the store arrives as a unit-of-work factory.
"""

from havip.api.app import create_app

__all__ = ["create_app"]
