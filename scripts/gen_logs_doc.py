"""Writes docs/logs.md: the fields of havip's log lines and the events that use them.

The fields are ``havip.logs.FIELDS``; the events are read from the source (AST): every
``event(logger, "name", ...)`` call with a literal name, with the fields it passes. So the page
cannot drift from the code; ``tests/unit/test_logs_doc.py`` fails when the file is stale.
Run: .venv/bin/python scripts/gen_logs_doc.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from havip.logs import BASE_FIELDS, FIELDS  # noqa: E402

INTRO = """# Logs

`havip serve` and `havip agent` write one record a line to stderr (journald under systemd).
By default a line is one JSON object (`--log-format json`); `--log-format text` (in a config
file: `log-format = "text"`) writes the same fields as `key=value` after the time, level, logger
and event, for a terminal, with a traceback on the lines below.

Every line has `ts` (RFC 3339, UTC, milliseconds), `level` (`debug`, `info`, `warning`,
`error`), `logger` (`havip.api`, `havip.serve`, `havip.store`, `havip.agent...`, or a library's:
`uvicorn.error`, `alembic...`) and `event`: a short kebab-case name for havip's own lines, the
library's message for a library's. Other fields come only from the fixed vocabulary below (code
that logs another name fails), so queries keep working across versions; a field without a value
is left out. An exception's traceback is the `error` field.

**Requests.** Every line `havip serve` logs while it serves a request carries that request's
`request_id`: the value of the answer's `X-Request-Id` header and of an error body's
`request_id`, so the id a user quotes finds the access line, the error line and the traceback.
Each request gets exactly one `request-served` line (`method`, `route` as the route template,
`status`, `duration_ms`, the `account` once the key is known, and the error `code` of an error
answer); uvicorn's own access log is off. A 5xx adds an `error-answered` or `unhandled-error`
line with the traceback. An incoming `X-Request-Id` of up to 128 characters from
`A-Z a-z 0-9 . _ : -` is kept, so a caller can follow its own id through the server.

```json
{"ts": "2026-01-05T10:00:00.123+00:00", "level": "info", "logger": "havip.api", "event": "request-served",
 "request_id": "4f0c...", "account": "acc-...", "code": "NotFound.Vpc", "method": "GET",
 "route": "/v1/vpcs/{vpc_id}", "status": 404, "duration_ms": 2.1}
```

Generated from `src/havip/logs.py` and the source by `scripts/gen_logs_doc.py`; do not edit by hand.
"""

LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error"}


def events() -> dict[str, tuple[set[str], set[str], set[str]]]:
    """event name -> (levels, modules, fields) of every ``event(logger, "name", ...)`` call in src."""
    found: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for path in sorted((ROOT / "src" / "havip").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name != "event" or (isinstance(func, ast.Attribute) and getattr(func.value, "id", "") != "logs"):
                continue
            literal = node.args[1]
            if not isinstance(literal, ast.Constant) or not isinstance(literal.value, str):
                continue
            levels, modules, fields = found.setdefault(literal.value, (set(), set(), set()))
            level = "info"
            for kw in node.keywords:
                if kw.arg == "level" and isinstance(kw.value, ast.Attribute):
                    level = LEVELS.get(kw.value.attr, kw.value.attr.lower())
                elif kw.arg == "exc_info":
                    fields.add("error")
                elif kw.arg is not None:
                    fields.add(kw.arg)
            levels.add(level)
            modules.add(module)
    return found


def render() -> str:
    parts = [INTRO, "\n## Fields\n\n| field | meaning |\n|---|---|\n"]
    for name in BASE_FIELDS:
        parts.append(f"| `{name}` | (every line) |\n")
    for name, meaning in FIELDS.items():
        text = meaning.replace("|", "\\|")
        parts.append(f"| `{name}` | {text} |\n")
    parts.append("\n## Events\n\n| event | level | logged by | fields |\n|---|---|---|---|\n")
    for name, (levels, modules, fields) in sorted(events().items()):
        listed = ", ".join(f"`{f}`" for f in sorted(fields))
        where = ", ".join(f"`{m}`" for m in sorted(modules))
        parts.append(f"| `{name}` | {', '.join(sorted(levels))} | {where} | {listed} |\n")
    return "".join(parts)


if __name__ == "__main__":
    (ROOT / "docs" / "logs.md").write_text(render())
    print("wrote docs/logs.md")
