"""How the CLI prints: rich tables for people, raw JSON with ``--json``.

Commands describe what to show with :class:`Column` and :class:`Section` specs and
hand the API's JSON to :class:`Output`; nothing here talks to the server. The
console is created on first use (at command time, never at import time) and is
wide when stdout is not a terminal, so piped output is not cut.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Item = Mapping[str, Any]

PIPE_WIDTH = 200
"""Console width when stdout is not a terminal."""

STATUS_STYLES: Mapping[str, str] = {
    "Available": "green",
    "InUse": "bold cyan",
    "Running": "green",
    "Creating": "yellow",
    "Deleting": "red",
}
"""Colours of the values of ``status`` fields."""


@dataclass(frozen=True)
class Column:
    """One column of a table: a header and the field (or a function of the item)."""

    header: str
    key: str | Callable[[Item], object]

    def value(self, item: Item) -> object:
        return item.get(self.key) if isinstance(self.key, str) else self.key(item)

    @property
    def field(self) -> str:
        return self.key if isinstance(self.key, str) else self.header.lower()


def columns(*specs: str | tuple[str, str | Callable[[Item], object]]) -> tuple[Column, ...]:
    """Column specs: ``"name"`` shows field ``name`` under header NAME; a pair names both."""
    out = []
    for spec in specs:
        header, key = (spec.upper().replace("_", " "), spec) if isinstance(spec, str) else spec
        out.append(Column(header, key))
    return tuple(out)


@dataclass(frozen=True)
class Section:
    """A nested list of a resource shown below its fields, e.g. a HaVip's members."""

    key: str
    title: str
    columns: tuple[Column, ...]


def cell(value: object, field: str = "") -> Text:
    """The text of one value: ``-`` for nothing, lists joined, statuses coloured."""
    if value is None or value == "" or value == [] or value == {}:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list):
        return Text(", ".join(cell(v).plain for v in value))
    if isinstance(value, dict):
        return Text(", ".join(f"{k}={cell(v).plain}" for k, v in value.items() if v is not None))
    text = str(value)
    return Text(text, style=STATUS_STYLES.get(text, "") if field == "status" else "")


class Output:
    """Where a command's results go: a rich console, or JSON on stdout."""

    def __init__(self, json_output: bool = False, console: Console | None = None) -> None:
        self.json_output = json_output
        self._console = console

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
        return self._console

    def raw(self, data: object) -> None:
        typer.echo(json.dumps(data, indent=2))

    def items(self, items: Sequence[Item], cols: Sequence[Column], *, what: str) -> None:
        """A list: a table, or a JSON array."""
        if self.json_output:
            self.raw(list(items))
        elif not items:
            self.console.print(Text(f"no {what}", style="dim"))
        else:
            self.console.print(table(items, cols))

    def item(self, item: Item, *, title: str, sections: Iterable[Section] = ()) -> None:
        """One resource: its fields, then each section as a table; or the JSON."""
        if self.json_output:
            self.raw(item)
            return
        sections = tuple(sections)
        nested = {s.key for s in sections}
        fields = Table(box=None, show_header=False, title=title, title_justify="left", title_style="bold")
        fields.add_column(style="dim")
        fields.add_column(overflow="fold")
        for key, value in item.items():
            if key not in nested:
                fields.add_row(key, cell(value, key))
        self.console.print(fields)
        for section in sections:
            rows = item.get(section.key) or []
            self.console.print(Text(f"{section.title} ({len(rows)})", style="bold"))
            if rows:
                self.console.print(table(rows, section.columns))

    def issued_key(self, what: str, key: Item) -> None:
        """A freshly issued key, whose secret the server shows this once and never again."""
        self.note(f"{what} {key.get('id', '')}: {key.get('token', '')}")
        self.note("This token is shown only now; keep it somewhere safe (e.g. export HAVIP_TOKEN=...).")

    def note(self, text: str) -> None:
        """A line for people (e.g. "deleted vpc-1"); silent with --json."""
        if not self.json_output:
            self.console.print(Text(text))


def table(items: Iterable[Item], cols: Sequence[Column]) -> Table:
    out = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    for col in cols:
        out.add_column(col.header, overflow="fold")
    for item in items:
        out.add_row(*(cell(col.value(item), col.field) for col in cols))
    return out
