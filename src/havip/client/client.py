"""A small typed synchronous client of the native REST API (docs/api-routes.md).

Used by the CLI and the host agent. One method, :meth:`HavipClient.request`, does
all I/O; the helpers below it only name paths and bodies. Answers are plain JSON
(dicts and lists) exactly as the server sent them. Every failure is an
:class:`~havip.client.errors.ApiError`. The client must not import the api,
service or store layers: it knows the server only through the wire.

The seam for tests is httpx's own: pass ``transport=httpx.MockTransport(handler)``.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, cast
from urllib.parse import quote

import httpx

from havip import __version__
from havip.client.endpoint import parse_server
from havip.client.errors import NO_RESPONSE, ApiError
from havip.domain.limits import PAGE_DEFAULT, PAGE_MAX

Item = dict[str, Any]
Params = Mapping[str, str | int | float | bool | None]

Collection = Literal[
    "accounts",
    "access-keys",
    "hosts",
    "vpcs",
    "subnets",
    "instances",
    "network-interfaces",
    "havips",
    "eip-pools",
    "eips",
    "route-tables",
]

MemberType = Literal["instance", "network_interface"]

DEFAULT_TIMEOUT = 10.0

_CONNECT_HINT = "is it running? Start one with `havip serve`, or point --server / HAVIP_SERVER at it"

# (failure, code, message template): the first row whose class matches wins.
_TRANSPORT_ERRORS: tuple[tuple[type[httpx.TransportError], str, str], ...] = (
    (
        httpx.ConnectError,
        "ConnectionFailed",
        "cannot connect to the havip server at {server} ({exc}); " + _CONNECT_HINT,
    ),
    (
        httpx.ConnectTimeout,
        "ConnectionFailed",
        "connecting to the havip server at {server} timed out; " + _CONNECT_HINT,
    ),
    (httpx.TimeoutException, "Timeout", "the havip server at {server} did not answer in time ({exc})"),
    (httpx.TransportError, "TransportError", "talking to the havip server at {server} failed ({exc})"),
)


def tls_context(ca_file: str | None, client_cert: tuple[str, str] | None) -> ssl.SSLContext:
    """How the client checks an HTTPS server (and shows its own certificate); raises ``ValueError``
    naming the file that cannot be used."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot use the CA file {ca_file}: {exc}") from exc
    if client_cert is not None:
        try:
            context.load_cert_chain(*client_cert)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"cannot use the client certificate {client_cert[0]} with key {client_cert[1]}: {exc}"
            ) from exc
    return context


