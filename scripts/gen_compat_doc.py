"""Writes the error-mapping tables of docs/compat.md from the facades' tables.

The tables are the ones the code uses (``havip.api.compat.alibaba.errors.TABLE`` and
``havip.api.compat.tencent.errors.TABLE``); they replace the text between the
``<!-- errors:alibaba -->`` / ``<!-- errors:tencent -->`` markers and their ``<!-- end -->``.
``tests/unit/test_compat_doc.py`` fails when the page is stale.
Run: .venv/bin/python scripts/gen_compat_doc.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from havip.api.compat.alibaba.errors import TABLE as ALIBABA  # noqa: E402
from havip.api.compat.errors import CloudCode, ErrorTable  # noqa: E402
from havip.api.compat.tencent.errors import TABLE as TENCENT  # noqa: E402

DOC = ROOT / "docs" / "compat.md"


def _cell(code: CloudCode, with_status: bool) -> str:
    return f"`{code.code}` ({code.status})" if with_status else f"`{code.code}`"


def render(table: ErrorTable, with_status: bool) -> str:
    lines = ["| our code (or prefix) | their code | for these actions |", "|---|---|---|"]
    for ours, row in sorted(table.rows.items()):
        if isinstance(row, CloudCode):
            lines.append(f"| `{ours}` | {_cell(row, with_status)} | all |")
            continue
        for action, code in sorted(row.items(), key=lambda kv: (kv[0] == "*", kv[0])):
            lines.append(f"| `{ours}` | {_cell(code, with_status)} | {'the others' if action == '*' else action} |")
    for kind, code in table.by_kind.items():
        lines.append(f"| any other *{kind.value}* error | {_cell(code, with_status)} | all |")
    return "\n".join(lines)


def rewrite(text: str) -> str:
    for name, table, status in (("alibaba", ALIBABA, True), ("tencent", TENCENT, False)):
        pattern = re.compile(rf"(<!-- errors:{name} -->\n).*?(<!-- end -->)", re.S)
        text, count = pattern.subn(lambda m, t=table, s=status: m.group(1) + render(t, s) + "\n" + m.group(2), text)
        if count != 1:
            raise SystemExit(f"docs/compat.md has no <!-- errors:{name} --> ... <!-- end --> section")
    return text


if __name__ == "__main__":
    DOC.write_text(rewrite(DOC.read_text()))
    print("wrote the error tables of docs/compat.md")
