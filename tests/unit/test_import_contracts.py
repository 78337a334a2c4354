"""The import contracts (pyproject.toml, docs/architecture.md) fail when a module breaks them.

Each case copies the package, adds one import that a contract forbids, and runs the real
``lint-imports`` on the copy: the contract named must be reported broken. The unchanged
copy keeps every contract, so a failure here is the mutation's and nothing else's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over a copy of the package with ``files`` (path under src/havip ->
    text appended, or the whole text of a new module)."""
    src = tmp / "src"
    shutil.copytree(ROOT / "src" / "havip", src / "havip", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    for rel, text in files.items():
        path = src / "havip" / rel
        path.write_text((path.read_text() if path.exists() else "") + "\n" + text + "\n")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", "pyproject.toml"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_unchanged_package_keeps_every_contract(tmp_path: Path) -> None:
    run = lint_copy(tmp_path, {})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout


@pytest.mark.parametrize(
    ("files", "contract"),
    [
        pytest.param(
            {"agent/plan.py": "import socket  # noqa"}, "the agent's deciding modules do no I/O", id="plan-socket"
        ),
        pytest.param(
            {"agent/claims.py": "import threading  # noqa"},
            "the agent's deciding modules do no I/O",
            id="claims-threading",
        ),
        pytest.param(
            {"cli/bad.py": "import pyroute2  # noqa"}, "only the data plane imports pyroute2", id="cli-pyroute2"
        ),
        pytest.param(
            {"agent/bad.py": "from havip.service import agents  # noqa"},
            "the agent and the client speak to the control plane only through the wire",
            id="agent-service",
        ),
        pytest.param(
            {"api/bad.py": "import havip.store  # noqa"},
            "only the service and the CLI that wires it see the store",
            id="api-store",
        ),
        pytest.param(
            {"agent/ledger.py": "from havip.agent import runtime  # noqa"}, "the agent's own layers", id="ledger-up"
        ),
        pytest.param(
            {"client/bad.py": "from havip.api import app  # noqa"},
            "the agent and the client speak to the control plane only through the wire",
            id="client-api",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, files: dict[str, str], contract: str) -> None:
    run = lint_copy(tmp_path, files)
    assert run.returncode != 0, run.stdout
    assert f"{contract} BROKEN" in run.stdout, run.stdout
