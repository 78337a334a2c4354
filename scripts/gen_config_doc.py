"""Writes docs/config.md: every key of the configuration files of ``havip serve`` and ``havip agent``.

The keys are the commands' own options (``havip.cli.config.reference``), so the page cannot
drift from the code; ``tests/unit/test_config_doc.py`` fails when the file is stale.
Run: .venv/bin/python scripts/gen_config_doc.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import typer  # noqa: E402

from havip.cli import config  # noqa: E402
from havip.cli.main import app  # noqa: E402

INTRO = """# Configuration files

`havip serve --config FILE` and `havip agent --config FILE` read a TOML file whose keys are the
command's options, by their long name without the leading dashes (`log-level`, not `log_level`).
A repeatable option takes a list. Precedence: a flag on the command line, then the option's
environment variable, then the file, then the built-in default. The whole file is checked before
the command starts anything: an unknown key or a bad value stops it with the file, the key and the
reason (exit status 2). Examples: `deploy/havip-server.toml`, `deploy/havip-agent.toml`.

Generated from the commands by `scripts/gen_config_doc.py`; do not edit by hand.
"""


def render() -> str:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    parts = [INTRO]
    for name, title in (("serve", "havip serve"), ("agent", "havip agent")):
        parts.append(f"\n## `{title}`\n\n| key | type | environment | what it sets |\n|---|---|---|---|\n")
        for key, kind, env, help_text in config.reference(commands[name]):
            text = " ".join(help_text.split()).replace("|", "\\|")
            parts.append(f"| `{key}` | {kind} | {f'`{env}`' if env else ''} | {text} |\n")
    return "".join(parts)


if __name__ == "__main__":
    (ROOT / "docs" / "config.md").write_text(render())
    print("wrote docs/config.md")
