"""What one CLI invocation talks to and how it prints: the global options.

The root callback fills a :class:`CliState` from ``--server``, ``--token`` and
``--json`` (and their environment variables) once; commands ask it for a client
with the role they need. Credentials not given on the command line come from the
file ``havip serve`` wrote (:mod:`havip.cli.credentials`): the tenant key for a
tenant's resources, the operator key for operator-only commands and for acting on
another account. Tests hand in a ``CliState`` with an ``httpx.MockTransport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from havip.cli.credentials import DEFAULT_HOME, Credentials, CredentialsError, credentials_path, load
from havip.cli.exits import ExitCode, exit_code
from havip.cli.render import Output
from havip.client import HavipClient

Role = Literal["tenant", "operator"]

DEFAULT_SERVER = "http://127.0.0.1:8080"


class CliError(Exception):
    """A failure of the CLI itself (not of the server), reported like an API error.

    Its exit status follows from ``code`` (:func:`havip.cli.exits.exit_code`) unless
    ``exit`` names one.
    """

    def __init__(self, code: str, message: str, *, exit: ExitCode | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit = exit if exit is not None else exit_code(code)


@dataclass(frozen=True)
class Target:
    """A server and the credential to use there."""

    server: str
    token: str


def choose_target(
    role: Role,
    *,
    server: str | None,
    token: str | None,
    creds: Credentials,
    credentials_file: Path,
    account: str | None = None,
) -> Target:
    """Pick the server and token for a command that needs ``role``.

    An explicit token always wins. Otherwise the credentials file answers: its
    operator key for operator commands and for naming an ``account`` other than its
    own, its tenant key for the rest.
    """
    server = server or creds.server or DEFAULT_SERVER
    if token:
        return Target(server, token)
    as_operator = role == "operator" or (account is not None and account != creds.account_id)
    chosen = creds.operator_token if as_operator else creds.tenant_token
    if chosen is None:
        which = "operator" if as_operator else "tenant"
        raise CliError(
            "NoCredentials",
            f"no {which} key to use: pass --token (or set HAVIP_TOKEN), "
            f"or start `havip serve` once so that it writes {credentials_file}",
        )
    return Target(server, chosen)


@dataclass
class CliState:
    home: Path = field(default_factory=DEFAULT_HOME.expanduser)
    server: str | None = None
    token: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None  # verifies an https:// server (None: the system's CA store)
    transport: httpx.BaseTransport | None = None  # the test seam; None = real HTTP
    output: Output = field(default_factory=Output)
    _credentials: Credentials | None = None
    _clients: dict[Target, HavipClient] = field(default_factory=dict)

    @property
    def credentials_file(self) -> Path:
        return credentials_path(self.home)

    def credentials(self) -> Credentials:
        if self._credentials is None:
            try:
                self._credentials = load(self.credentials_file)
            except CredentialsError as exc:
                raise CliError("BadCredentialsFile", str(exc)) from exc
        return self._credentials

    def client(self, role: Role = "tenant", *, account: str | None = None) -> HavipClient:
        """A client for a command that needs ``role`` (acting for ``account`` if named)."""
        target = choose_target(
            role,
            server=self.server,
            token=self.token,
            creds=Credentials() if self.token and self.server else self.credentials(),
            credentials_file=self.credentials_file,
            account=account,
        )
        if target not in self._clients:
            try:
                self._clients[target] = HavipClient(
                    target.server, target.token, timeout=self.timeout, transport=self.transport, ca_file=self.ca_file
                )
            except ValueError as exc:
                raise CliError("InvalidServer", str(exc)) from exc
        return self._clients[target]

    def default_account(self) -> str | None:
        """The account of the credentials file, for commands that must name one."""
        return None if self.token else self.credentials().account_id

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
