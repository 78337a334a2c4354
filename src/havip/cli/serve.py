"""``havip serve``: run the control plane (the REST API over a store) under uvicorn.

Zero configuration: by default a SQLite file in ``$HAVIP_HOME`` and 127.0.0.1:8080.
On the first start of a store, ``bootstrap`` issues an operator key and a default
account with a tenant key; their tokens go to ``$HAVIP_HOME/credentials.json``
(mode 0600), never to the log. Every logger's records (uvicorn's, SQLAlchemy's, alembic's
too) go to stderr through ``havip.logs``: one JSON object a line by default, each line of a
request with its request id; uvicorn's own access log is off (the API's middleware logs each
request once). The store and the API are imported when the command runs, so other commands
do not pay for SQLAlchemy and FastAPI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import typer

from havip import logs
from havip.cli import config as config_file
from havip.cli.credentials import credentials_path, havip_home, update
from havip.cli.state import CliError
from havip.cli.tls import ServerTls, check_files
from havip.domain.errors import HavipError
from havip.domain.history import Retention
from havip.service.context import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("havip.serve")

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_REGION = "local"
HELP = (
    "Run the control plane: the REST API (docs/api-routes.md) over a SQLite or PostgreSQL store.\n\n"
    "On the first start of a store it creates an operator key and a default account with a tenant key, and "
    "writes them to $HAVIP_HOME/credentials.json (mode 0600) for the other havip commands; the keys are never "
    "logged. The schema is migrated on every start."
)


@dataclass(frozen=True)
class Listen:
    """Where the server listens: a TCP host and port, or a unix socket path."""

    host: str = ""
    port: int = 0
    uds: str | None = None

    @property
    def client_url(self) -> str:
        """The address clients on this machine should use (written to the credentials file)."""
        if self.uds is not None:
            return f"unix://{Path(self.uds).resolve()}"
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``unix:/path.sock``; raises ``ValueError``."""
    if text.startswith("unix:"):
        path = text.removeprefix("unix:").removeprefix("//")
        if not path:
            raise ValueError("unix: names no socket path; write unix:/path/to.sock")
        return Listen(uds=path)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080) or unix:/path.sock")
    return Listen(host=host.removeprefix("[").removesuffix("]"), port=int(port))


