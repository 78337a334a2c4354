"""docs/architecture.md lists the import contracts as pyproject.toml has them (scripts/gen_contracts_doc.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_contracts_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_contracts_doc", ROOT / "scripts" / "gen_contracts_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    assert "the agent's own layers" in expected
    assert (ROOT / "docs" / "architecture.md").read_text() == expected, (
        "run .venv/bin/python scripts/gen_contracts_doc.py"
    )
