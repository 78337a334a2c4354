"""``havip keepalived render|check``: a member's keepalived.conf, or a lint of one.

Facts (the HaVip's subnet, its members' addresses) come from the control plane when
``--havip``/``--instance`` are given; ``check`` also works offline on a file alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from havip.cli.exits import ExitCode
from havip.cli.names import resolve
from havip.cli.state import CliError, CliState
from havip.client import HavipClient
from havip.keepalived.check import Facts, Severity, check
from havip.keepalived.render import Member, RenderError, RenderOptions, render

HELP = (
    "keepalived for HaVips. A HaVip network carries unicast only and accepts ARP announcements only from the "
    "HaVip's members, so keepalived must use unicast_src_ip/unicast_peer with the other members' addresses and "
    "announce the HaVip's address. 'render' writes such a configuration for one member; 'check' reads one and "
    "says in plain words what will not work."
)

keepalived_app = typer.Typer(help=HELP, no_args_is_help=True)

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "dim"}


def _addresses_in(client: HavipClient, kind: str, ident: str, subnet_id: str) -> list[str]:
    """The addresses an instance or ENI has in one subnet."""
    if kind == "instance":
        enis = client.get("instances", ident).get("network_interfaces", [])
    else:
        enis = [client.get("network-interfaces", ident)]
    out: list[str] = []
    for eni in enis:
        if eni.get("subnet_id") == subnet_id:
            out += [eni["primary_ip"], *eni.get("secondary_ips", [])]
    return out


def _member_addresses(client: HavipClient, havip: dict[str, Any]) -> dict[str, list[str]]:
    return {
        m["member_id"]: _addresses_in(client, m["member_type"], m["member_id"], havip["subnet_id"])
        for m in havip.get("members", [])
    }


@keepalived_app.command("render")
def render_cmd(
    ctx: typer.Context,
    havip_id: str = typer.Option(..., "--havip", help="The HaVip the member announces (id or name)."),
    member_id: str = typer.Option(..., "--instance", "--eni", help="This member (an instance or ENI id)."),
    interface: str = typer.Option("eth0", "--interface", help="The member's interface name inside the guest."),
    priority: int = typer.Option(100, "--priority", help="VRRP priority (1-254); all members start as BACKUP."),
    advert_int: float = typer.Option(1.0, "--advert-int", help="Seconds between adverts (VRRPv3: down to 0.01)."),
    vrrp_version: int = typer.Option(0, "--vrrp-version", help="2 or 3 (default: 3 when advert_int < 1)."),
    check_cmd: str | None = typer.Option(None, "--check", help="A health-check command to track (checkhaproxy)."),
    out_file: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Print keepalived.conf for one member of a HaVip: unicast peers, BACKUP + nopreempt, GARP settings."""
    state = ctx.ensure_object(CliState)
    client = state.client()
    havip_id = resolve(client, "havips", havip_id)
    havip = client.get("havips", havip_id)
    addresses = _member_addresses(client, havip)
    if member_id not in addresses:
        raise CliError(
            "InvalidMember.NotAssociated", f"{member_id} is not a member of HaVip {havip_id}; associate it first"
        )
    if not addresses[member_id]:
        raise CliError("InvalidMember.NotInSameSubnet", f"{member_id} has no address in the HaVip's subnet")
    me = addresses[member_id][0]
    peers = [a[0] for m, a in addresses.items() if m != member_id and a]
    version = vrrp_version or (2 if advert_int == int(advert_int) else 3)
    options = RenderOptions(
        priority=priority,
        advert_int=advert_int,
        vrrp_version=version,
        track_scripts={"checkhaproxy": check_cmd} if check_cmd else {},
    )
    try:
        text = render(havip["ip"], Member(interface, me), peers, options)
    except RenderError as exc:
        raise CliError("InvalidParameter", str(exc)) from exc
    if out_file is not None:
        out_file.write_text(text)
        state.output.note(f"wrote {out_file}")
    else:
        typer.echo(text, nl=False)


@keepalived_app.command("check")
def check_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="The keepalived.conf to check.", exists=True, dir_okay=False),
    havip_id: str | None = typer.Option(
        None, "--havip", help="Check against this HaVip's subnet and members (id or name)."
    ),
    member_id: str | None = typer.Option(None, "--instance", "--eni", help="The instance or ENI the file is for."),
) -> None:
    """Lint a keepalived.conf for a HaVip; exits 1 when something will not work."""
    state = ctx.ensure_object(CliState)
    facts = None
    if havip_id:
        client = state.client()
        havip = client.get("havips", resolve(client, "havips", havip_id))
        subnet = client.get("subnets", havip["subnet_id"])
        siblings = client.list_all("havips", {"subnet_id": havip["subnet_id"]})
        vips: dict[str, list[str] | None] = {}
        for h in siblings:
            if h.get("binding_mode") == "subnet":
                vips[h["ip"]] = None
            else:
                vips[h["ip"]] = [a for addrs in _member_addresses(client, h).values() for a in addrs]
        me = None
        if member_id:
            mine = _addresses_in(
                client, "instance" if member_id.startswith("i-") else "eni", member_id, havip["subnet_id"]
            )
            me = mine[0] if mine else None
        facts = Facts(subnet["cidr"], vips, me)
    report = check(path.read_text(), facts)
    out = state.output
    if out.json_output:
        out.raw({"ok": report.ok, "findings": [f.__dict__ | {"severity": f.severity.value} for f in report.findings]})
    else:
        for f in report.findings:
            where = f"{path}:{f.line}" if f.line else str(path)
            out.console.print(
                Text.assemble((f"{f.severity.value}", SEVERITY_STYLE[f.severity]), f" {where}: {f.message}")
            )
        verdict = "works with a HaVip" if report.ok else "will not work with a HaVip"
        out.console.print(Text(f"{path}: {verdict}", style="bold green" if report.ok else "bold red"))
    if not report.ok:
        raise typer.Exit(ExitCode.FAILED)
