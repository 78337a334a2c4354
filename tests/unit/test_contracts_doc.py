"""docs/architecture.md lists the import contracts as pyproject.toml has them (scripts/gen_contracts_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_contracts_doc_is_current() -> None:
    module = script("gen_contracts_doc")
    expected = module.render()
    assert "the agent's own layers" in expected
    assert (ROOT / "docs" / "architecture.md").read_text() == expected, (
        "run .venv/bin/python scripts/gen_contracts_doc.py"
    )
