"""``havip account`` and ``havip quota``: tenants, their keys and their limits.

Accounts and keys are the operator's business. A new account's first key, and every
key created here, is printed once: the server keeps only a hash of its secret.
"""

from __future__ import annotations

import typer

from havip.cli.render import columns
from havip.cli.resources import Resource, add_list, add_show, state_of

ACCOUNT = Resource(
    "accounts",
    "account",
    "accounts",
    columns("id", "name", ("CREATED", "created_at")),
    role="operator",
    by_account=False,
)
QUOTA_COLUMNS = columns("name", "value", "default", "used", "description")

account_app = typer.Typer(
    no_args_is_help=True, help="Accounts (operator): tenants. Each sees and touches only its own resources."
)
quota_app = typer.Typer(
    no_args_is_help=True,
    help="Quotas: per-account limits (HaVips per account and per VPC, members per HaVip, ...). Operators raise them.",
)


@account_app.command("create")
def account_create(ctx: typer.Context, name: str = typer.Argument(..., help="The account's unique name.")) -> None:
    """Create an account and its first tenant key (shown once)."""
    state = state_of(ctx)
    answer = state.client("operator").create("accounts", {"name": name})
    if state.output.json_output:
        state.output.raw(answer)
        return
    account = answer.get("account") or {}
    state.output.item(account, title=ACCOUNT.label(account))
    state.output.issued_key("tenant key", answer.get("key") or {})


@account_app.command("key-create")
def account_key_create(
    ctx: typer.Context,
    account: str = typer.Argument(..., metavar="ACCOUNT", help="The account the key acts for."),
    description: str = typer.Option("", "--description", help="What the key is for."),
) -> None:
    """Issue another tenant key for an account (shown once)."""
    state = state_of(ctx)
    key = state.client("operator").create_account_key(account, description)
    if state.output.json_output:
        state.output.raw(key)
    else:
        state.output.issued_key("tenant key", key)


@account_app.command("key-revoke")
def account_key_revoke(
    ctx: typer.Context, key: str = typer.Argument(..., metavar="KEY_ID", help="The key's id (the part before the dot).")
) -> None:
    """Revoke a key (operator): requests with it fail from now on."""
    state = state_of(ctx)
    state.client("operator").revoke_key(key)
    state.output.note(f"revoked key {key}")


@quota_app.command("list")
def quota_list(
    ctx: typer.Context,
    account: str | None = typer.Option(None, "--account", help="The account (default: your own)."),
) -> None:
    """Show an account's quotas: the value in force, the default, and the usage."""
    state = state_of(ctx)
    quotas = state.client("tenant", account=account).quotas(account)
    state.output.items(quotas, QUOTA_COLUMNS, what="quotas")


@quota_app.command("set")
def quota_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The quota, e.g. havips_per_account (see `havip quota list`)."),
    value: int = typer.Argument(..., min=0, help="The new limit."),
    account: str | None = typer.Option(
        None, "--account", help="The account (default: the account of the credentials file)."
    ),
) -> None:
    """Set one quota of one account (operator)."""
    state = state_of(ctx)
    target = account or state.default_account()
    if target is None:
        raise typer.BadParameter("name the account whose quota to set", param_hint="--account")
    quota = state.client("operator").set_quota(target, name, value)
    state.output.item(quota, title=f"quota {name} of {target}")


add_list(account_app, ACCOUNT)
add_show(account_app, ACCOUNT)
