"""Resource identifiers: a type prefix and 17 lowercase alphanumerics (e.g. havip-0f3k...)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
PREFIXES = {
    "account": "acc",
    "key": "key",
    "access_key": "ak",
    "quota": "quota",
    "host": "host",
    "vpc": "vpc",
    "subnet": "vsw",
    "instance": "i",
    "network_interface": "eni",
    "havip": "havip",
    "member": "hvm",
    "event": "hve",
    "eip_pool": "eippool",
    "eip": "eip",
    "route_table": "vtb",
    "route_entry": "rte",
    "idempotency": "idem",
    "allocation": "ipa",
}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}-" + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def new_mac() -> str:
    """A locally unique MAC in the 00:16:3e (Xen/ECS-style) range."""
    tail = secrets.token_bytes(3)
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in tail)