class HavipClient:
    """A connection to one havip server with one credential.

    ``base_url`` is ``http://HOST:PORT``, ``https://...`` or ``unix:///path/to.sock``;
    ``token`` is an API key (``<key id>.<secret>``) or ``None`` for unauthenticated
    calls such as :meth:`healthz`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        ca_file: str | None = None,
        client_cert: tuple[str, str] | None = None,
    ) -> None:
        """``ca_file`` verifies an HTTPS server (default: the system's CA store; verification is
        never off); ``client_cert`` is (certificate file, key file) to show the server (mTLS)."""
        endpoint = parse_server(base_url)
        if transport is None and endpoint.uds is not None:
            transport = httpx.HTTPTransport(uds=endpoint.uds)
        headers = {"Accept": "application/json", "User-Agent": f"havip-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.endpoint = endpoint
        self.server = endpoint.display
        self.timeout = timeout
        verify = tls_context(ca_file, client_cert) if transport is None else True
        self._http = httpx.Client(
            base_url=endpoint.base_url, headers=headers, timeout=timeout, transport=transport, verify=verify
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HavipClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the one I/O method ---------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Params | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer (``None`` for an empty one).

        Raises :class:`ApiError` for a non-2xx answer and for transport failures.
        ``json`` may hold datetimes; they are sent as ISO 8601.
        """
        headers = {"Content-Type": "application/json"} if json is not None else None
        content = jsonlib.dumps(json, default=_encode_json) if json is not None else None
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                headers=headers,
                params=_query(params),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.server) from exc
        if not response.is_success:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                response.status_code,
                "InvalidResponse",
                f"the server at {self.server} answered {method} {path} with something that is not JSON",
                response.headers.get("x-request-id"),
            ) from exc

    # -- generic resource helpers ---------------------------------------------

    def page(self, path: str, params: Params | None = None, *, limit: int = PAGE_DEFAULT, offset: int = 0) -> Item:
        """One page of a list: ``{"items", "total", "limit", "offset"}``."""
        answer = self.request("GET", path, params={**(params or {}), "limit": limit, "offset": offset})
        _items_of(answer, path)
        return cast(Item, answer)

    def iter_items(self, path: str, params: Params | None = None, *, limit: int | None = None) -> Iterator[Item]:
        """Every item of a list, page after page, following ``offset`` up to ``total``.

        Stops after ``limit`` items when given, and after the first page of an
        answer that carries no ``total`` (such lists are not paged).
        """
        offset, seen = 0, 0
        while limit is None or seen < limit:
            size = PAGE_MAX if limit is None else min(PAGE_MAX, limit - seen)
            answer = self.page(path, params, limit=size, offset=offset)
            batch = _items_of(answer, path)
            for item in batch[: None if limit is None else limit - seen]:
                seen += 1
                yield item
            offset += len(batch)
            total = answer.get("total")
            if not batch or not isinstance(total, int) or offset >= total:
                return

    def list_all(self, collection: Collection, params: Params | None = None, *, limit: int | None = None) -> list[Item]:
        """All items of a collection matching the query ``params`` (see :meth:`iter_items`)."""
        return list(self.iter_items(f"/v1/{collection}", params, limit=limit))

    def get(self, collection: Collection, ident: str) -> Item:
        return cast(Item, self.request("GET", _path(collection, ident)))

    def create(self, collection: Collection, body: Mapping[str, Any]) -> Item:
        """POST a new resource; ``None`` values are left out of the body."""
        return cast(Item, self.request("POST", f"/v1/{collection}", json=_compact(body)))

    def update(self, collection: Collection, ident: str, body: Mapping[str, Any]) -> Item:
        """PATCH the fields of ``body`` that are not ``None``."""
        return cast(Item, self.request("PATCH", _path(collection, ident), json=_compact(body)))

    def delete(self, collection: Collection, ident: str) -> None:
        self.request("DELETE", _path(collection, ident))

    # -- HaVips ---------------------------------------------------------------

    def associate(self, havip_id: str, member_type: MemberType, member_id: str) -> Item:
        """Bind an instance or a network interface to a HaVip; answers the HaVip view."""
        body = {"member_type": member_type, "member_id": member_id}
        return cast(Item, self.request("POST", _path("havips", havip_id, "members"), json=body))

    def unassociate(self, havip_id: str, member_id: str, *, force: bool = False) -> Item:
        """Unbind a member; ``force`` also unbinds the current holder."""
        params = {"force": True} if force else None
        return cast(Item, self.request("DELETE", _path("havips", havip_id, "members", member_id), params=params))

    def havip_events(self, havip_id: str, *, kind: str | None = None, limit: int | None = None) -> list[Item]:
        """A HaVip's history, newest first."""
        return list(self.iter_items(_path("havips", havip_id, "events"), {"kind": kind}, limit=limit))

    # -- EIPs -----------------------------------------------------------------

    def eip_associate(
        self, eip_id: str, *, havip_id: str | None = None, network_interface_id: str | None = None
    ) -> Item:
        body = _compact({"havip_id": havip_id, "network_interface_id": network_interface_id})
        return cast(Item, self.request("POST", _path("eips", eip_id, "associate"), json=body))

    def eip_unassociate(self, eip_id: str) -> Item:
        return cast(Item, self.request("POST", _path("eips", eip_id, "unassociate")))

    # -- routes ---------------------------------------------------------------

    def route_entries(self, table_id: str, *, limit: int | None = None) -> list[Item]:
        return list(self.iter_items(_path("route-tables", table_id, "entries"), limit=limit))

    def create_route_entry(self, table_id: str, body: Mapping[str, Any]) -> Item:
        return cast(Item, self.request("POST", _path("route-tables", table_id, "entries"), json=_compact(body)))

    def delete_route_entry(self, table_id: str, entry_id: str) -> None:
        self.request("DELETE", _path("route-tables", table_id, "entries", entry_id))

    # -- accounts, keys, quotas -------------------------------------------------

    def create_account_key(self, account_id: str, description: str = "") -> Item:
        """A new tenant key: ``{"id", "token"}`` (the token is shown only here)."""
        body = {"description": description}
        return cast(Item, self.request("POST", _path("accounts", account_id, "keys"), json=body))

    def revoke_key(self, key_id: str) -> None:
        self.request("DELETE", f"/v1/keys/{_segment(key_id)}")

    def quotas(self, account_id: str | None = None) -> list[Item]:
        answer = self.request("GET", "/v1/quotas", params={"account_id": account_id})
        return _items_of(answer, "/v1/quotas")

    def set_quota(self, account_id: str, name: str, value: int) -> Item:
        path = f"/v1/quotas/{_segment(account_id)}/{_segment(name)}"
        return cast(Item, self.request("PUT", path, json={"value": value}))

    # -- the agent's calls ------------------------------------------------------

    def desired_state(
        self,
        host: str,
        since_revision: int | None = None,
        wait: float | None = None,
        *,
        agent_version: str | None = None,
        applied_revision: int | None = None,
    ) -> Item | None:
        """The desired state of ``host`` (its id or name).

        With ``since_revision`` and ``wait`` this is a long poll: the server answers
        when the revision moves past ``since_revision`` or after ``wait`` seconds
        (at most ``havip.domain.limits.LONG_POLL_MAX_WAIT``). An answer of 304 (nothing changed) is returned as ``None``.
        The host's agent passes its ``agent_version`` and ``applied_revision``: its heartbeat.
        """
        params: dict[str, str | int | float | bool | None] = {
            "since_revision": since_revision,
            "wait": wait,
            "agent_version": agent_version,
            "applied_revision": applied_revision,
        }
        timeout = self.timeout + wait if wait else None
        try:
            answer = self.request("GET", _path("hosts", host, "desired-state"), params=params, timeout=timeout)
        except ApiError as exc:
            if exc.status == 304:
                return None
            raise
        return cast(Item | None, answer)

    def report(self, host: str, body: Mapping[str, Any]) -> Item:
        """Report what the agent of ``host`` saw (a claim, a probe answer, ...); answers ``{"outcome"}``."""
        return cast(Item, self.request("POST", _path("hosts", host, "reports"), json=_compact(body)))

    def report_batch(self, host: str, bodies: Sequence[Mapping[str, Any]]) -> list[Item]:
        """Several reports in one request, applied in order in one transaction; one answer
        each, in order: ``{"outcome"}``, or ``{"error": {"code", "message"}}`` for a report
        the control plane refused (the others still count)."""
        answer = self.request(
            "POST", _path("hosts", host, "reports", "batch"), json={"reports": [_compact(b) for b in bodies]}
        )
        return [cast(Item, r) for r in cast(Item, answer)["results"]]

    def healthz(self) -> Item:
        return cast(Item, self.request("GET", "/healthz"))


