"""``havip havip``: create HaVips, bind them to members, watch who holds them.

A HaVip is a private address of one subnet that no single instance owns. The
members (instances or network interfaces) run e.g. keepalived; the one that
announces the address by ARP becomes its holder, and the cloud sends the traffic
for it (and for its EIP and the routes through it) there.
"""

from __future__ import annotations

import typer

from havip.cli.names import resolve
from havip.cli.render import Item, Section, columns
from havip.cli.resources import Filter, Resource, add_standard, body, changes, one_of, state_of
from havip.client import MemberType
from havip.domain.model import BindingMode, EventKind

BINDING_HELP = (
    "Who may take the address over: 'explicit' = only its associated members; "
    "'subnet' = any network interface of its subnet."
)


def holder(havip: Item) -> object:
    """The holder as one cell: its interface, and the instance when there is one."""
    held = havip.get("holder")
    if not isinstance(held, dict) or not held.get("interface_id"):
        return None
    instance = held.get("instance_id")
    cell = f"{held['interface_id']} ({instance})" if instance else str(held["interface_id"])
    if held.get("healthy") is False:
        cell += f" [host agent {held.get('host_agent', 'down')}]"  # the holder may be gone with its host
    return cell


def member_count(havip: Item) -> object:
    return len(havip.get("members") or [])


HAVIP = Resource(
    "havips",
    "HaVip",
    "HaVips",
    columns(
        "id",
        "ip",
        "status",
        ("MODE", "binding_mode"),
        ("HOLDER", holder),
        ("MEMBERS", member_count),
        ("SUBNET", "subnet_id"),
        "name",
    ),
    filters=(
        Filter("--vpc", "vpc_id", "Only HaVips in this VPC.", names="vpcs"),
        Filter("--subnet", "subnet_id", "Only HaVips of this subnet.", names="subnets"),
        Filter("--status", "status", "Only HaVips in this status: Available (no members) or InUse."),
        Filter("--ip", "ip", "Only the HaVip with this address."),
        Filter("--name", "name", "Only HaVips with this name."),
    ),
    sections=(
        Section(
            "members", "Members", columns(("TYPE", "member_type"), ("MEMBER", "member_id"), ("SINCE", "created_at"))
        ),
        Section("eips", "EIPs", columns("id", "ip")),
    ),
)

EVENT_COLUMNS = columns(
    "at",
    "kind",
    ("INTERFACE", "interface_id"),
    ("INSTANCE", "instance_id"),
    ("PREVIOUS", "previous_interface_id"),
    ("HOST", "host_id"),
    "cause",
    "reason",
    "count",
    ("LAST SEEN", lambda e: e.get("last_seen") if e.get("count", 1) > 1 else None),
    ("LATENCY US", "latency_us"),
)

havip_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "HaVips: floating private addresses of one subnet, taken over by ARP announcement.\n\n"
        "Associate two or more instances (or network interfaces) with a HaVip and run keepalived "
        "(VRRP) on them; whichever member announces the address becomes its holder and receives its "
        "traffic. In 'explicit' binding mode only associated members may take it over; in 'subnet' "
        "mode any interface of the subnet may."
    ),
)


@havip_app.command("create")
def havip_create(
    ctx: typer.Context,
    subnet: str = typer.Option(..., "--subnet", help="The subnet the address belongs to (id or name)."),
    ip: str | None = typer.Option(None, "--ip", help="The address (default: the next free one of the subnet)."),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    description: str | None = typer.Option(None, "--description", help="A free-text description."),
    binding_mode: BindingMode | None = typer.Option(None, "--binding-mode", help=BINDING_HELP + " Default: explicit."),
    client_token: str | None = typer.Option(
        None, "--client-token", help="An idempotency token: a retry with the same token returns the first result."
    ),
) -> None:
    """Reserve an address of a subnet as a HaVip."""
    state = state_of(ctx)
    client = state.client()
    fields = body(
        subnet_id=resolve(client, "subnets", subnet),
        ip=ip,
        name=name,
        description=description,
        binding_mode=binding_mode.value if binding_mode else None,
        client_token=client_token,
    )
    havip = client.create("havips", fields)
    state.output.item(havip, title=HAVIP.label(havip), sections=HAVIP.sections)


@havip_app.command("update")
def havip_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The HaVip (id or name)."),
    name: str | None = typer.Option(None, "--name", help="The new name."),
    description: str | None = typer.Option(None, "--description", help="The new description."),
    binding_mode: BindingMode | None = typer.Option(None, "--binding-mode", help=BINDING_HELP),
) -> None:
    """Rename a HaVip, change its description or its binding mode."""
    state = state_of(ctx)
    mode = binding_mode.value if binding_mode else None
    fields = changes(name=name, description=description, binding_mode=mode)
    client = state.client()
    havip = client.update("havips", resolve(client, "havips", ident), fields)
    state.output.item(havip, title=HAVIP.label(havip), sections=HAVIP.sections)


@havip_app.command("associate")
def havip_associate(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The HaVip (id or name)."),
    instance: str | None = typer.Option(
        None, "--instance", help="Bind this instance (id or name; its primary interface)."
    ),
    eni: str | None = typer.Option(None, "--eni", help="Bind this network interface (id or name)."),
) -> None:
    """Bind a member: exactly one of --instance or --eni. All members of a HaVip are of one type."""
    kind, member = one_of(instance=instance, eni=eni)
    state = state_of(ctx)
    member_type: MemberType = "instance" if kind == "instance" else "network_interface"
    client = state.client()
    member = resolve(client, "instances" if kind == "instance" else "network-interfaces", member)
    havip = client.associate(resolve(client, "havips", ident), member_type, member)
    state.output.item(havip, title=HAVIP.label(havip), sections=HAVIP.sections)


@havip_app.command("unassociate")
def havip_unassociate(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The HaVip (id or name)."),
    instance: str | None = typer.Option(None, "--instance", help="Unbind this instance."),
    eni: str | None = typer.Option(None, "--eni", help="Unbind this network interface."),
    force: bool = typer.Option(
        False, "--force", help="Unbind the member even while it holds the address (the HaVip is then unheld)."
    ),
) -> None:
    """Unbind a member: exactly one of --instance or --eni."""
    kind, member = one_of(instance=instance, eni=eni)
    state = state_of(ctx)
    client = state.client()
    member = resolve(client, "instances" if kind == "instance" else "network-interfaces", member)
    havip = client.unassociate(resolve(client, "havips", ident), member, force=force)
    state.output.item(havip, title=HAVIP.label(havip), sections=HAVIP.sections)


@havip_app.command("events")
def havip_events(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The HaVip (id or name)."),
    kind: EventKind | None = typer.Option(None, "--kind", help="Only events of this kind."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many, newest first."),
) -> None:
    """Show a HaVip's history: holder changes, refused claims, split brains, (un)associations.

    Repeated refusals of one interface for one reason are one line: COUNT says how many, from AT
    (the first) to LAST SEEN (docs/events.md)."""
    state = state_of(ctx)
    client = state.client()
    events = client.havip_events(resolve(client, "havips", ident), kind=kind.value if kind else None, limit=limit)
    state.output.items(events, EVENT_COLUMNS, what="events")


add_standard(havip_app, HAVIP)
