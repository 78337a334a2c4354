"""The compat tests' fixtures, defined once: import the ``*_fixture`` functions into a test module
(pytest knows them as ``cloud``, ``shared`` and ``fresh``).

``cloud`` is the default account on the tier's store (every engine); ``shared`` one SQLite
server per module; ``fresh`` a new account on it (a clean slate without a server start).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from havip.service.accounts import Bootstrap
from havip.store import Store

from . import cloudkit
from .cloudkit import CloudKit, Server


@pytest.fixture(name="cloud")
def cloud_fixture(store: Store, boot: Bootstrap) -> Iterator[CloudKit]:
    """The default account on the tier's store (every engine)."""
    yield from cloudkit.start(store, boot)


@pytest.fixture(name="shared", scope="module")
def shared_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from cloudkit.shared(tmp_path_factory)


@pytest.fixture(name="fresh")
def fresh_fixture(shared: Server) -> Iterator[CloudKit]:
    """A new account on the module's SQLite server."""
    yield from cloudkit.fresh(shared)
