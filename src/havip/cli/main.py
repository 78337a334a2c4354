"""The ``havip`` command: the root, its global options, and one error handler.

Entry point ``havip.cli.main:app``. The root callback reads ``--server``,
``--token``, ``--json`` and ``HAVIP_HOME`` once into a :class:`CliState`; the noun
groups live in their own modules. Every :class:`~havip.client.ApiError` and
:class:`~havip.cli.state.CliError` a command raises ends here as one line on stderr
(one JSON object with ``--json``, which may stand anywhere on the line) and the exit
status of its kind (:mod:`havip.cli.exits`); usage errors exit 2 (click's own).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from havip import __version__
from havip.cli import access_keys, accounts, agent, compute, db, eips, havips, keepalived, lab, network, serve
from havip.cli.credentials import havip_home
from havip.cli.exits import ExitCode, exit_code
from havip.cli.render import Output
from havip.cli.resources import arrange
from havip.cli.state import CliError, CliState
from havip.client import ApiError

HELP = "\n\n".join(
    (
        "havip: High-Availability Virtual IPs (HaVips) for Linux virtual networks.",
        "A HaVip is a floating private IP address of one subnet. It belongs to no single instance: the "
        "instances (or network interfaces) bound to it run keepalived, and whichever one announces the address "
        "by ARP becomes its holder and gets its traffic, its EIP and the routes that point at it. Binding mode "
        "'explicit' (the default) lets only the associated members take the address over; 'subnet' lets any "
        "interface of the subnet do so.",
        "Start a control plane with `havip serve`. On its first start it writes an operator key and a tenant key "
        "to $HAVIP_HOME/credentials.json (HAVIP_HOME defaults to ~/.local/share/havip), which every other command "
        "uses when --server and --token are not given: tenant commands use the tenant key, operator commands "
        "(accounts, hosts, quota set, EIP pools, key revocation) the operator key.",
        "For programs: with --json (anywhere on the line) results are the API's JSON on stdout and an error is one "
        'JSON object {"code", "message", "request_id", "status"} on stderr. A name stands for an id wherever it is '
        "unique (e.g. `havip havip show web`). Exit statuses: "
        + ", ".join(f"{code.value} {code.name.lower().replace('_', ' ')}" for code in ExitCode)
        + " (docs/cli.md says what each covers).",
    )
)

JSON_FLAG = "--json"


def error_line(code: str, message: str, request_id: str | None = None) -> str:
    line = f"error: {code}: {message}"
    return f"{line} (request {request_id})" if request_id else line


def error_json(code: str, message: str, request_id: str | None = None, status: int | None = None) -> str:
    """The one JSON object an error is under --json: ``status`` is the HTTP status of the server's answer
    (null when there was none), ``request_id`` the id the server gave the request (null likewise)."""
    return json.dumps({"code": code, "message": message, "request_id": request_id or None, "status": status or None})


def print_version(value: bool) -> None:
    if value:
        typer.echo(f"havip {__version__}")
        raise typer.Exit()


def hoist_json(args: Sequence[str]) -> tuple[list[str], bool]:
    """``args`` with every ``--json`` (before a ``--``) moved to the front, where the root reads it,
    and whether there was one: so ``havip havip list --json`` is ``havip --json havip list``."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    head = [arg for arg in args[:end] if arg != JSON_FLAG]
    if len(head) == end:
        return args, False
    return [JSON_FLAG, *head, *args[end:]], True


class HavipGroup(TyperGroup):
    """The root group: takes --json anywhere on the line, and turns the errors of any command into
    one line (or one JSON object) on stderr and the exit status of their kind (cli/exits.py)."""

    # ctx is typed Any: its class is click's (vendored by newer typer), not a public name
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            code, message, request_id, status = exc.code, exc.message, exc.request_id, exc.status
            exit = exit_code(exc.code, exc.status)
        except CliError as exc:
            code, message, request_id, status, exit = exc.code, exc.message, None, None, exc.exit
        state = ctx.find_object(CliState)
        if state is not None and state.output.json_output:
            typer.echo(error_json(code, message, request_id, status), err=True)
        else:
            typer.echo(error_line(code, message, request_id), err=True)
        raise typer.Exit(exit)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        hoisted, as_json = hoist_json(sys.argv[1:] if args is None else args)
        if not as_json or not options.get("standalone_mode", True):
            return super().main(hoisted, *rest, **options)
        # --json: click's usage errors become one JSON object as well
        try:
            answer = super().main(hoisted, *rest, **{**options, "standalone_mode": False})
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            typer.echo(
                error_json("Usage" if exc.exit_code == ExitCode.USAGE else "Failed", exc.format_message()), err=True
            )
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo(error_json("Aborted", "aborted"), err=True)
            sys.exit(ExitCode.FAILED)
        sys.exit(answer if isinstance(answer, int) else ExitCode.OK)


app = typer.Typer(
    cls=HavipGroup,
    help=HELP,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    server: str | None = typer.Option(
        None,
        "--server",
        envvar="HAVIP_SERVER",
        help="The control plane: http://HOST:PORT or unix:///path/to.sock "
        "(default: the server of the credentials file, else http://127.0.0.1:8080).",
        show_default=False,
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="HAVIP_TOKEN",
        help="The API key (KEY_ID.SECRET) to use for every command instead of the credentials file's keys.",
        show_default=False,
    ),
    ca_file: str | None = typer.Option(
        None,
        "--ca-file",
        envvar="HAVIP_CA_FILE",
        help="Verify an https:// server with this CA certificate (PEM) instead of the system's CA store.",
        show_default=False,
    ),
    json_output: bool = typer.Option(
        False,
        JSON_FLAG,
        help="Print the API's JSON instead of tables, and errors as one JSON object on stderr (for programs; "
        "accepted anywhere on the line).",
    ),
    _version: bool = typer.Option(
        False, "--version", callback=print_version, is_eager=True, help="Print havip's version and exit."
    ),
) -> None:
    # tests hand in a CliState (with a MockTransport) as ctx.obj; otherwise make one
    state = ctx.ensure_object(CliState)
    state.home = havip_home(os.environ)
    state.server = server or state.server
    state.token = token or state.token
    state.ca_file = ca_file or state.ca_file
    state.output = Output(json_output=json_output)
    ctx.call_on_close(state.close)


for group, name in (
    (network.vpc_app, "vpc"),
    (network.subnet_app, "subnet"),
    (compute.instance_app, "instance"),
    (compute.eni_app, "eni"),
    (havips.havip_app, "havip"),
    (eips.pool_app, "eip-pool"),
    (eips.eip_app, "eip"),
    (network.route_table_app, "route-table"),
    (network.route_entry_app, "route-entry"),
    (compute.host_app, "host"),
    (accounts.account_app, "account"),
    (access_keys.access_key_app, "access-key"),
    (accounts.quota_app, "quota"),
    (keepalived.keepalived_app, "keepalived"),
    (lab.lab_app, "lab"),
    (db.db_app, "db"),
):
    arrange(group)
    app.add_typer(group, name=name)
app.command("serve", help=serve.HELP)(serve.serve)
app.command("agent", help=agent.HELP)(agent.agent)
