"""``havip lab``: a HaVip failing over for real between keepalived instances, on this machine.

Thin commands over ``havip.lab.control``; needs root (namespaces, keepalived).
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from havip.cli.exits import ExitCode
from havip.cli.state import CliError, CliState
from havip.lab import control
from havip.lab.failover import MODES
from havip.lab.spec import DEFAULT_NAME, MAX_HOSTS, SCENARIOS, LabPaths, LabSpec, check_name

HELP = (
    "A lab on this machine: the product page's scenario with real keepalived. Instances are network "
    "namespaces wired to a host namespace run by a real havip agent; a real control plane (SQLite) "
    "holds the HaVip; a client probes the VIP throughout. Needs root. Several labs can coexist (--name)."
)

lab_app = typer.Typer(help=HELP, no_args_is_help=True)

NAME = typer.Option(DEFAULT_NAME, "--name", help="The lab's name; several labs (e.g. a test run's and yours) coexist.")

STATE_STYLE = {"MASTER": "bold green", "BACKUP": "cyan", "FAULT": "red", "DOWN": "red", "STOP": "yellow"}


def _state(ctx: typer.Context) -> CliState:
    state = ctx.ensure_object(CliState)
    return state


def _require_root() -> None:
    if os.geteuid() != 0:
        raise CliError("Lab.NeedsRoot", "the lab creates network namespaces and runs keepalived: run it as root")


def _name(name: str) -> str:
    try:
        return check_name(name)
    except ValueError as exc:
        raise CliError("InvalidParameter", str(exc)) from exc


def _call(name: str, body: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    try:
        return control.request(LabPaths.of(name), body, timeout=timeout)
    except control.LabError as exc:
        raise CliError("Lab.Error", str(exc)) from exc


@lab_app.command("up")
def up(
    ctx: typer.Context,
    name: str = NAME,
    advert_int: float = typer.Option(1.0, "--advert-int", help="keepalived's advert_int in seconds (the page: 1)."),
    vrrp_version: int = typer.Option(
        0, "--vrrp-version", help="2 or 3; default: 2 for whole seconds, 3 for a sub-second advert_int."
    ),
    binding_mode: str = typer.Option("explicit", "--binding-mode", help="explicit (members only) or subnet."),
    check_interval: float = typer.Option(1.0, "--check-interval", help="Seconds between checkhaproxy runs."),
    probe_ms: float = typer.Option(10.0, "--probe-interval-ms", help="How often the client probes the VIP."),
    scenario: str = typer.Option(
        "basic",
        "--scenario",
        help="basic: the pair and a client; eip: + an EIP on the HaVip, reached from an internet namespace "
        "(198.51.100.100); gateway: + the pair routes 192.168.50.0/24 for the VPC (a remote host behind it).",
    ),
    hosts: int = typer.Option(
        1,
        "--hosts",
        help=f"Hypervisors, 1 to {MAX_HOSTS}: host namespaces joined by an underlay bridge (VXLAN between them). "
        "With 2 or more, i1 is on host 1 and i2 on host 2; the client on host 3 (on host 1 with two hosts); "
        "every further host gets a bystander instance.",
    ),
) -> None:
    """Build the lab: VPC, subnet 172.17.16.0/24, members 172.17.16.7 and .13, HaVip 172.17.16.3, a client."""
    _require_root()
    out = _state(ctx).output
    if scenario not in SCENARIOS:
        raise CliError("InvalidParameter", f"--scenario must be one of {', '.join(SCENARIOS)}")
    if not 1 <= hosts <= MAX_HOSTS:
        raise CliError("InvalidParameter", f"--hosts must be 1 to {MAX_HOSTS}, not {hosts}")
    spec = LabSpec(
        name=_name(name),
        advert_int=advert_int,
        vrrp_version=vrrp_version,
        binding_mode=binding_mode,
        check_interval=check_interval,
        probe_interval_ms=probe_ms,
        scenario=scenario,
        hosts=hosts,
    )
    if binding_mode not in ("explicit", "subnet"):
        raise CliError("InvalidParameter", "--binding-mode must be explicit or subnet")
    try:
        control.up(spec, lambda line: out.note(f"  • {line}") if not out.json_output else None)
    except control.LabError as exc:
        raise CliError("Lab.BuildFailed", str(exc)) from exc
    status = _call(spec.name, {"op": "status"})["status"]
    if out.json_output:
        out.raw(status)
    else:
        out.console.print(
            Text(f"lab {spec.name} is up: HaVip {status['vip']} held by {status['holder']}", style="bold")
        )
        out.note(f"next: havip lab failover --name {spec.name} --mode kill | havip lab status | havip lab down")


@lab_app.command("status")
def status(ctx: typer.Context, name: str = NAME) -> None:
    """The holder, each instance's keepalived state, and the HaVip's recent events."""
    out = _state(ctx).output
    st = _call(_name(name), {"op": "status"})["status"]
    if out.json_output:
        out.raw(st)
        return
    c = out.console
    c.print(
        Text(
            f"lab {st['lab']}: HaVip {st['vip']} ({st['binding_mode']}), VRRPv{st['vrrp_version']} "
            f"advert_int {st['advert_int']:g} s",
            style="bold",
        )
    )
    c.print(Text.assemble("holder: ", (str(st["holder"] or "none"), "bold green" if st["holder"] else "red")))
    if st.get("scenario") == "eip":
        c.print(f"EIP {st['eip'] or '(removed)'} -> {st['vip']}, from the internet client {st['internet_client']}")
    elif st.get("scenario") == "gateway":
        entry = st["route_entry"]
        where = f"{entry['destination']} -> the HaVip" if entry else "(route entry removed)"
        c.print(f"route entry {where}; remote host {st['remote_host']} behind the pair")
    hosts = st.get("hosts") or []
    if len(hosts) > 1:
        h = Table("host", "underlay", "namespace", title="hosts", title_justify="left")
        for host in hosts:
            h.add_row(host["name"], host.get("underlay", ""), host["namespace"])
        c.print(h)
    t = Table("instance", "role", "address", "host", "namespace", "keepalived")
    for i in st["instances"]:
        ka = i["keepalived"] or "-"
        t.add_row(
            i["name"], i["role"], i["address"], i["host"], i["namespace"], Text(ka, style=STATE_STYLE.get(ka, ""))
        )
    c.print(t)
    e = Table("at", "event", "from", "to", "cause", "switch µs", title="recent events", title_justify="left")
    for ev in st["events"][:10]:
        e.add_row(
            ev["at"],
            ev["kind"],
            ev["from"] or "",
            ev["to"] or "",
            ev["cause"] or ev["reason"] or "",
            "" if ev["latency_us"] is None else str(ev["latency_us"]),
        )
    c.print(e)


def _fmt_ms(value: Any) -> str:
    return "-" if value is None else f"{value:9.1f} ms"


@lab_app.command("failover")
def failover(
    ctx: typer.Context,
    name: str = NAME,
    mode: str = typer.Option(
        "kill",
        "--mode",
        help="kill: keepalived crashes; service: the checked service "
        "stops; link: the interface goes down; freeze: keepalived is SIGSTOPped; with several hosts, host: "
        "the master's whole host is lost (then brought back), partition: its underlay is cut (then healed).",
    ),
    control_plane_down: bool = typer.Option(
        False,
        "--control-plane-down",
        help="Freeze the control plane (SIGSTOP) before the failure and thaw it once the client is answered by "
        "the new holder: the switch must happen without it (several hosts: the agents' claim messages).",
    ),
) -> None:
    """Break the current master, wait for the switch, print a timeline, repair the old master."""
    if mode not in MODES:
        raise CliError("InvalidParameter", f"--mode must be one of {', '.join(MODES)}")
    out = _state(ctx).output
    result = _call(_name(name), {"op": "failover", "mode": mode, "control_plane_down": control_plane_down})["failover"]
    if out.json_output:
        out.raw(result)
        return
    c = out.console
    c.print(Text(f"failover ({mode}): {result['old_holder']} -> {result['new_holder']}", style="bold"))
    t = Table("step", "time since failure", box=None)
    t.add_row("failure injected", _fmt_ms(0.0))
    t.add_row(f"{result['new_holder']}'s GARP seen by the agent", _fmt_ms(result["garp_seen_ms"]))
    t.add_row("VIP route switched", _fmt_ms(result["route_switched_ms"]))
    t.add_row(f"client answered by {result['new_holder']}", _fmt_ms(result["first_answer_ms"]))
    for path, p in (result.get("paths") or {}).items():
        what = "internet client answered via the EIP" if path == "eip" else "client answered through the gateway"
        t.add_row(f"{what} by {result['new_holder']}", _fmt_ms(p["first_answer_ms"]))
    held = result.get("connection")
    if held:
        t.add_row(f"connection open with {held['opened_with']} ended: {held['outcome']}", _fmt_ms(held["ended_ms"]))
    c.print(t)
    hosts = result.get("hosts_switched") or []
    if hosts:
        how = {
            "claim": "its member's GARP",
            "peer-claim": "the claimant's message",
            "control-plane": "the control plane",
        }
        h = Table("host", "switched", "by", "GARP -> route here", box=None)
        for row in hosts:
            lat = row.get("latency_us")
            h.add_row(
                str(row["host"]),
                _fmt_ms(row["ms"]) if row["ms"] is not None else "-",
                how.get(str(row["how"]), str(row["how"])),
                f"{lat / 1000:.2f} ms" if isinstance(lat, int) else "-",
            )
        c.print(h)
    if result["switch_latency_ms"] is not None:
        c.print(f"switch latency (GARP received -> route acknowledged): {result['switch_latency_ms'] * 1000:.0f} µs")
    if result.get("control_plane_down"):
        back = result.get("recorded_after_return_ms")
        c.print(
            "the control plane was down during the switch; it recorded the new holder "
            + (f"{back:.0f} ms after it came back" if back is not None else "(not seen)")
        )
    c.print(f"probes lost during the failover: {result['lost_probes']}")
    for path, p in (result.get("paths") or {}).items():
        c.print(f"probes lost on the {path} path: {p['lost_probes']}")
    stale = result["stale_answers_after_switch"] + sum(
        p["stale_answers_after_switch"] for p in (result.get("paths") or {}).values()
    )
    where = "after the switch on the host they entered" if hosts else "after the switch"
    c.print(Text(f"answers from a non-holder {where}: {stale}", style="green" if stale == 0 else "bold red"))
    if result.get("healed"):
        rejoined = result["rejoined_as_backup"]
        message = (
            f"underlay healed: the split brain ended, {result['holder_after_repair']} holds the VIP"
            if rejoined
            else f"underlay healed, but the split brain did not end cleanly (holder {result['holder_after_repair']})"
        )
    else:
        rejoined = result["rejoined_as_backup"] and result["holder_stayed"]
        message = (
            f"{result['old_holder']} repaired and rejoined as BACKUP; {result['holder_after_repair']} keeps the VIP"
            if rejoined
            else f"{result['old_holder']} did not rejoin cleanly (holder now {result['holder_after_repair']})"
        )
    c.print(Text(message, style="green" if rejoined else "bold red"))
    if stale or not rejoined:
        raise typer.Exit(ExitCode.FAILED)


@lab_app.command("down")
def down(ctx: typer.Context, name: str = NAME) -> None:
    """Remove everything the lab created (also what a crashed lab left)."""
    _require_root()
    out = _state(ctx).output
    try:
        control.down(_name(name), lambda line: out.note(f"  • {line}"))
    except control.LabError as exc:
        raise CliError("Lab.Error", str(exc)) from exc
    out.note(f"lab {name} removed")
