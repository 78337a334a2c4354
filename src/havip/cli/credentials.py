"""The local credentials file that ``havip serve`` writes and the CLI reads.

``$HAVIP_HOME/credentials.json`` (``HAVIP_HOME`` defaults to ``~/.local/share/havip``)
holds ``{"server", "operator_token", "tenant_token", "account_id"}``. ``havip serve``
writes the tokens the first start of a store issues, so a fresh install works with
no set-up; every other command reads it when no ``--server``/``--token`` is given.
The file is private (mode 0600). This module only reads and writes the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "credentials.json"
DEFAULT_HOME = Path("~/.local/share/havip")


def havip_home(environ: Mapping[str, str]) -> Path:
    """The state directory: ``$HAVIP_HOME``, else ``~/.local/share/havip``."""
    configured = environ.get("HAVIP_HOME")
    return Path(configured).expanduser() if configured else DEFAULT_HOME.expanduser()


def credentials_path(home: Path) -> Path:
    return home / FILE_NAME


@dataclass(frozen=True)
class Credentials:
    server: str | None = None
    operator_token: str | None = None
    tenant_token: str | None = None
    account_id: str | None = None


class CredentialsError(Exception):
    """The credentials file exists but cannot be read or understood."""


def load(path: Path) -> Credentials:
    """Read the file; a missing file is empty credentials."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Credentials()
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"cannot read the credentials file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CredentialsError(f"the credentials file {path} does not hold a JSON object")
    return Credentials(**{key: _text(data.get(key)) for key in Credentials.__dataclass_fields__})


def update(path: Path, entries: Mapping[str, str]) -> None:
    """Merge ``entries`` into the file (other entries are kept), private to the user.

    The file is written to a temporary sibling created with mode 0600 and renamed
    over the old one, so it is never readable by others, not even for a moment.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        current = {}
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"cannot read the credentials file {path} to update it: {exc}") from exc
    if not isinstance(current, dict):
        raise CredentialsError(f"the credentials file {path} does not hold a JSON object; move it away")
    current.update(entries)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # in case a stale temporary file had looser bits
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(current, out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(tmp, path)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
