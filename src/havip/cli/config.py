"""Configuration files for ``havip serve`` and ``havip agent`` (``--config FILE``, TOML).

Built from the command's own click options, so every option is a key and an option added
later needs no change here. A key is the option's long name without its leading dashes,
as written on the command line (``listen``, ``log-level``, ``discovery-interval``). The
file fills click's ``default_map``, which gives the precedence of every havip command:
a flag on the command line, then its environment variable, then the file, then the
built-in default.

The file is read and checked whole before the command runs: an unknown key, a value of
the wrong type, or one the option's type refuses ends the command with the file's name,
the key and the reason (exit status 2), before anything is started. Called by the
``--config`` option's eager callback; it must not start or import anything heavy.
"""

from __future__ import annotations

import enum
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import typer

from havip.logs import LogFormat


class LogLevel(enum.StrEnum):
    """``--log-level`` of serve and agent."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


NOT_KEYS = frozenset({"config", "help"})  # options that make no sense inside the file itself


# click's classes are typer's vendored copy (typer._click), not a public name: typed Any here.
def option_keys(command: Any) -> dict[str, Any]:
    """The keys a file may set for ``command``: each option's long name without dashes."""
    keys: dict[str, Any] = {}
    for param in command.params:
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        longs = [opt for opt in param.opts if opt.startswith("--")]
        if not longs:
            continue
        key = longs[0].removeprefix("--")
        if key not in NOT_KEYS:
            keys[key] = param
    return keys


def read(path: Path) -> dict[str, Any]:
    """The file's table; a ``typer.BadParameter`` when it cannot be read or is not TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint="--config") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise typer.BadParameter(f"{path} is not valid TOML: {exc}", param_hint="--config") from exc


def type_name(option: Any) -> str:
    """The option's value type as the docs name it (``str``, ``float``, ``bool``, ``LogLevel``, ...)."""
    annotation = option.type_descriptor.annotation
    while typing.get_args(annotation) and typing.get_origin(annotation) in (list, tuple, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    return str(getattr(annotation, "__name__", annotation))


def check_value(ctx: Any, path: Path, key: str, option: Any, value: Any) -> Any:
    """``value`` as the option takes it from the command line, or a refusal naming the file and key."""
    where = f"{path}: key {key!r}"
    if isinstance(value, dict):
        raise typer.BadParameter(f"{where}: a table is not a value (write {key} = VALUE)", param_hint="--config")
    if option.multiple != isinstance(value, list):
        want = f"a list, e.g. {key} = [...]" if option.multiple else "one value, not a list"
        raise typer.BadParameter(f"{where}: expected {want}", param_hint="--config")
    for one in value if isinstance(value, list) else [value]:
        if option.is_flag and not isinstance(one, bool):
            raise typer.BadParameter(f"{where}: expected true or false, got {one!r}", param_hint="--config")
        if isinstance(one, bool) and not option.is_flag:
            raise typer.BadParameter(f"{where}: expected a {type_name(option)}, got {one}", param_hint="--config")
        if not isinstance(one, str) and type_name(option) == "str":
            raise typer.BadParameter(f"{where}: expected a string, got {one!r} (quote it)", param_hint="--config")
    try:
        return option.process_value(ctx, value)
    except typer.BadParameter as exc:
        raise typer.BadParameter(f"{where}: {exc.message}", param_hint="--config") from exc


def option() -> Any:
    """The ``--config FILE`` option of ``havip serve`` and ``havip agent`` (eager: read first)."""
    return typer.Option(
        None,
        "--config",
        is_eager=True,
        callback=load,
        help='A TOML file that sets any option below by its long name (e.g. log-level = "debug"); '
        "flags and environment variables override it (docs/config.md).",
        show_default=False,
    )


def log_format_option() -> Any:
    """The ``--log-format`` option of ``havip serve`` and ``havip agent`` (docs/logs.md)."""
    return typer.Option(
        LogFormat.json,
        "--log-format",
        help="json: one JSON object a line with fixed field names (docs/logs.md); text: the same fields as "
        "key=value after time, level, logger and event, for a terminal.",
    )


def load(ctx: typer.Context, value: Path | None) -> Path | None:
    """The ``--config`` callback (eager): check the file whole, then make it the command's defaults."""
    if value is None:
        return None
    table = read(value)
    keys = option_keys(ctx.command)
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise typer.BadParameter(
            f"{value}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(keys))})",
            param_hint="--config",
        )
    defaults = {keys[key].name: check_value(ctx, value, key, keys[key], item) for key, item in table.items()}
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def reference(command: Any) -> list[tuple[str, str, str, str]]:
    """(key, type, environment variable, help) of every key, for the generated docs."""
    rows = []
    for key, option in option_keys(command).items():
        kind = f"list of {type_name(option)}" if option.multiple else type_name(option)
        rows.append((key, kind, option.envvar if isinstance(option.envvar, str) else "", option.help or ""))
    return rows
