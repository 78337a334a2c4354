"""The typed HTTP client of the havip API, used by the CLI and the host agent.

Public surface: :class:`HavipClient`, :class:`ApiError` and the server-address
parser. It speaks only HTTP; it never imports the api, service or store layers.
"""

from havip.client.client import Collection, HavipClient, Item, MemberType
from havip.client.endpoint import Endpoint, parse_server
from havip.client.errors import NO_RESPONSE, ApiError
from havip.domain.limits import PAGE_MAX

__all__ = [
    "NO_RESPONSE",
    "PAGE_MAX",
    "ApiError",
    "Collection",
    "Endpoint",
    "HavipClient",
    "Item",
    "MemberType",
    "parse_server",
]
