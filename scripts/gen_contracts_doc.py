"""Writes the import contracts into docs/architecture.md, as pyproject.toml has them.

The section between the ``contracts:begin`` and ``contracts:end`` markers is rendered from
``[tool.importlinter]`` (what ``lint-imports`` checks), so the page cannot claim a rule the
check does not hold; ``tests/unit/test_contracts_doc.py`` fails when it is stale, and
``tests/unit/test_import_contracts.py`` shows each contract failing on a bad import.
Run: .venv/bin/python scripts/gen_contracts_doc.py
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- contracts:begin -->", "<!-- contracts:end -->"


def _names(mods: list[str]) -> str:
    return ", ".join(f"`{m}`" for m in mods)


def _contract(c: dict[str, Any]) -> list[str]:
    out = [f"- **{c['name']}** ({c['type']})"]
    if c["type"] == "layers":
        inside = f" inside `{c['containers'][0]}`" if c.get("containers") else ""
        out.append(f"  — from the top{inside}; a layer imports only layers below it, `|` siblings never each other:")
        out += [f"  {n}. {_names([p.strip() for p in layer.split('|')])}" for n, layer in enumerate(c["layers"], 1)]
    else:
        out.append(f"  — {_names(c['source_modules'])} never import {_names(c['forbidden_modules'])}")
        if c.get("allow_indirect_imports"):
            out[-1] += " directly"
        for ignored in c.get("ignore_imports", []):
            out.append(f"  (allowed: `{ignored}`)")
    return out


def render_section() -> str:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = [
        BEGIN,
        "Generated from `pyproject.toml` by `scripts/gen_contracts_doc.py`; checked by `lint-imports` (`make lint`).",
        "",
    ]
    for c in conf["contracts"]:
        lines += _contract(c)
    lines.append(END)
    return "\n".join(lines)


def render() -> str:
    text = DOC.read_text()
    section = render_section()
    if BEGIN in text:
        return re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: section, text, flags=re.DOTALL)
    raise SystemExit(f"{DOC} has no {BEGIN} ... {END} markers")


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC.relative_to(ROOT)}")
