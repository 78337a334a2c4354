"""docs/errors.md lists every error code the source raises (regenerate with scripts/gen_errors_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_errors_doc_is_current() -> None:
    module = script("gen_errors_doc")
    expected = module.render()
    assert "`QuotaExceeded.havips_per_account`" in expected
    assert (ROOT / "docs" / "errors.md").read_text() == expected, "run .venv/bin/python scripts/gen_errors_doc.py"


@pytest.mark.parametrize(
    "code",
    # raised through helpers (get_owned, rules._check_text), which an AST scan of raise sites alone misses
    [
        "NotFound.Vpc",
        "NotFound.Instance",
        "NotFound.Subnet",
        "InvalidDescription.Malformed",
        "InvalidName.Malformed",
        "InvalidParameter.UnknownQuery",
        "InvalidCidrBlock.NotPublic",
        "InvalidCidrBlock.Documentation",
    ],
)
def test_errors_doc_lists_codes_raised_through_helpers(code: str) -> None:
    assert f"| `{code}` |" in (ROOT / "docs" / "errors.md").read_text()