def redact_url(url: str) -> str:
    """The database URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def new_credentials(
    server: str, account_id: str, operator_token: str | None, tenant_token: str | None
) -> dict[str, str]:
    """The entries to write after bootstrap: none unless it issued new tokens."""
    tokens = {"operator_token": operator_token, "tenant_token": tenant_token}
    issued = {name: token for name, token in tokens.items() if token}
    return {"server": server, "account_id": account_id, **issued} if issued else {}


def serve(
    config: Path | None = config_file.option(),
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="HAVIP_DB",
        help="The store's SQLAlchemy URL: sqlite:///PATH or postgresql://... "
        "(default: sqlite:///$HAVIP_HOME/havip.db).",
        show_default=False,
    ),
    listen: str = typer.Option(DEFAULT_LISTEN, "--listen", help="HOST:PORT, or unix:/path/to.sock for a unix socket."),
    region: list[str] | None = typer.Option(
        None,
        "--region",
        help=f"A region this control plane serves (repeatable; the first is the default). Default: {DEFAULT_REGION}.",
        show_default=False,
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="Serve HTTPS with this certificate (PEM, with --tls-key); never plain HTTP then."
    ),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="The private key of --tls-cert (PEM)."),
    tls_client_ca: Path | None = typer.Option(
        None,
        "--tls-client-ca",
        help="mTLS: ask clients for a certificate signed by this CA; an agent key is then accepted only with "
        "a certificate named after its host (docs/tls.md).",
    ),
    max_body_bytes: int = typer.Option(
        1 << 20, "--max-body-bytes", min=1024, help="Refuse a request body larger than this (413 RequestTooLarge)."
    ),
    agent_lease: float = typer.Option(
        90.0,
        "--agent-lease",
        min=1.0,
        help="Seconds of silence after which a host's agent shows as down (longer than its 30 s long poll).",
    ),
    event_retention_days: float = typer.Option(
        30.0,
        "--event-retention-days",
        min=0.001,
        help="Keep a HaVip's events this many days after they were last seen (docs/events.md).",
    ),
    event_max_per_havip: int = typer.Option(
        1000,
        "--event-max-per-havip",
        min=1,
        help="Keep at most this many events per HaVip, dropping merged refusals first; holder changes and split "
        "brains younger than --event-retention-days are never dropped for the count (docs/events.md).",
    ),
    log_level: config_file.LogLevel = typer.Option(config_file.LogLevel.info, "--log-level", help="How much to log."),
    log_format: logs.LogFormat = config_file.log_format_option(),
) -> None:
    """Run the control plane (see HELP)."""
    try:
        where = parse_listen(listen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--listen") from exc
    tls = server_tls(where, tls_cert, tls_key, tls_client_ca)
    logs.install(getattr(logging, log_level.upper()), log_format, logger="")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin is noise
    home = havip_home(os.environ)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # before the store creates it world-readable
    url = db or f"sqlite:///{home / 'havip.db'}"
    regions = tuple(region or (DEFAULT_REGION,))
    settings = Settings(
        regions=regions,
        default_region=regions[0],
        agent_lease=agent_lease,
        agent_cert_required=tls is not None and tls.client_ca is not None,
        event_retention=Retention(max_age=dt.timedelta(days=event_retention_days), max_count=event_max_per_havip),
    )
    run(url=url, where=where, settings=settings, home=home, log_level=log_level, max_body_bytes=max_body_bytes, tls=tls)


def server_tls(where: Listen, cert: Path | None, key: Path | None, client_ca: Path | None) -> ServerTls | None:
    """The TLS options, checked before anything starts (usage errors name the option)."""
    if (cert is None) != (key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")
    if cert is None or key is None:
        if client_ca is not None:
            raise typer.BadParameter("mTLS needs TLS: add --tls-cert and --tls-key", param_hint="--tls-client-ca")
        return None
    if where.uds is not None:
        raise typer.BadParameter("TLS is for TCP; a unix socket is guarded by its file mode", param_hint="--tls-cert")
    try:
        check_files((("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)))
        ServerTls(cert, key, client_ca).context()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tls-cert") from exc
    return ServerTls(cert, key, client_ca)


def run(
    *,
    url: str,
    where: Listen,
    settings: Settings,
    home: Path,
    log_level: str,
    max_body_bytes: int,
    tls: ServerTls | None,
) -> None:
    """Migrate and bootstrap the store, record new credentials, then serve until stopped."""
    from havip.api.app import create_app
    from havip.service.accounts import bootstrap
    from havip.service.ports import UnitOfWorkFactory
    from havip.store import Store

    logs.event(log, "store-opening", db=redact_url(url))
    try:
        store = Store(url)
    except ValueError as exc:
        raise CliError("InvalidParameter.Database", str(exc)) from exc
    uow_factory: UnitOfWorkFactory = store.uow
    try:
        try:
            store.migrate()
            boot = bootstrap(uow_factory)
        except HavipError as exc:  # the database is unreachable or refuses us
            raise CliError(exc.code, f"{redact_url(url)}: {exc}") from exc
        server_url = where.client_url.replace("http://", "https://", 1) if tls else where.client_url
        record_credentials(credentials_path(home), server_url, boot.account.id, boot.operator_token, boot.tenant_token)
        app = create_app(uow_factory, settings, changes=store.changes, schema=store, max_body_bytes=max_body_bytes)
        logs.event(
            log, "listening", address=server_url, regions=list(settings.regions), default_region=settings.default_region
        )
        listen_until_stopped(app, where, log_level, tls)
    finally:
        store.dispose()
        logs.event(log, "stopped")


def listen_until_stopped(app: FastAPI, where: Listen, log_level: str, tls: ServerTls | None = None) -> None:
    """Serve ``app`` with uvicorn until SIGTERM or SIGINT (telling systemd when it is ready, cli/sdnotify.py)."""
    from havip.cli.sdnotify import run_uvicorn

    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal:
    # turn that into an orderly exit so the caller disposes of the store and logs the stop.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with contextlib.suppress(KeyboardInterrupt):
        run_uvicorn(
            app,
            host=where.host or "127.0.0.1",
            port=where.port or 8080,
            uds=where.uds,
            log_level=log_level.lower(),
            log_config=None,  # keep our format; uvicorn's loggers propagate to the root (havip.logs.install)
            access_log=False,  # the API's middleware logs every request once, with its id
            **(tls.uvicorn_options() if tls else {}),
        )


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def record_credentials(
    path: Path, server: str, account_id: str, operator_token: str | None, tenant_token: str | None
) -> None:
    entries = new_credentials(server, account_id, operator_token, tenant_token)
    if entries:
        update(path, entries)
        written = ",".join(sorted(k for k in entries if k.endswith("_token")))
        logs.event(log, "credentials-written", path=str(path), entries=written, reason="the store issued new keys")
    elif path.exists():
        logs.event(log, "credentials-kept", path=str(path), reason="the store already had its keys")
    else:
        logs.event(
            log,
            "credentials-missing",
            level=logging.WARNING,
            path=str(path),
            reason="the store already had its keys and their secrets cannot be recovered; use a key you kept "
            "(--token) or start with a new --db",
        )
