"""docs/cli.md lists the exit statuses and the CLI's error codes (regenerate with scripts/gen_cli_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from havip.cli.exits import ExitCode

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_cli_doc_is_current() -> None:
    module = script("gen_cli_doc")
    expected = module.render()
    for code in ExitCode:
        assert f"| {code.value} | `{code.name}` |" in expected
    assert "| `AmbiguousName` | 6 (`CONFLICT`) |" in expected
    assert "| `ConnectionFailed` | 10 (`UNREACHABLE`) |" in expected
    assert (ROOT / "docs" / "cli.md").read_text() == expected, "run .venv/bin/python scripts/gen_cli_doc.py"
