"""Fixtures of the unit tier."""

from __future__ import annotations

import pytest

from .builders import Cloud


@pytest.fixture
def cloud() -> Cloud:
    """A bootstrapped in-memory store: an operator, the default tenant, and builders."""
    return Cloud()
