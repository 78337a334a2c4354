"""docs/cli.md lists the exit statuses and the CLI's error codes (regenerate with scripts/gen_cli_doc.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from havip.cli.exits import ExitCode

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_cli_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_doc", ROOT / "scripts" / "gen_cli_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    for code in ExitCode:
        assert f"| {code.value} | `{code.name}` |" in expected
    assert "| `AmbiguousName` | 6 (`CONFLICT`) |" in expected
    assert "| `ConnectionFailed` | 10 (`UNREACHABLE`) |" in expected
    assert (ROOT / "docs" / "cli.md").read_text() == expected, "run .venv/bin/python scripts/gen_cli_doc.py"
