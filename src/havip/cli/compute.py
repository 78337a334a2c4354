"""``havip instance``, ``eni`` and ``host``: what a HaVip binds to and where it runs.

An instance is created with its primary network interface (ENI); ``--host`` and
``--device`` place an interface on a hypervisor so that host's agent wires it up.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from havip.cli.names import resolve, resolve_optional
from havip.cli.render import Item, Section, columns
from havip.cli.resources import Filter, Resource, add_standard, body, changes, state_of

CLIENT_TOKEN_HELP = "An idempotency token: retrying a create with the same token returns the first result."
HOST_HELP = "The host (id or name) whose agent plugs the interface in."
DEVICE_HELP = "The host-side device: a veth end or the existing tap of a VM."
UNDERLAY_HELP = (
    "Its unicast IPv4 address on the underlay network, unique among hosts: the other hosts of its VPCs "
    "tunnel their traffic to it. Without one the host works alone."
)


def primary_ip(instance: Item) -> object:
    """The instance's primary address, from its primary network interface."""
    interfaces = instance.get("network_interfaces") or []
    primary = [eni for eni in interfaces if eni.get("primary")] or interfaces
    return primary[0].get("primary_ip") if primary else None


ENI_COLUMNS = columns(
    "id",
    ("PRIMARY IP", "primary_ip"),
    ("SECONDARY IPS", "secondary_ips"),
    "mac",
    ("INSTANCE", "instance_id"),
    ("HOST", "host_id"),
    "device",
    "name",
)

INSTANCE = Resource(
    "instances",
    "instance",
    "instances",
    columns("id", "name", "status", ("PRIMARY IP", primary_ip), ("SUBNET", "subnet_id"), ("VPC", "vpc_id")),
    filters=(
        Filter("--vpc", "vpc_id", "Only instances in this VPC.", names="vpcs"),
        Filter("--subnet", "subnet_id", "Only instances in this subnet.", names="subnets"),
    ),
    sections=(Section("network_interfaces", "Network interfaces", ENI_COLUMNS),),
)
ENI = Resource(
    "network-interfaces",
    "network interface",
    "network interfaces",
    (*ENI_COLUMNS[:1], *columns(("SUBNET", "subnet_id")), *ENI_COLUMNS[1:]),
    filters=(
        Filter("--subnet", "subnet_id", "Only interfaces in this subnet.", names="subnets"),
        Filter("--vpc", "vpc_id", "Only interfaces in this VPC.", names="vpcs"),
        Filter("--instance", "instance_id", "Only interfaces attached to this instance.", names="instances"),
    ),
)


def agent_field(name: str) -> Callable[[Item], object]:
    """A field of the host's agent (its liveness: state, last seen, version, applied revision)."""

    def read(host: Item) -> object:
        return (host.get("agent") or {}).get(name)

    return read


HOST = Resource(
    "hosts",
    "host",
    "hosts",
    columns(
        "id",
        "name",
        "region",
        "underlay",
        ("AGENT", agent_field("state")),
        ("LAST SEEN", agent_field("last_seen_at")),
        ("VERSION", agent_field("version")),
        ("APPLIED", agent_field("applied_revision")),
        ("IN SYNC", agent_field("in_sync")),
        "description",
    ),
    role="operator",
    by_account=False,
)

instance_app = typer.Typer(
    no_args_is_help=True,
    help="Instances (ECS/CVM). Each has a primary network interface in one subnet; HaVips bind to instances or ENIs.",
)
eni_app = typer.Typer(
    no_args_is_help=True,
    help="Network interfaces (ENIs): addresses in one subnet, a MAC, and a placement on a host.",
)
host_app = typer.Typer(
    no_args_is_help=True,
    help="Hosts (operator): hypervisors, each running one havip agent with its own agent key.",
)


@instance_app.command("create")
def instance_create(
    ctx: typer.Context,
    subnet: str = typer.Option(..., "--subnet", help="The subnet of the primary network interface (id or name)."),
    ip: str | None = typer.Option(None, "--ip", help="The primary address (default: the next free one)."),
    mac: str | None = typer.Option(None, "--mac", help="The MAC address (default: a fresh one)."),
    host: str | None = typer.Option(None, "--host", help=HOST_HELP),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    client_token: str | None = typer.Option(None, "--client-token", help=CLIENT_TOKEN_HELP),
) -> None:
    """Create an instance with its primary network interface."""
    state = state_of(ctx)
    client = state.client()
    fields = body(
        subnet_id=resolve(client, "subnets", subnet),
        primary_ip=ip,
        mac=mac,
        host=host,
        device=device,
        name=name,
        client_token=client_token,
    )
    instance = client.create("instances", fields)
    state.output.item(instance, title=INSTANCE.label(instance), sections=INSTANCE.sections)


