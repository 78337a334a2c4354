"""docs/compat.md shows the error tables the facades use (regenerate with scripts/gen_compat_doc.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_compat_doc_error_tables_are_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_compat_doc", ROOT / "scripts" / "gen_compat_doc.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = (ROOT / "docs" / "compat.md").read_text()
    assert gen.rewrite(text) == text, "run .venv/bin/python scripts/gen_compat_doc.py"
