"""``havip agent``: run one host's agent against a control plane (docs/agent.md).

Reads its options once, builds the settings, the client (the host's agent key) and the
data plane of ``--netns``, and runs ``havip.agent.runtime.Agent`` until SIGTERM/SIGINT.
``--dump`` prints the desired and observed state and the plan a reconcile would apply,
then exits without changing anything. The agent modules are imported when the command
runs, so other commands do not pay for pyroute2.
"""

from __future__ import annotations

import json
import logging
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from havip.cli import config as config_file
from havip.logs import LogFormat

HELP = (
    "Run the host agent: follow the host's desired state, build the routed VPC data plane in --netns, and "
    "switch a HaVip to whichever allowed interface announces it by gratuitous ARP (docs/agent.md).\n\n"
    "Metrics (Prometheus) and the state dump (/debug/state) are served on --metrics (127.0.0.1 only unless "
    "you name another address). SIGUSR1 logs the state dump as one JSON line."
)


def parse_metrics(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not port.isdigit():
        raise typer.BadParameter(f"{text!r} is not [HOST:]PORT", param_hint="--metrics")
    return (host or "127.0.0.1") if sep else "127.0.0.1", int(port)


def agent(
    config: Path | None = config_file.option(),
    server: str = typer.Option(
        ..., "--server", envvar="HAVIP_SERVER", help="The control plane: http://HOST:PORT or unix:///path.sock."
    ),
    host: str = typer.Option(..., "--host", help="This host's name (or id) in the control plane."),
    netns: str | None = typer.Option(
        None, "--netns", help="Do all kernel work in this named network namespace (the host, in tests and the lab)."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="HAVIP_AGENT_TOKEN",
        help="The host's agent key (from `havip host create`).",
        show_default=False,
    ),
    allow_initial_netns: bool = typer.Option(
        False,
        "--allow-initial-netns",
        help="Without --netns, work even in the machine's initial network namespace: on a real hypervisor, whose "
        "root namespace is the host. Off by default so that nothing configures the machine by mistake.",
    ),
    ca_file: str | None = typer.Option(
        None,
        "--ca-file",
        envvar="HAVIP_CA_FILE",
        help="Verify an https:// control plane with this CA certificate (PEM); default: the system's CA store.",
    ),
    client_cert: str | None = typer.Option(
        None,
        "--client-cert",
        envvar="HAVIP_CLIENT_CERT",
        help="mTLS: this host's certificate (PEM, named after the host), shown with the agent key.",
    ),
    client_key: str | None = typer.Option(
        None, "--client-key", envvar="HAVIP_CLIENT_KEY", help="The private key of --client-cert (PEM)."
    ),
    metrics: str | None = typer.Option(
        None, "--metrics", help="[HOST:]PORT for /metrics and /debug/state (default host 127.0.0.1)."
    ),
    dump: bool = typer.Option(
        False, "--dump", help="Print desired state, observed state and the pending plan as JSON; change nothing."
    ),
    resync: float = typer.Option(60.0, "--resync", help="Seconds between full resyncs when nothing changes."),
    discovery: float = typer.Option(30.0, "--discovery-interval", help="Seconds between holder-discovery rounds."),
    uplink: str | None = typer.Option(
        None,
        "--uplink",
        help="The device toward the internet, for EIPs (addressed by you; the upstream routes the EIP pools to it).",
    ),
    uplink_gateway: str | None = typer.Option(
        None, "--uplink-gateway", help="The upstream router's address on --uplink: where EIP traffic leaves."
    ),
    eip_host: str | None = typer.Option(
        None,
        "--eip-host",
        help="Several hosts: the host (its name) whose agent runs with --uplink and translates the EIPs of this "
        "host's VPCs; the internet's traffic to an address held here comes from it through the tunnel, and the "
        "replies go back to it.",
    ),
    claim_key_file: Path | None = typer.Option(
        None,
        "--claim-key-file",
        envvar="HAVIP_CLAIM_KEY_FILE",
        help="Several hosts: the fleet's claim key (a file of at least 16 bytes, the same on every host, readable "
        "by root only). With it the agent tells the other hosts of a VPC of a claim directly over the underlay "
        "(UDP --peer-port), and takes theirs; without it claims reach other hosts through the control plane only.",
    ),
    peer_port: int = typer.Option(
        4791, "--peer-port", help="The UDP port of the claim messages between agents (the same on every host)."
    ),
    tunnel_mtu: int = typer.Option(
        1464,
        "--tunnel-mtu",
        help="Several hosts: the MTU of the tunnel device havip-tun, the underlay's MTU minus 36 (set the instances' "
        "MTU to it, or raise the underlay's; docs/agent.md, 'MTU').",
    ),
    tunnel_port: int = typer.Option(
        4790, "--tunnel-port", help="Several hosts: the UDP port of the VXLAN-GPE tunnel (the same on every host)."
    ),
    state_dir: Path = typer.Option(
        Path("/var/lib/havip"),
        "--state-dir",
        envvar="HAVIP_STATE_DIR",
        help="Where the agent keeps its claim journal (claims-<host>.journal): the claims it switched and the "
        "control plane has not yet acknowledged, so that after a crash the restarted agent reports them and "
        "keeps their routes instead of losing them (docs/agent.md, 'The claim journal').",
    ),
    log_level: config_file.LogLevel = typer.Option(config_file.LogLevel.info, "--log-level", help="How much to log."),
    log_format: LogFormat = config_file.log_format_option(),
) -> None:
    """Run the host agent (see HELP)."""
    from havip.agent import logs
    from havip.agent.control import HttpControlPlane
    from havip.agent.dataplane import Dataplane, DataplaneError, Netns, kernel_for
    from havip.agent.runtime import Agent
    from havip.agent.settings import (
        AgentSettings,
        DiscoverySettings,
        FollowSettings,
        TunnelSettings,
        UplinkSettings,
    )
    from havip.client import HavipClient

    logs.install(getattr(logging, log_level.upper(), logging.INFO), log_format)
    if bool(uplink) != bool(uplink_gateway):
        raise typer.BadParameter("give both --uplink and --uplink-gateway, or neither", param_hint="--uplink")
    try:
        tunnel = TunnelSettings(mtu=tunnel_mtu, port=tunnel_port, eip_host=eip_host or None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tunnel-mtu/--tunnel-port") from exc
    if tunnel.port == peer_port:
        raise typer.BadParameter(
            f"the tunnel and the claim messages cannot share UDP port {peer_port}", param_hint="--tunnel-port"
        )
    settings = AgentSettings(
        follow=replace(FollowSettings(), resync_interval=resync),
        discovery=replace(DiscoverySettings(), interval=discovery),
        uplink=UplinkSettings(uplink, uplink_gateway),
        tunnel=tunnel,
        state_dir=str(state_dir),
    )
    if eip_host and uplink:
        raise typer.BadParameter(
            "a host with --uplink translates its EIPs itself: drop --eip-host", param_hint="--eip-host"
        )
    peer_key = read_claim_key(claim_key_file) if claim_key_file is not None else None
    if not 1 <= peer_port <= 65535:
        raise typer.BadParameter(f"{peer_port} is not a UDP port", param_hint="--peer-port")
    if (client_cert is None) != (client_key is None):
        raise typer.BadParameter("give both --client-cert and --client-key, or neither", param_hint="--client-cert")
    try:
        client = HavipClient(
            server,
            token,
            timeout=settings.follow.request_timeout,
            ca_file=ca_file,
            client_cert=(client_cert, client_key) if client_cert and client_key else None,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--ca-file/--client-cert") from exc
    try:
        dp = Dataplane(Netns(netns) if netns else Netns.own(allow_initial=allow_initial_netns))
    except DataplaneError as exc:  # before any kernel change: say why and stop
        client.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if dump:
        typer.echo(json.dumps(one_shot_dump(client, host, dp, settings), indent=2, default=str))
        dp.close()
        return
    try:
        kernel = kernel_for(dp, settings.nft.nflog_group, peer_port if peer_key else None)
    except (DataplaneError, OSError) as exc:
        dp.close()
        client.close()
        typer.echo(f"error: cannot open the agent's kernel sockets in {dp.ns.name}: {exc}", err=True)
        raise typer.Exit(1) from exc
    runner = Agent(HttpControlPlane(client, host), host, kernel, settings, peer_key=peer_key)
    if metrics:
        from havip.agent.metrics import serve

        mhost, mport = parse_metrics(metrics)
        serve(runner.metrics, runner.dump, mhost, mport)
    signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
    signal.signal(signal.SIGINT, lambda *_: runner.request_stop())
    signal.signal(
        signal.SIGUSR1,
        lambda *_: logging.getLogger("havip.agent").info(json.dumps(runner.dump(), default=str)),
    )
    from havip.cli.sdnotify import notify, notify_when

    notify_when(lambda: runner.reconciled_revision is not None, runner.stopping)  # READY=1: first reconcile applied
    try:
        runner.run_forever()
    finally:
        notify("STOPPING=1")
        runner.stop()
        dp.close()
        client.close()
    if runner.loops.fatal is not None:  # a loop could not go on: exit non-zero so the service manager restarts us
        fatal = runner.loops.fatal
        typer.echo(f"error: the agent's {fatal.loop} loop cannot go on: {fatal.reason}", err=True)
        raise typer.Exit(1)


def read_claim_key(path: Path) -> bytes:
    from havip.agent.peers import check_key

    try:
        return check_key(path.read_bytes().strip())
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--claim-key-file") from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--claim-key-file") from exc


def one_shot_dump(client: Any, host: str, dp: Any, settings: Any) -> dict[str, Any]:
    """What a reconcile would do now: the agent's own pass (``pipeline.reconcile_pass``), not applied."""
    from havip.agent.desired import Uplink
    from havip.agent.dump import jsonable
    from havip.agent.pipeline import reconcile_pass
    from havip.contract.agents import DesiredState

    wire = DesiredState.model_validate(client.desired_state(host))
    state = wire.to_domain()
    observed = dp.read()
    up = settings.uplink
    uplink = Uplink(up.device, up.gateway) if up.configured else None
    step = reconcile_pass(state, observed, None, uplink, settings.nft, settings.tunnel)
    return {
        "desired_state": wire.model_dump(mode="json"),
        "desired_host": jsonable(step.desired),
        "refused_ports": dict(step.refused),
        "observed": jsonable(observed),
        "plan": [repr(act) for act in step.actions],
    }
