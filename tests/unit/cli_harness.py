"""Run the ``havip`` command in process against a :class:`FakeApi`.

The CLI's seam is the ``CliState`` it accepts as the context object: tests hand in
one whose client transport is the fake server. ``HAVIP_HOME`` points at a temporary
directory holding a credentials file like the one ``havip serve`` writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from havip.cli.main import app
from havip.cli.state import CliState

from .fake_api import FakeApi

SERVER = "http://127.0.0.1:8080"
OPERATOR = "key-op.operator-secret"
TENANT = "key-ten.tenant-secret"
ACCOUNT = "acc-default"

CREDENTIALS = {"server": SERVER, "operator_token": OPERATOR, "tenant_token": TENANT, "account_id": ACCOUNT}


def run(
    api: FakeApi,
    *args: str,
    home: Path,
    credentials: Mapping[str, str] | None = CREDENTIALS,
    env: Mapping[str, str | None] | None = None,
) -> Result:
    """``havip ARGS`` with ``HAVIP_HOME=home`` (and ``credentials`` written there)."""
    if credentials is not None:
        (home / "credentials.json").write_text(json.dumps(credentials))
    environ: dict[str, str | None] = {"HAVIP_HOME": str(home), "HAVIP_SERVER": None, "HAVIP_TOKEN": None}
    environ.update(env or {})
    return CliRunner().invoke(app, list(args), obj=CliState(transport=api.transport()), env=environ, prog_name="havip")


def token_of(api: FakeApi) -> str:
    """The token of the last request."""
    return api.last.headers["authorization"].removeprefix("Bearer ")
