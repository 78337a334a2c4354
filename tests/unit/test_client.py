"""The HTTP client against a fake server: requests it sends, answers and errors it returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from havip.client import NO_RESPONSE, ApiError, HavipClient, parse_server

from .fake_api import FakeApi, error, page, raising

pytestmark = pytest.mark.unit

TOKEN = "key-1.s3cret"


def client_for(api: FakeApi, base_url: str = "http://127.0.0.1:8080", token: str | None = TOKEN) -> HavipClient:
    return HavipClient(base_url, token, transport=api.transport())


# -- server addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "base_url", "uds", "display"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("https://havip.example:443", "https://havip.example:443", None, "https://havip.example:443"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("unix:///run/havip.sock", "http://havip", "/run/havip.sock", "unix:/run/havip.sock"),
        ("unix:/run/havip.sock", "http://havip", "/run/havip.sock", "unix:/run/havip.sock"),
    ],
    ids=["http", "trailing-slash", "https", "bare-host-port", "unix-url", "unix-short"],
)
def test_parse_server(server: str, base_url: str, uds: str | None, display: str) -> None:
    endpoint = parse_server(server)
    assert (endpoint.base_url, endpoint.uds, endpoint.display) == (base_url, uds, display)


@pytest.mark.parametrize("server", ["ftp://host", "unix:", "unix://", "http://"], ids=["ftp", "unix", "unix2", "empty"])
def test_parse_server_refuses(server: str) -> None:
    with pytest.raises(ValueError, match="server address"):
        parse_server(server)


def test_a_unix_socket_client_keeps_the_socket_path() -> None:
    with HavipClient("unix:///run/havip.sock", TOKEN) as client:
        assert client.endpoint.uds == "/run/havip.sock"
        assert client.server == "unix:/run/havip.sock"


# -- the request itself ---------------------------------------------------------------


def test_request_sends_the_token_and_json_and_returns_json() -> None:
    api = FakeApi({("POST", "/v1/vpcs"): {"id": "vpc-1"}})
    answer = client_for(api).request("POST", "/v1/vpcs", json={"cidr": "10.0.0.0/16"}, params={"x": None, "y": 2})
    assert answer == {"id": "vpc-1"}
    seen = api.last
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == {"cidr": "10.0.0.0/16"}
    assert seen.params == {"y": "2"}


def test_request_without_a_token_sends_no_authorization() -> None:
    api = FakeApi({("GET", "/healthz"): {"status": "ok"}})
    assert client_for(api, token=None).healthz() == {"status": "ok"}
    assert "authorization" not in api.last.headers


def test_an_empty_answer_is_none() -> None:
    api = FakeApi({("DELETE", "/v1/vpcs/vpc-1"): None})
    assert client_for(api).request("DELETE", "/v1/vpcs/vpc-1") is None


def test_datetimes_are_sent_as_iso_8601() -> None:
    api = FakeApi({("POST", "/v1/hosts/h1/reports"): {"outcome": "holder-changed"}})
    at = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
    body = {"havip_id": "havip-1", "interface_id": "eni-1", "kind": "claim", "at": at, "cause": None}
    assert client_for(api).report("h1", body) == {"outcome": "holder-changed"}
    assert api.last.body == {
        "havip_id": "havip-1",
        "interface_id": "eni-1",
        "kind": "claim",
        "at": "2024-05-01T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("ident", "path"),
    [("vpc-1", "/v1/vpcs/vpc-1"), ("a/b", "/v1/vpcs/a%2Fb"), ("a b", "/v1/vpcs/a%20b")],
    ids=["plain", "slash", "space"],
)
def test_ids_are_quoted_into_one_path_segment(ident: str, path: str) -> None:
    api = FakeApi()
    with pytest.raises(ApiError):
        client_for(api).get("vpcs", ident)
    assert api.seen[0].raw_path == path


def test_an_empty_id_is_refused_before_sending() -> None:
    api = FakeApi()
    with pytest.raises(ValueError, match="empty id"):
        client_for(api).get("vpcs", "")
    assert api.seen == []


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status", "code", "message", "request_id"),
    [
        (
            error(403, "QuotaExceeded.havips_per_account", "creating this HaVip would exceed 5", "3f2a"),
            403,
            "QuotaExceeded.havips_per_account",
            "creating this HaVip would exceed 5",
            "3f2a",
        ),
        (
            httpx.Response(
                404,
                json={"code": "NotFound.Vpc", "message": "VPC 'x' does not exist"},
                headers={"X-Request-Id": "from-header"},
            ),
            404,
            "NotFound.Vpc",
            "VPC 'x' does not exist",
            "from-header",
        ),
        (
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            502,
            "UnexpectedResponse",
            "the server answered 502 Bad Gateway: <html>Bad Gateway</html>",
            None,
        ),
        (
            httpx.Response(422, json={"detail": "x"}, headers={"X-Request-Id": "r9"}),
            422,
            "UnexpectedResponse",
            'the server answered 422 Unprocessable Entity: {"detail":"x"}',
            "r9",
        ),
    ],
    ids=["api-error", "request-id-from-header", "not-json", "json-without-code"],
)
def test_error_answers_become_api_errors(
    response: httpx.Response, status: int, code: str, message: str, request_id: str | None
) -> None:
    api = FakeApi({("GET", "/v1/vpcs/vpc-1"): response})
    with pytest.raises(ApiError) as caught:
        client_for(api).get("vpcs", "vpc-1")
    assert (caught.value.status, caught.value.code, caught.value.message, caught.value.request_id) == (
        status,
        code,
        message,
        request_id,
    )


def test_api_error_reads_as_one_line() -> None:
    exc = ApiError(409, "DependencyViolation", "the VPC still has subnets", "3f2a")
    assert str(exc) == "DependencyViolation: the VPC still has subnets (request 3f2a)"
    assert str(ApiError(0, "ConnectionFailed", "down")) == "ConnectionFailed: down"


@pytest.mark.parametrize(
    ("failure", "code", "words"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "ConnectionFailed",
            ["http://127.0.0.1:8080", "havip serve"],
        ),
        (httpx.ConnectTimeout("timed out"), "ConnectionFailed", ["http://127.0.0.1:8080", "havip serve"]),
        (httpx.ReadTimeout("timed out"), "Timeout", ["http://127.0.0.1:8080", "did not answer"]),
        (httpx.RemoteProtocolError("closed"), "TransportError", ["http://127.0.0.1:8080", "closed"]),
    ],
    ids=["refused", "connect-timeout", "read-timeout", "protocol"],
)
def test_transport_failures_become_api_errors(failure: Exception, code: str, words: list[str]) -> None:
    api = FakeApi({("GET", "/v1/vpcs"): raising(failure)})
    with pytest.raises(ApiError) as caught:
        client_for(api).list_all("vpcs")
    assert caught.value.status == NO_RESPONSE
    assert caught.value.code == code
    for word in words:
        assert word in caught.value.message
    assert isinstance(caught.value.__cause__, httpx.TransportError)


def test_a_socket_that_is_not_there_names_the_socket() -> None:
    api = FakeApi({("GET", "/healthz"): raising(httpx.ConnectError("[Errno 2] No such file or directory"))})
    with pytest.raises(ApiError) as caught:
        client_for(api, "unix:///tmp/nowhere.sock").healthz()
    assert caught.value.code == "ConnectionFailed"
    assert "unix:/tmp/nowhere.sock" in caught.value.message


def test_an_answer_that_is_not_json_is_an_api_error() -> None:
    api = FakeApi({("GET", "/v1/vpcs/vpc-1"): httpx.Response(200, text="hello")})
    with pytest.raises(ApiError) as caught:
        client_for(api).get("vpcs", "vpc-1")
    assert caught.value.code == "InvalidResponse"


# -- lists and paging ---------------------------------------------------------------


def paged(items: list[dict[str, Any]]) -> Callable[[httpx.Request], dict[str, Any]]:
    """A list route that pages like the API: limit/offset in, items/total out."""

    def handler(request: httpx.Request) -> dict[str, Any]:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        return page(items[offset : offset + limit], total=len(items), limit=limit, offset=offset)

    return handler


@pytest.mark.parametrize(
    ("count", "limit", "offsets", "got"),
    [
        (0, None, ["0"], 0),
        (3, None, ["0"], 3),
        (1000, None, ["0"], 1000),
        (2500, None, ["0", "1000", "2000"], 2500),
        (2500, 5, ["0"], 5),
        (2500, 1500, ["0", "1000"], 1500),
    ],
    ids=["empty", "one-page", "exactly-one-page", "three-pages", "small-limit", "limit-across-pages"],
)
def test_list_all_follows_offset_up_to_total(count: int, limit: int | None, offsets: list[str], got: int) -> None:
    items = [{"id": f"vpc-{i}"} for i in range(count)]
    api = FakeApi({("GET", "/v1/vpcs"): paged(items)})
    result = client_for(api).list_all("vpcs", {"region": "local", "account_id": None}, limit=limit)
    assert result == items[:got]
    assert [s.params["offset"] for s in api.seen] == offsets
    assert all(s.params["region"] == "local" and "account_id" not in s.params for s in api.seen)
    assert int(api.seen[0].params["limit"]) == min(1000, limit or 1000)


def test_a_list_without_total_is_one_page() -> None:
    api = FakeApi({("GET", "/v1/vpcs"): {"items": [{"id": "vpc-1"}]}})
    assert client_for(api).list_all("vpcs") == [{"id": "vpc-1"}]
    assert len(api.seen) == 1


def test_an_answer_that_is_not_a_list_is_an_api_error() -> None:
    api = FakeApi({("GET", "/v1/vpcs"): {"id": "vpc-1"}})
    with pytest.raises(ApiError) as caught:
        client_for(api).list_all("vpcs")
    assert caught.value.code == "InvalidResponse"


# -- the typed helpers: what each sends -----------------------------------------------

Call = Callable[[HavipClient], object]

HELPERS: list[tuple[str, Call, str, str, dict[str, str], Any]] = [
    ("get", lambda c: c.get("havips", "havip-1"), "GET", "/v1/havips/havip-1", {}, None),
    (
        "create",
        lambda c: c.create("subnets", {"vpc_id": "vpc-1", "name": None}),
        "POST",
        "/v1/subnets",
        {},
        {"vpc_id": "vpc-1"},
    ),
    (
        "update",
        lambda c: c.update("vpcs", "vpc-1", {"name": "x", "description": None}),
        "PATCH",
        "/v1/vpcs/vpc-1",
        {},
        {"name": "x"},
    ),
    (
        "associate",
        lambda c: c.associate("havip-1", "instance", "i-1"),
        "POST",
        "/v1/havips/havip-1/members",
        {},
        {"member_type": "instance", "member_id": "i-1"},
    ),
    ("unassociate", lambda c: c.unassociate("havip-1", "i-1"), "DELETE", "/v1/havips/havip-1/members/i-1", {}, None),
    (
        "unassociate-force",
        lambda c: c.unassociate("havip-1", "i-1", force=True),
        "DELETE",
        "/v1/havips/havip-1/members/i-1",
        {"force": "true"},
        None,
    ),
    (
        "events",
        lambda c: c.havip_events("havip-1", kind="holder_changed", limit=10),
        "GET",
        "/v1/havips/havip-1/events",
        {"kind": "holder_changed", "limit": "10", "offset": "0"},
        None,
    ),
    (
        "eip-associate",
        lambda c: c.eip_associate("eip-1", havip_id="havip-1"),
        "POST",
        "/v1/eips/eip-1/associate",
        {},
        {"havip_id": "havip-1"},
    ),
    ("eip-unassociate", lambda c: c.eip_unassociate("eip-1"), "POST", "/v1/eips/eip-1/unassociate", {}, None),
    (
        "route-entries",
        lambda c: c.route_entries("rtb-1"),
        "GET",
        "/v1/route-tables/rtb-1/entries",
        {"limit": "1000", "offset": "0"},
        None,
    ),
    (
        "route-entry-create",
        lambda c: c.create_route_entry("rtb-1", {"destination": "10.0.0.0/8"}),
        "POST",
        "/v1/route-tables/rtb-1/entries",
        {},
        {"destination": "10.0.0.0/8"},
    ),
    (
        "route-entry-delete",
        lambda c: c.delete_route_entry("rtb-1", "rte-1"),
        "DELETE",
        "/v1/route-tables/rtb-1/entries/rte-1",
        {},
        None,
    ),
    (
        "key-create",
        lambda c: c.create_account_key("acc-1", "ci"),
        "POST",
        "/v1/accounts/acc-1/keys",
        {},
        {"description": "ci"},
    ),
    ("key-revoke", lambda c: c.revoke_key("key-9"), "DELETE", "/v1/keys/key-9", {}, None),
    ("quotas", lambda c: c.quotas("acc-1"), "GET", "/v1/quotas", {"account_id": "acc-1"}, None),
    (
        "quota-set",
        lambda c: c.set_quota("acc-1", "havips_per_account", 9),
        "PUT",
        "/v1/quotas/acc-1/havips_per_account",
        {},
        {"value": 9},
    ),
    ("desired-state", lambda c: c.desired_state("host-a"), "GET", "/v1/hosts/host-a/desired-state", {}, None),
    (
        "desired-state-poll",
        lambda c: c.desired_state("host-a", since_revision=7, wait=30),
        "GET",
        "/v1/hosts/host-a/desired-state",
        {"since_revision": "7", "wait": "30"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "params", "body"), [h[1:] for h in HELPERS], ids=[h[0] for h in HELPERS]
)
def test_helpers_send(call: Call, method: str, path: str, params: dict[str, str], body: Any) -> None:
    def answer(request: httpx.Request) -> Any:
        return {"items": [], "total": 0} if request.method == "GET" else {"ok": True}

    api = FakeApi({(method, path): answer})
    call(client_for(api))
    assert (api.last.method, api.last.path, api.last.params, api.last.body) == (method, path, params, body)


def test_a_long_poll_waits_longer_than_the_poll() -> None:
    seen: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> dict[str, Any]:
        seen.append(request.extensions["timeout"])
        return {"revision": 8}

    api = FakeApi({("GET", "/v1/hosts/host-a/desired-state"): answer})
    client = client_for(api)
    assert client.desired_state("host-a", since_revision=7, wait=30) == {"revision": 8}
    assert seen[0]["read"] == client.timeout + 30


def test_a_not_modified_desired_state_is_none() -> None:
    api = FakeApi({("GET", "/v1/hosts/host-a/desired-state"): httpx.Response(304)})
    assert client_for(api).desired_state("host-a", since_revision=7, wait=1) is None
