"""``havip vpc``, ``subnet``, ``route-table`` and ``route-entry``: the virtual network.

Thin commands over :class:`havip.client.HavipClient`; the list/show/delete verbs come
from the resource table in :mod:`havip.cli.resources`.
"""

from __future__ import annotations

import typer

from havip.cli.names import resolve
from havip.cli.render import Section, columns
from havip.cli.resources import (
    ACCOUNT_HELP,
    Filter,
    Resource,
    add_list,
    add_show,
    add_standard,
    body,
    changes,
    one_of,
    state_of,
)
from havip.client import Collection

NAME_HELP = "A name for people (not unique)."
DESCRIPTION_HELP = "A free-text description."
CLIENT_TOKEN_HELP = "An idempotency token: retrying a create with the same token returns the first result."

HOP_COLLECTION: dict[str, Collection] = {"havip": "havips", "instance": "instances", "eni": "network-interfaces"}
"""The collection a next hop option names (its value may be a name)."""

ENTRY_COLUMNS = columns("id", "destination", ("NEXT HOP TYPE", "next_hop_type"), ("NEXT HOP", "next_hop_id"), "name")

VPC = Resource(
    "vpcs",
    "VPC",
    "VPCs",
    columns("id", "cidr", ("VNI", "vni"), "name", "region", ("ACCOUNT", "account_id")),
    filters=(Filter("--region", "region", "Only VPCs of this region."),),
)
SUBNET = Resource(
    "subnets",
    "subnet",
    "subnets",
    columns("id", ("VPC", "vpc_id"), "cidr", "zone", "name"),
    filters=(Filter("--vpc", "vpc_id", "Only subnets of this VPC.", names="vpcs"),),
)
ROUTE_TABLE = Resource(
    "route-tables",
    "route table",
    "route tables",
    columns("id", ("VPC", "vpc_id"), "name", "system"),
    filters=(Filter("--vpc", "vpc_id", "Only the route tables of this VPC.", names="vpcs"),),
    sections=(Section("entries", "Entries", ENTRY_COLUMNS),),
)

vpc_app = typer.Typer(
    no_args_is_help=True,
    help="VPCs: private networks (an IPv4 CIDR) that hold subnets, instances and HaVips.",
)
subnet_app = typer.Typer(
    no_args_is_help=True,
    help="Subnets (Alibaba: vSwitches) of a VPC. A HaVip is an address of exactly one subnet.",
)
route_table_app = typer.Typer(
    no_args_is_help=True,
    help="Route tables of a VPC. Each VPC gets its system table when it is created.",
)
route_entry_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Route entries: send a destination CIDR to a next hop. With a HaVip as next hop the route "
        "follows the HaVip to whichever member holds it."
    ),
)


@vpc_app.command("create")
def vpc_create(
    ctx: typer.Context,
    cidr: str = typer.Option(..., "--cidr", help="The VPC's IPv4 range, e.g. 172.17.0.0/16."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    description: str | None = typer.Option(None, "--description", help=DESCRIPTION_HELP),
    region: str | None = typer.Option(None, "--region", help="The region (default: the server's default region)."),
    account: str | None = typer.Option(None, "--account", help=ACCOUNT_HELP),
    client_token: str | None = typer.Option(None, "--client-token", help=CLIENT_TOKEN_HELP),
) -> None:
    """Create a VPC (and its system route table)."""
    state = state_of(ctx)
    fields = body(
        cidr=cidr, name=name, description=description, region=region, account_id=account, client_token=client_token
    )
    vpc = state.client("tenant", account=account).create("vpcs", fields)
    state.output.item(vpc, title=VPC.label(vpc))


@vpc_app.command("update")
def vpc_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The VPC (id or name)."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    description: str | None = typer.Option(None, "--description", help=DESCRIPTION_HELP),
) -> None:
    """Rename a VPC or change its description."""
    state = state_of(ctx)
    client = state.client()
    vpc = client.update("vpcs", resolve(client, "vpcs", ident), changes(name=name, description=description))
    state.output.item(vpc, title=VPC.label(vpc))


