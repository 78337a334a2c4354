"""docs/config.md lists every key of the configuration files (regenerate with scripts/gen_config_doc.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_config_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_config_doc", ROOT / "scripts" / "gen_config_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    assert "| `discovery-interval` |" in expected
    assert (ROOT / "docs" / "config.md").read_text() == expected, "run .venv/bin/python scripts/gen_config_doc.py"
