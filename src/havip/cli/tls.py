"""TLS for ``havip serve``: uvicorn's options, and the client certificate's names in each request.

With ``--tls-cert``/``--tls-key`` the server speaks HTTPS only (a plain HTTP request to it fails
the handshake, never falls back). With ``--tls-client-ca`` it asks every client for a certificate
signed by that CA (optional: tenants and operators may come with their key alone) and refuses
the handshake of a certificate from any other CA; the names of a verified certificate (its
subject's CN and DNS subjectAltNames) reach the app as ``scope["extensions"]["tls"]
["client_cert_names"]``, where the agent routes demand the host's own name (service.agents).
uvicorn puts no certificate in the ASGI scope, so its h11 protocol, extended
(``client_cert_protocol``), reads it from the connection once and adds it to every request of that connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def cert_names(peercert: Any) -> list[str] | None:
    """CN and DNS subjectAltNames of ``ssl``'s dict of a verified peer certificate (None: none)."""
    if not peercert:
        return None
    names: list[str] = []
    for rdn in peercert.get("subject", ()):
        names += [value for key, value in rdn if key == "commonName"]
    names += [value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"]
    return sorted(set(names))


def client_cert_protocol() -> type:
    """uvicorn's h11 protocol that tells the app which client certificate the connection showed
    (built on demand: only ``havip serve`` with mTLS pays for importing uvicorn here)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class ClientCertProtocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # an asyncio.Transport
            super().connection_made(transport)
            names = cert_names(transport.get_extra_info("peercert"))
            if names is None:
                return
            app = self.app

            async def with_cert(scope: Any, receive: Any, send: Any) -> None:
                extensions = scope.setdefault("extensions", {})
                extensions["tls"] = {**extensions.get("tls", {}), "client_cert_names": names}
                await app(scope, receive, send)

            self.app = with_cert

    return ClientCertProtocol


@dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path
    client_ca: Path | None = None

    def context(self) -> ssl.SSLContext:
        """The files as the server will load them; a ``ValueError`` saying which one is unusable."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"--tls-cert {self.cert} with --tls-key {self.key} cannot be used: {exc}") from exc
        if self.client_ca is not None:
            try:
                context.load_verify_locations(self.client_ca)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"--tls-client-ca {self.client_ca} cannot be used: {exc}") from exc
        return context

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}
        if self.client_ca is not None:
            options |= {
                "ssl_ca_certs": str(self.client_ca),
                "ssl_cert_reqs": ssl.CERT_OPTIONAL,
                "http": client_cert_protocol(),
            }
        return options


def check_files(pairs: Iterable[tuple[str, Path | None]]) -> None:
    """Every named file exists and is readable; a ``ValueError`` naming the option otherwise."""
    for option, path in pairs:
        if path is not None and not path.is_file():
            raise ValueError(f"{option} {path}: no such file")
        if path is not None:
            try:
                path.open("rb").close()
            except OSError as exc:
                raise ValueError(f"{option} {path}: cannot read it ({exc.strerror})") from exc