def error_from_response(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` for a non-2xx answer, from its ``{code, message, request_id}`` body."""
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        message = str(body.get("message") or response.reason_phrase)
        return ApiError(response.status_code, body["code"], message, body.get("request_id") or request_id)
    text = " ".join(response.text.split())[:200]
    message = f"the server answered {response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")
    return ApiError(response.status_code, "UnexpectedResponse", message, request_id)


TLS_HINTS = (
    ("certificate has expired", "the server's certificate has expired"),
    ("Hostname mismatch", "the server's certificate is for another name than the one you connect to"),
    ("IP address mismatch", "the server's certificate is for another name than the one you connect to"),
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not signed by a CA you trust (--ca-file)"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS: use http://, or start it with --tls-cert"),
    ("CERTIFICATE_REQUIRED", "the server wants a client certificate (--client-cert, --client-key)"),
    ("UNKNOWN_CA", "the server does not trust the CA of your client certificate"),
    ("BAD_CERTIFICATE", "the server refused your client certificate"),
)


def _tls_failure(exc: BaseException) -> str | None:
    """Why a TLS handshake failed, in plain words, when ``exc`` (or its cause) is one."""
    while exc is not None:
        if isinstance(exc, ssl.SSLError):
            text = str(exc)
            return next((hint for key, hint in TLS_HINTS if key in text), "the TLS handshake failed") + f" ({text})"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def _transport_error(exc: httpx.TransportError, server: str) -> ApiError:
    detail = str(exc) or type(exc).__name__
    why = _tls_failure(exc)
    if why is not None:
        return ApiError(NO_RESPONSE, "TlsFailed", f"no TLS connection to the havip server at {server}: {why}")
    if isinstance(exc, httpx.RemoteProtocolError) and server.startswith("http://"):
        return ApiError(
            NO_RESPONSE,
            "TransportError",
            f"the havip server at {server} broke the connection ({detail}); if it serves HTTPS, use https://",
        )
    for kind, code, template in _TRANSPORT_ERRORS:
        if isinstance(exc, kind):
            return ApiError(NO_RESPONSE, code, template.format(server=server, exc=detail))
    raise AssertionError("unreachable: the last row matches every transport error")  # pragma: no cover


def _items_of(answer: Any, path: str) -> list[Item]:
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise ApiError(200, "InvalidResponse", f"the answer to GET {path} is not a list of items")
    return cast(list[Item], items)


def _segment(ident: str) -> str:
    if not ident:
        raise ValueError("an empty id cannot name a resource")
    return quote(ident, safe="")


def _path(collection: Collection, ident: str, *rest: str) -> str:
    return "/".join([f"/v1/{collection}", *(_segment(part) for part in (ident, *rest))])


def _compact(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _query(params: Params | None) -> dict[str, str | int | float]:
    out: dict[str, str | int | float] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def _encode_json(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")