@instance_app.command("update")
def instance_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The instance (id or name)."),
    name: str | None = typer.Option(None, "--name", help="The new name."),
) -> None:
    """Rename an instance."""
    state = state_of(ctx)
    client = state.client()
    instance = client.update("instances", resolve(client, "instances", ident), changes(name=name))
    state.output.item(instance, title=INSTANCE.label(instance), sections=INSTANCE.sections)


@eni_app.command("create")
def eni_create(
    ctx: typer.Context,
    subnet: str = typer.Option(..., "--subnet", help="The subnet of the interface's addresses (id or name)."),
    ip: str | None = typer.Option(None, "--ip", help="The primary address (default: the next free one)."),
    secondary_ip: list[str] | None = typer.Option(None, "--secondary-ip", help="A secondary address (repeatable)."),
    mac: str | None = typer.Option(None, "--mac", help="The MAC address (default: a fresh one)."),
    instance: str | None = typer.Option(None, "--instance", help="Attach it to this instance (id or name)."),
    host: str | None = typer.Option(None, "--host", help=HOST_HELP),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    description: str | None = typer.Option(None, "--description", help="A free-text description."),
    client_token: str | None = typer.Option(None, "--client-token", help=CLIENT_TOKEN_HELP),
) -> None:
    """Create a network interface (optionally attached to an instance and placed on a host)."""
    state = state_of(ctx)
    client = state.client()
    fields = body(
        subnet_id=resolve(client, "subnets", subnet),
        primary_ip=ip,
        secondary_ips=secondary_ip or None,
        mac=mac,
        instance_id=resolve_optional(client, "instances", instance),
        host=host,
        device=device,
        name=name,
        description=description,
        client_token=client_token,
    )
    eni = client.create("network-interfaces", fields)
    state.output.item(eni, title=ENI.label(eni))


@eni_app.command("update")
def eni_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="ID", help="The network interface (id or name)."),
    name: str | None = typer.Option(None, "--name", help="The new name."),
    description: str | None = typer.Option(None, "--description", help="The new description."),
    host: str | None = typer.Option(None, "--host", help=HOST_HELP),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    secondary_ip: list[str] | None = typer.Option(
        None, "--secondary-ip", help="Replace the secondary addresses with these (repeatable)."
    ),
) -> None:
    """Change a network interface's name, description, placement or secondary addresses."""
    state = state_of(ctx)
    fields = changes(name=name, description=description, host=host, device=device, secondary_ips=secondary_ip or None)
    client = state.client()
    eni = client.update("network-interfaces", resolve(client, "network-interfaces", ident), fields)
    state.output.item(eni, title=ENI.label(eni))


@host_app.command("create")
def host_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The host's name (unique); agents and --host options use it."),
    region: str | None = typer.Option(None, "--region", help="The region (default: the server's default region)."),
    description: str | None = typer.Option(None, "--description", help="A free-text description."),
    underlay: str | None = typer.Option(None, "--underlay", help=UNDERLAY_HELP),
) -> None:
    """Register a host and issue its agent key (shown once)."""
    state = state_of(ctx)
    fields = body(name=name, region=region, description=description, underlay=underlay)
    answer = state.client("operator").create("hosts", fields)
    if state.output.json_output:
        state.output.raw(answer)
        return
    host = answer.get("host") or {}
    state.output.item(host, title=HOST.label(host))
    state.output.issued_key("agent key", answer.get("agent_key") or {})


@host_app.command("update")
def host_update(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="HOST", help="The host (id or name)."),
    description: str | None = typer.Option(None, "--description", help="The new description."),
    underlay: str | None = typer.Option(None, "--underlay", help=UNDERLAY_HELP + ' "" removes it.'),
) -> None:
    """Change a host's description or underlay address."""
    state = state_of(ctx)
    host = state.client("operator").update("hosts", ident, changes(description=description, underlay=underlay))
    state.output.item(host, title=HOST.label(host))


add_standard(instance_app, INSTANCE)
add_standard(eni_app, ENI)
add_standard(host_app, HOST)
