"""``havip eip-pool`` and ``havip eip``: public addresses in front of HaVips.

An operator adds pools of public addresses; tenants allocate EIPs from them and
associate one with a HaVip (it then follows the HaVip's holder) or with an ENI.
"""

from __future__ import annotations

import typer

from havip.cli.names import resolve, resolve_optional
from havip.cli.render import columns
from havip.cli.resources import ACCOUNT_HELP, Filter, Resource, add_delete, add_list, add_show, body, one_of, state_of

POOL = Resource(
    "eip-pools",
    "EIP pool",
    "EIP pools",
    columns("id", "cidr", "region", "name"),
    delete_role="operator",
    by_account=False,
)
EIP = Resource(
    "eips",
    "EIP",
    "EIPs",
    columns("id", "ip", "region", ("HAVIP", "havip_id"), ("ENI", "network_interface_id"), ("POOL", "pool_id"), "name"),
    filters=(Filter("--havip", "havip_id", "Only the EIPs associated with this HaVip.", names="havips"),),
)

pool_app = typer.Typer(
    no_args_is_help=True, help="EIP pools (operator): ranges of public addresses that EIPs are allocated from."
)
eip_app = typer.Typer(
    no_args_is_help=True,
    help="Elastic IPs: public addresses. Associated with a HaVip, an EIP follows whichever member holds the HaVip "
    "(translated on hosts whose agent runs with --uplink).",
)


@pool_app.command("create")
def pool_create(
    ctx: typer.Context,
    cidr: str = typer.Option(..., "--cidr", help="The public range, e.g. 203.0.113.0/28."),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    region: str | None = typer.Option(None, "--region", help="The region (default: the server's default region)."),
    documentation_range: bool = typer.Option(
        False,
        "--documentation-range",
        help="Allow an RFC 5737 documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): for labs.",
    ),
) -> None:
    """Add a pool of public addresses (operator). Private and special ranges are refused."""
    state = state_of(ctx)
    made = body(cidr=cidr, name=name, region=region) | ({"documentation_range": True} if documentation_range else {})
    pool = state.client("operator").create("eip-pools", made)
    state.output.item(pool, title=POOL.label(pool))


@eip_app.command("allocate")
def eip_allocate(
    ctx: typer.Context,
    region: str | None = typer.Option(None, "--region", help="The region (default: the server's default region)."),
    pool: str | None = typer.Option(
        None, "--pool", help="Allocate from this pool (id or name; default: any of the region)."
    ),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    account: str | None = typer.Option(None, "--account", help=ACCOUNT_HELP),
    client_token: str | None = typer.Option(
        None, "--client-token", help="An idempotency token: a retry with the same token returns the first result."
    ),
) -> None:
    """Allocate an EIP (a public address) to the account."""
    state = state_of(ctx)
    client = state.client("tenant", account=account)
    pool_id = resolve_optional(client, "eip-pools", pool)
    fields = body(region=region, pool_id=pool_id, name=name, account_id=account, client_token=client_token)
    eip = client.create("eips", fields)
    state.output.item(eip, title=EIP.label(eip))


@eip_app.command("associate")
def eip_associate(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The EIP (id or name)."),
    havip: str | None = typer.Option(None, "--havip", help="Associate it with this HaVip (id or name)."),
    eni: str | None = typer.Option(None, "--eni", help="Associate it with this network interface (id or name)."),
) -> None:
    """Associate an EIP with exactly one of --havip or --eni."""
    kind, target = one_of(havip=havip, eni=eni)
    state = state_of(ctx)
    client = state.client()
    ident = resolve(client, "eips", ident)
    if kind == "havip":
        eip = client.eip_associate(ident, havip_id=resolve(client, "havips", target))
    else:
        eip = client.eip_associate(ident, network_interface_id=resolve(client, "network-interfaces", target))
    state.output.item(eip, title=EIP.label(eip))


@eip_app.command("unassociate")
def eip_unassociate(
    ctx: typer.Context, ident: str = typer.Argument(..., metavar="ID", help="The EIP (id or name).")
) -> None:
    """Detach an EIP from its HaVip or network interface (it stays allocated)."""
    state = state_of(ctx)
    client = state.client()
    eip = client.eip_unassociate(resolve(client, "eips", ident))
    state.output.item(eip, title=EIP.label(eip))


add_list(pool_app, POOL)
add_delete(pool_app, POOL, help="Delete an EIP pool (operator); it must have no allocated EIPs.")
add_list(eip_app, EIP)
add_show(eip_app, EIP)
add_delete(eip_app, EIP, name="release", done="released", help="Release an EIP back to its pool.")
