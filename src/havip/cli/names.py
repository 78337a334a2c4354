"""Names in place of ids: ``havip havip show web`` finds the HaVip named ``web``.

Every command that takes a resource (as its argument or as an option such as
``--subnet`` or ``--instance``) passes the value through :func:`resolve`. A value of
the form of that resource's ids (its prefix, a dash, lowercase letters and digits:
``havip-0f3k...``, ``vsw-...``, ``i-...``) is sent as it is; anything else is a name,
looked up by listing the collection with the command's own key and keeping the exact
matches. No match is ``NotFound.Name``, more than one ``AmbiguousName`` (listing the
ids). Called by the command modules; it never changes anything on the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from havip.cli.state import CliError
from havip.client import Collection, HavipClient

ID_PREFIX: Mapping[Collection, str] = {
    "accounts": "acc",
    "hosts": "host",
    "vpcs": "vpc",
    "subnets": "vsw",
    "instances": "i",
    "network-interfaces": "eni",
    "havips": "havip",
    "eip-pools": "eippool",
    "eips": "eip",
    "route-tables": "vtb",
}
"""The id prefix of each collection whose resources have names (havip.domain.ids)."""

WHAT: Mapping[Collection, str] = {
    "accounts": "account",
    "hosts": "host",
    "vpcs": "VPC",
    "subnets": "subnet",
    "instances": "instance",
    "network-interfaces": "network interface",
    "havips": "HaVip",
    "eip-pools": "EIP pool",
    "eips": "EIP",
    "route-tables": "route table",
}


def looks_like_id(collection: Collection, value: str) -> bool:
    prefix = ID_PREFIX.get(collection)
    return prefix is None or re.fullmatch(rf"{re.escape(prefix)}-[a-z0-9]+", value) is not None


def resolve(client: HavipClient, collection: Collection, value: str) -> str:
    """The id of the resource ``value`` names: ``value`` itself when it looks like an id."""
    if looks_like_id(collection, value):
        return value
    what = WHAT[collection]
    matches = [item for item in client.list_all(collection) if item.get("name") == value]
    if not matches:
        raise CliError(
            "NotFound.Name",
            f"no {what} is named {value!r} (nor is it a {what} id, which looks like {ID_PREFIX[collection]}-...)",
        )
    if len(matches) > 1:
        ids = ", ".join(sorted(str(item.get("id")) for item in matches))
        raise CliError(
            "AmbiguousName", f"{len(matches)} {what}s are named {value!r}: {ids}; give one of these ids instead"
        )
    return str(matches[0]["id"])


def resolve_optional(client: HavipClient, collection: Collection, value: str | None) -> str | None:
    """:func:`resolve` for an option that may be absent."""
    return None if value is None else resolve(client, collection, value)
