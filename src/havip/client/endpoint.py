"""Where the server is: parse the server addresses users write.

Accepted forms: ``http://127.0.0.1:8080`` (or https), a bare ``127.0.0.1:8080``
(taken as http), and a unix socket as ``unix:///run/havip.sock`` or
``unix:/run/havip.sock``. Called by the client; does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

SOCKET_BASE_URL = "http://havip"
"""The URL requests over a unix socket are addressed to (only the Host header sees it)."""


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # what httpx addresses requests to
    uds: str | None  # the socket path, for a unix socket
    display: str  # how to name the server to a person

    @property
    def is_socket(self) -> bool:
        return self.uds is not None


def parse_server(server: str) -> Endpoint:
    """Parse a server address; raises ``ValueError`` naming the accepted forms."""
    text = server.strip()
    if text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if path.startswith("//"):
            path = path.removeprefix("//")
        if not path:
            raise ValueError(f"server address {server!r} names no socket path; write unix:///path/to.sock")
        return Endpoint(SOCKET_BASE_URL, path, f"unix:{path}")
    if "://" not in text:
        text = f"http://{text}"
    scheme = text.split("://", 1)[0]
    if scheme not in ("http", "https") or text == f"{scheme}://":
        raise ValueError(
            f"server address {server!r} is not understood; "
            "write http://HOST:PORT, https://HOST:PORT or unix:///path/to.sock"
        )
    base = text.rstrip("/")
    return Endpoint(base, None, base)
