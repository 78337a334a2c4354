"""docs/config.md lists every key of the configuration files (regenerate with scripts/gen_config_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_config_doc_is_current() -> None:
    module = script("gen_config_doc")
    expected = module.render()
    assert "| `discovery-interval` |" in expected
    assert (ROOT / "docs" / "config.md").read_text() == expected, "run .venv/bin/python scripts/gen_config_doc.py"
