"""Lab-tier fixtures (the lab builder lives in labkit)."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = ("ip", "nft", "keepalived", "curl", "ping")


@pytest.fixture(scope="session", autouse=True)
def _lab_prerequisites() -> None:
    if os.geteuid() != 0:
        pytest.fail("the lab tier needs root (network namespaces, keepalived)")
    missing = [tool for tool in REQUIRED if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the lab tier needs {', '.join(missing)}: run ./scripts/setup.sh")
