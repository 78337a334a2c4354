"""Fixtures of the kernel tier: preconditions that fail loudly, and throwaway labs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from .netlab import Lab, sh

REQUIRED_TOOLS = ("ip", "nft", "sysctl")


@pytest.fixture(scope="session", autouse=True)
def kernel_tier_preconditions() -> None:
    """The kernel tier cannot run without root and its tools: fail, never skip."""
    if os.geteuid() != 0:
        pytest.fail("the kernel tier needs root (network namespaces, netlink, nftables)", pytrace=False)
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"the kernel tier needs these tools on PATH: {', '.join(missing)}", pytrace=False)
    if not os.path.isdir("/run/netns") and sh("ip", "netns", "list", check=False) is None:
        pytest.fail("ip netns is not usable", pytrace=False)


def _root_fingerprint() -> tuple[str, str, str]:
    """What the root namespace shows of the agent's marks (must never change)."""
    tables = "\n".join(line for line in sh("nft", "list", "tables").splitlines() if "havip_" in line)
    rules = "\n".join(line for line in sh("ip", "rule").splitlines() if "proto 77" in line)
    links = "\n".join(line for line in sh("ip", "-d", "link").splitlines() if "havip:" in line)
    return tables, rules, links


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    before = _root_fingerprint()
    lab = Lab()
    request.addfinalizer(lab.close)
    lab.start()
    yield lab
    assert _root_fingerprint() == before == ("", "", ""), "the root namespace was touched"
