"""``--config FILE`` of ``havip serve`` and ``havip agent``: keys from the commands' own options,
refusals that name the file and the key, and the shipped examples under ``deploy/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from havip.cli import config
from havip.cli.main import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def command(name: str) -> Any:
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]  # a group: it has commands


def defaults_from(tmp_path: Path, name: str, text: str) -> dict[str, Any]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    ctx = typer.Context(command(name))
    config.load(ctx, path)
    return dict(ctx.default_map or {})


def test_every_option_is_a_key_and_config_itself_is_not() -> None:
    serve_keys = set(config.option_keys(command("serve")))
    agent_keys = set(config.option_keys(command("agent")))
    assert {"db", "listen", "region", "log-level"} <= serve_keys
    assert {"server", "host", "netns", "token", "resync", "discovery-interval", "log-level"} <= agent_keys
    assert "config" not in serve_keys | agent_keys
    assert "help" not in serve_keys | agent_keys


def test_values_are_taken_as_the_command_line_takes_them(tmp_path: Path) -> None:
    got = defaults_from(tmp_path, "agent", 'server = "http://h:1"\nhost = "hv"\nresync = 5\ndump = true\n')
    assert got == {"server": "http://h:1", "host": "hv", "resync": 5.0, "dump": True}
    assert defaults_from(tmp_path, "serve", 'region = ["a", "b"]\n') == {"region": ["a", "b"]}


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("serve", 'lissen = "x"\n', ["unknown key 'lissen'", "known: "]),
        ("serve", 'log-level = "loud"\n', ["key 'log-level'", "loud"]),
        ("serve", 'region = "x"\n', ["key 'region'", "expected a list"]),
        ("serve", "listen = 8080\n", ["key 'listen'", "expected a string"]),
        ("serve", 'listen = ["a"]\n', ["key 'listen'", "one value, not a list"]),
        ("agent", "dump = 1\n", ["key 'dump'", "true or false"]),
        ("agent", 'resync = "soon"\n', ["key 'resync'", "number"]),
        ("agent", "resync = true\n", ["key 'resync'", "expected a float"]),
        ("agent", "[metrics]\nport = 1\n", ["key 'metrics'", "a table is not a value"]),
        ("serve", "listen = \n", ["is not valid TOML"]),
        ("serve", "log_level = 'info'\n", ["unknown key 'log_level'"]),
    ],
    ids=[
        "unknown-key",
        "bad-choice",
        "list-wanted",
        "number-for-string",
        "list-for-one",
        "flag-not-bool",
        "not-a-number",
        "bool-for-number",
        "table",
        "not-toml",
        "underscore-spelling",
    ],
)
def test_bad_files_are_refused_with_the_key_and_the_file(
    tmp_path: Path, name: str, text: str, words: list[str]
) -> None:
    with pytest.raises(typer.BadParameter) as caught:
        defaults_from(tmp_path, name, text)
    message = caught.value.message
    assert str(tmp_path / "c.toml") in message
    for word in words:
        assert word in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    ctx = typer.Context(command("serve"))
    with pytest.raises(typer.BadParameter, match="cannot read"):
        config.load(ctx, tmp_path / "none.toml")


@pytest.mark.parametrize("name", ["serve", "agent"])
def test_the_shipped_examples_are_valid(name: str) -> None:
    file = {"serve": "havip-server.toml", "agent": "havip-agent.toml"}[name]
    ctx = typer.Context(command(name))
    config.load(ctx, ROOT / "deploy" / file)
    assert ctx.default_map  # it set something


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--tunnel-mtu", "100"], "tunnel mtu must be 576"),
        (["--tunnel-port", "0"], "tunnel port must be 1..65535"),
        (["--tunnel-port", "4791"], "cannot share UDP port 4791"),
    ],
)
def test_bad_tunnel_options_are_refused_before_anything_runs(args: list[str], words: str) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["agent", "--server", "http://127.0.0.1:1", "--host", "hv", *args])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box
