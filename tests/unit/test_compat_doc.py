"""docs/compat.md shows the error tables the facades use (regenerate with scripts/gen_compat_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_compat_doc_error_tables_are_current() -> None:
    gen = script("gen_compat_doc")
    text = (ROOT / "docs" / "compat.md").read_text()
    assert gen.rewrite(text) == text, "run .venv/bin/python scripts/gen_compat_doc.py"