@subnet_app.command("create")
def subnet_create(
    ctx: typer.Context,
    vpc: str = typer.Option(..., "--vpc", help="The VPC the subnet belongs to (id or name)."),
    cidr: str = typer.Option(..., "--cidr", help="The subnet's range, inside the VPC's, e.g. 172.17.16.0/24."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    description: str | None = typer.Option(None, "--description", help=DESCRIPTION_HELP),
    zone: str | None = typer.Option(None, "--zone", help="The availability zone."),
    client_token: str | None = typer.Option(None, "--client-token", help=CLIENT_TOKEN_HELP),
) -> None:
    """Create a subnet in a VPC."""
    state = state_of(ctx)
    client = state.client()
    vpc_id = resolve(client, "vpcs", vpc)
    fields = body(vpc_id=vpc_id, cidr=cidr, name=name, description=description, zone=zone, client_token=client_token)
    subnet = client.create("subnets", fields)
    state.output.item(subnet, title=SUBNET.label(subnet))


@subnet_app.command("update")
def subnet_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The subnet (id or name)."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    description: str | None = typer.Option(None, "--description", help=DESCRIPTION_HELP),
) -> None:
    """Rename a subnet or change its description."""
    state = state_of(ctx)
    client = state.client()
    fields = changes(name=name, description=description)
    subnet = client.update("subnets", resolve(client, "subnets", ident), fields)
    state.output.item(subnet, title=SUBNET.label(subnet))


@route_entry_app.command("create")
def route_entry_create(
    ctx: typer.Context,
    table: str = typer.Argument(..., metavar="TABLE", help="The route table (id or name)."),
    destination: str = typer.Option(..., "--destination", help="The destination CIDR, e.g. 10.0.0.0/8."),
    havip: str | None = typer.Option(None, "--havip", help="Next hop: a HaVip, id or name (follows its holder)."),
    instance: str | None = typer.Option(None, "--instance", help="Next hop: an instance (id or name)."),
    eni: str | None = typer.Option(None, "--eni", help="Next hop: a network interface (id or name)."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    description: str | None = typer.Option(None, "--description", help=DESCRIPTION_HELP),
    client_token: str | None = typer.Option(None, "--client-token", help=CLIENT_TOKEN_HELP),
) -> None:
    """Add a route: give the destination and exactly one of --havip, --instance, --eni."""
    hop_type, hop = one_of(havip=havip, instance=instance, eni=eni)
    state = state_of(ctx)
    client = state.client()
    hop = resolve(client, HOP_COLLECTION[hop_type], hop)
    fields = body(
        destination=destination,
        next_hop_type="network_interface" if hop_type == "eni" else hop_type,
        next_hop_id=hop,
        name=name,
        description=description,
        client_token=client_token,
    )
    entry = client.create_route_entry(resolve(client, "route-tables", table), fields)
    state.output.item(entry, title=f"route entry {entry.get('id', '')}")


@route_entry_app.command("list")
def route_entry_list(
    ctx: typer.Context,
    table: str = typer.Argument(..., metavar="TABLE", help="The route table (id or name)."),
) -> None:
    """List the entries of a route table."""
    state = state_of(ctx)
    client = state.client()
    state.output.items(
        client.route_entries(resolve(client, "route-tables", table)), ENTRY_COLUMNS, what="route entries"
    )


@route_entry_app.command("delete")
def route_entry_delete(
    ctx: typer.Context,
    table: str = typer.Argument(..., metavar="TABLE", help="The route table (id or name)."),
    entry: str = typer.Argument(..., metavar="ENTRY", help="The route entry."),
) -> None:
    """Delete a route entry."""
    state = state_of(ctx)
    client = state.client()
    client.delete_route_entry(resolve(client, "route-tables", table), entry)
    state.output.note(f"deleted route entry {entry}")


add_standard(vpc_app, VPC)
add_standard(subnet_app, SUBNET)
add_list(route_table_app, ROUTE_TABLE)
add_show(route_table_app, ROUTE_TABLE, help="Show a route table with its entries.")
