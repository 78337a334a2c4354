"""``havip access-key``: AccessKey ID/secret pairs for the Alibaba and Tencent API facades.

The official SDKs, Terraform and scripts written for Alibaba Cloud or Tencent Cloud
sign their requests with an AccessKey; pointed at havip (docs/compat.md) they use one
issued here. The secret is printed once, at creation. A tenant manages its own
account's keys; the operator names the account with ``--account``.
"""

from __future__ import annotations

import typer

from havip.cli.render import columns
from havip.cli.resources import ACCOUNT_HELP, Resource, add_list, body, state_of

ACCESS_KEY = Resource(
    "access-keys",
    "AccessKey",
    "AccessKeys",
    columns("id", ("ACCOUNT", "account_id"), "description", ("CREATED", "created_at")),
)

access_key_app = typer.Typer(
    no_args_is_help=True,
    help="AccessKeys: the ID/secret pairs the Alibaba and Tencent SDKs (and Terraform) sign requests with "
    "when pointed at havip (see docs/compat.md).",
)


@access_key_app.command("create")
def access_key_create(
    ctx: typer.Context,
    description: str | None = typer.Option(None, "--description", help="What the key is for."),
    account: str | None = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Issue an AccessKey; its secret is shown only this once."""
    state = state_of(ctx)
    key = state.client("tenant", account=account).create(
        "access-keys", body(account_id=account, description=description)
    )
    if state.output.json_output:
        state.output.raw(key)
        return
    state.output.item({k: v for k, v in key.items() if k != "secret"}, title=ACCESS_KEY.label(key))
    state.output.note(f"AccessKey ID:     {key.get('id', '')}")
    state.output.note(f"AccessKey secret: {key.get('secret', '')}")
    state.output.note("The secret is shown only now; keep it somewhere safe.")


@access_key_app.command("revoke")
def access_key_revoke(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="ACCESS_KEY_ID", help="The AccessKey ID."),
    account: str | None = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Revoke an AccessKey: requests signed with it are refused from now on."""
    state = state_of(ctx)
    state.client("tenant", account=account).delete("access-keys", key)
    state.output.note(f"revoked AccessKey {key}")


add_list(access_key_app, ACCESS_KEY, help="List AccessKeys (never their secrets).")
