"""The table-driven commands every resource has: list, show, delete.

A :class:`Resource` names a collection of the API, its columns, the filters its
list takes and the nested lists its detail view shows; :func:`add_list`,
:func:`add_show` and :func:`add_delete` turn one into typer commands. The
resource modules (network, compute, havips, eips, accounts) add their own create,
update and action commands next to these.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import typer

from havip.cli.names import resolve, resolve_optional
from havip.cli.render import Column, Section
from havip.cli.state import CliError, CliState, Role
from havip.client import Collection

ACCOUNT_HELP = "Only resources of this account (operator); names the account to act for."
LIMIT_HELP = "Show at most this many (default: all; the list is fetched page by page)."


@dataclass(frozen=True)
class Filter:
    """A ``--option`` of a list command, sent as the query parameter ``param``."""

    option: str
    param: str
    help: str
    names: Collection | None = None  # the value may be a name of this collection (cli/names.py)


@dataclass(frozen=True)
class Resource:
    collection: Collection
    title: str  # "VPC"
    plural: str  # "VPCs"
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    sections: tuple[Section, ...] = ()
    role: Role = "tenant"  # the credential that reads it
    delete_role: Role | None = None  # the credential that deletes it, when not ``role``
    by_account: bool = True  # its list takes --account

    def label(self, item: dict[str, Any]) -> str:
        return f"{self.title} {item.get('id', '')}".strip()


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    if state is None:  # only when a command is invoked without the root callback
        raise CliError("Internal", "the command ran without the global options")
    return state


def add_list(app: typer.Typer, res: Resource, *, help: str | None = None) -> None:
    """``<noun> list`` with one option per filter, plus ``--account`` and ``--limit``."""

    def list_command(ctx: typer.Context, **options: Any) -> None:
        state = state_of(ctx)
        account = options.pop("account_id", None)
        limit = options.pop("limit")
        client = state.client(res.role, account=account)
        for flt in res.filters:
            if flt.names is not None:
                options[flt.param] = resolve_optional(client, flt.names, options[flt.param])
        items = client.list_all(res.collection, {"account_id": account, **options}, limit=limit)
        state.output.items(items, res.columns, what=res.plural)

    # typer reads the options from the signature; the filters come from the table,
    # so the signature is built rather than written out once per resource.
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    options = [*res.filters, *([Filter("--account", "account_id", ACCOUNT_HELP)] if res.by_account else [])]
    for flt in options:
        default = typer.Option(None, flt.option, help=flt.help, show_default=False)
        params.append(
            inspect.Parameter(flt.param, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=str | None)
        )
    limit = typer.Option(None, "--limit", min=1, help=LIMIT_HELP, show_default=False)
    params.append(inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, default=limit, annotation=int | None))
    cast(Any, list_command).__signature__ = inspect.Signature(params, return_annotation=None)
    app.command("list", help=help or f"List {res.plural}.")(list_command)


def ident_argument(res: Resource) -> Any:
    """The positional ``ID`` of a command about one resource: its id, or its name where unique."""
    return typer.Argument(..., metavar="ID", help=f"The {res.title} (its id, or its name where unique).")


def add_show(app: typer.Typer, res: Resource, *, help: str | None = None) -> None:
    def show_command(ctx: typer.Context, ident: str = ident_argument(res)) -> None:
        state = state_of(ctx)
        client = state.client(res.role)
        item = client.get(res.collection, resolve(client, res.collection, ident))
        state.output.item(item, title=res.label(item), sections=res.sections)

    app.command("show", help=help or f"Show one {res.title} in detail.")(show_command)


def add_delete(
    app: typer.Typer, res: Resource, *, name: str = "delete", done: str = "deleted", help: str | None = None
) -> None:
    def delete_command(ctx: typer.Context, ident: str = ident_argument(res)) -> None:
        state = state_of(ctx)
        client = state.client(res.delete_role or res.role)
        ident = resolve(client, res.collection, ident)
        client.delete(res.collection, ident)
        state.output.note(f"{done} {res.title} {ident}")

    app.command(name, help=help or f"Delete a {res.title}.")(delete_command)


def add_standard(app: typer.Typer, res: Resource, verbs: Sequence[str] = ("list", "show", "delete")) -> None:
    adders = {"list": add_list, "show": add_show, "delete": add_delete}
    for verb in verbs:
        adders[verb](app, res)


def body(**fields: Any) -> dict[str, Any]:
    """A request body of the options that were given (``None`` ones are left out)."""
    return {key: value for key, value in fields.items() if value is not None}


def one_of(**choices: str | None) -> tuple[str, str]:
    """The single option of ``choices`` that was given, as (name, value); else a usage error."""
    given = [(name, value) for name, value in choices.items() if value is not None]
    if len(given) != 1:
        names = " / ".join(f"--{name.replace('_', '-')}" for name in choices)
        raise typer.BadParameter("give exactly one of these options", param_hint=names)
    return given[0]


def changes(**fields: Any) -> dict[str, Any]:
    """The body of an update: the options given; a usage error when there are none."""
    given = body(**fields)
    if not given:
        names = ", ".join(f"--{name.replace('_', '-')}" for name in fields)
        raise typer.BadParameter(f"nothing to change; give at least one of {names}")
    return given


VERB_ORDER = ("create", "allocate", "list", "show", "update", "associate", "unassociate", "events", "delete", "release")


def arrange(app: typer.Typer) -> None:
    """Order a group's commands the same way everywhere in --help: create, list, show, ..."""
    rank = {verb: i for i, verb in enumerate(VERB_ORDER)}
    app.registered_commands.sort(key=lambda info: rank.get(info.name or "", len(rank)))
