"""docs/logs.md lists every log field and event (regenerate with scripts/gen_logs_doc.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from havip.logs import FIELDS

from .scriptkit import script

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_logs_doc_is_current() -> None:
    module = script("gen_logs_doc")
    expected = module.render()
    for field in FIELDS:
        assert f"| `{field}` |" in expected
    for event in ("request-served", "unhandled-error", "claim-switched"):
        assert f"| `{event}` |" in expected
    assert (ROOT / "docs" / "logs.md").read_text() == expected, "run .venv/bin/python scripts/gen_logs_doc.py"


def test_every_event_uses_only_the_vocabulary() -> None:
    module = script("gen_logs_doc")
    found = module.events()
    assert len(found) > 20
    for name, (_levels, _modules, fields) in found.items():
        assert fields <= set(FIELDS), (name, sorted(fields - set(FIELDS)))
        assert name == name.lower() and " " not in name, name
