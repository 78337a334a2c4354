"""Fixtures of the kernel tier: preconditions that fail loudly, and throwaway labs."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from havip.agent import logs

from .cloud import AgentPair, Cloud
from .netlab import Lab, sh

REQUIRED_TOOLS = ("ip", "nft", "sysctl")


@pytest.fixture(scope="session", autouse=True)
def agent_state_dir() -> Iterator[None]:
    """Agents started as commands keep their claim journal in a scratch folder of the run's
    own (HAVIP_STATE_DIR, inherited), never in the machine's /var/lib/havip."""
    scratch = tempfile.mkdtemp(prefix="havip-kernel-state-")
    old = os.environ.get("HAVIP_STATE_DIR")
    os.environ["HAVIP_STATE_DIR"] = scratch
    yield
    if old is None:
        os.environ.pop("HAVIP_STATE_DIR", None)
    else:
        os.environ["HAVIP_STATE_DIR"] = old
    shutil.rmtree(scratch, ignore_errors=True)


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


@pytest.fixture(autouse=True)
def agent_logs() -> None:
    """The agent's JSON log lines go to stderr: pytest shows them when a test fails."""
    logs.install(logging.INFO)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    c = Cloud(tmp_path)
    yield c
    c.close()


@pytest.fixture
def pair(lab: Lab, cloud: Cloud, request: pytest.FixtureRequest) -> AgentPair:
    """The keepalived pair i1/i2 of a HaVip, i3 (no member) and a client c, placed on
    the lab's host in the real control plane; agents started by the test stop first."""
    p = AgentPair(lab, cloud)
    request.addfinalizer(p.close)
    return p.build()
