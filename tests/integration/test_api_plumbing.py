"""The API's plumbing: health, metrics, request ids, logs, OpenAPI, auth and the error table."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from havip.api import create_app
from havip.logs import fields_of
from havip.service.context import Settings
from havip.service.ports import UnitOfWork

from .helpers import Caller, check_error

pytestmark = pytest.mark.integration


def test_healthz_needs_no_key(anonymous: Caller) -> None:
    assert anonymous.get("/healthz") == {"status": "ok"}


def test_metrics_count_requests_by_route_template_and_status(anonymous: Caller, tenant: Caller) -> None:
    tenant.get("/v1/vpcs")
    tenant.fails("GET", "/v1/vpcs/vpc-nope", 404, "NotFound.Vpc")
    resp = anonymous.request("GET", "/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert 'havip_api_requests_total{method="GET",route="/v1/vpcs",status="200"} 1.0' in text
    assert 'havip_api_requests_total{method="GET",route="/v1/vpcs/{vpc_id}",status="404"} 1.0' in text
    assert 'havip_api_request_duration_seconds_count{method="GET",route="/v1/vpcs"} 1.0' in text
    assert "vpc-nope" not in text


def test_unknown_paths_share_one_metrics_label(anonymous: Caller) -> None:
    for n in range(3):
        anonymous.fails("GET", f"/no/such/{n}", 404, "NotFound.Route")
    text = anonymous.request("GET", "/metrics").text
    assert 'havip_api_requests_total{method="GET",route="<unmatched>",status="404"} 3.0' in text


def test_each_app_has_its_own_metrics(store: Any, anonymous: Caller) -> None:
    anonymous.get("/healthz")
    with TestClient(create_app(store.uow, Settings())) as other:
        text = other.get("/metrics").text
    assert 'route="/healthz"' not in text


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        pytest.param("abc-123.trace_7", True, id="sane-id-kept"),
        pytest.param("x" * 129, False, id="too-long-replaced"),
        pytest.param("bad id;", False, id="odd-characters-replaced"),
    ],
)
def test_request_id_is_reused_only_when_sane(client: TestClient, incoming: str, kept: bool) -> None:
    resp = client.get("/healthz", headers={"X-Request-Id": incoming})
    rid = resp.headers["x-request-id"]
    if kept:
        assert rid == incoming
    else:
        assert rid != incoming
        assert len(rid) == 32
        int(rid, 16)


def test_request_ids_differ_between_requests(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_one_log_line_per_request(tenant: Caller, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="havip.api"):
        resp = tenant.request("GET", "/v1/vpcs", headers={"X-Request-Id": "trace-1"})
    lines = [r for r in caplog.records if r.name == "havip.api" and fields_of(r).get("request_id") == "trace-1"]
    assert [r.getMessage() for r in lines] == ["request-served"]
    fields = fields_of(lines[0])
    assert (fields["method"], fields["route"], fields["status"]) == ("GET", "/v1/vpcs", 200)
    assert fields["duration_ms"] >= 0
    assert fields["account"]  # the tenant's account, bound once the key was checked
    assert "code" not in fields  # not an error answer
    assert resp.status_code == 200


def test_openapi_describes_routes_tags_and_models(anonymous: Caller) -> None:
    doc = anonymous.get("/openapi.json")
    assert doc["info"]["title"] == "havip"
    tags = {t["name"] for t in doc["tags"]}
    assert {"havips", "vpcs", "hosts", "agents", "eips", "route-tables", "accounts"} <= tags
    get_havip = doc["paths"]["/v1/havips/{havip_id}"]["get"]
    assert get_havip["tags"] == ["havips"]
    assert get_havip["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/HaVip")
    assert get_havip["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "bearer" in str(doc["components"]["securitySchemes"]).lower()
    assert "422" not in get_havip["responses"]  # validation errors are 400 InvalidParameter
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    post_report = doc["paths"]["/v1/hosts/{host}/reports"]["post"]
    assert post_report["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Report")


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "Unauthenticated.MissingKey", id="no-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwdw=="}, "Unauthenticated.MissingKey", id="not-bearer"),
        pytest.param({"Authorization": "Bearer nodot"}, "Unauthenticated.Malformed", id="malformed"),
        pytest.param({"Authorization": "Bearer key-nope.secret"}, "Unauthenticated.InvalidKey", id="unknown-key"),
    ],
)
def test_bad_credentials_get_401(client: TestClient, headers: dict[str, str], code: str) -> None:
    resp = client.get("/v1/havips", headers=headers)
    check_error(resp, 401, code)
    assert resp.headers["www-authenticate"] == "Bearer"


def test_wrong_secret_of_a_real_key_gets_401(client: TestClient, tenant: Caller) -> None:
    assert tenant.token is not None
    key_id = tenant.token.partition(".")[0]
    check_error(client.get("/v1/vpcs", headers={"Authorization": f"Bearer {key_id}.wrong"}), 401)


# ---------------------------------------------------------------- the error table


def test_unknown_route_is_404_not_found_route(tenant: Caller) -> None:
    body = tenant.fails("GET", "/v1/nothing-here", 404, "NotFound.Route")
    assert "/v1/nothing-here" in body["message"]


def test_wrong_method_is_405(tenant: Caller) -> None:
    body = tenant.fails("PUT", "/v1/vpcs", 405, "MethodNotAllowed")
    assert "PUT" in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        pytest.param("POST", "/v1/vpcs", {"json": {}}, "cidr", id="missing-body-field"),
        pytest.param("POST", "/v1/vpcs", {"json": {"cidr": "10.0.0.0/16", "colour": "red"}}, "colour", id="unknown"),
        pytest.param("POST", "/v1/vpcs", {"json": {"cidr": 7}}, "cidr", id="wrong-type"),
        pytest.param("GET", "/v1/vpcs", {"params": {"limit": 1001}}, "limit", id="limit-too-big"),
        pytest.param("GET", "/v1/vpcs", {"params": {"limit": 0}}, "limit", id="limit-zero"),
        pytest.param("GET", "/v1/vpcs", {"params": {"offset": -1}}, "offset", id="negative-offset"),
        pytest.param("GET", "/v1/havips", {"params": {"status": "Sleepy"}}, "status", id="bad-enum-query"),
        pytest.param("POST", "/v1/havips", {"json": {"subnet_id": "x", "binding_mode": "loose"}}, "binding_mode"),
        pytest.param("GET", "/v1/hosts/h1/desired-state", {"params": {"wait": 61}}, "wait", id="wait-over-60"),
    ],
)
def test_request_validation_is_400_invalid_parameter_naming_the_field(
    tenant: Caller, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    body = tenant.fails(method, path, 400, "InvalidParameter", **kwargs)
    assert field in body["message"]


def test_malformed_json_is_400(tenant: Caller) -> None:
    resp = tenant.request("POST", "/v1/vpcs", content=b"{not json", headers={"Content-Type": "application/json"})
    check_error(resp, 400, "InvalidParameter")


@pytest.mark.parametrize(
    ("caller", "method", "path", "json", "status", "code"),
    [
        pytest.param("tenant", "POST", "/v1/vpcs", {"cidr": "8.8.8.0/24"}, 400, "InvalidCidrBlock.NotPrivate"),
        pytest.param("tenant", "GET", "/v1/havips/havip-nope", None, 404, "NotFound.HaVip"),
        pytest.param("tenant", "POST", "/v1/accounts", {"name": "x"}, 403, "Forbidden.OperatorOnly"),
        pytest.param("operator", "POST", "/v1/vpcs", {"cidr": "10.0.0.0/16"}, 400, "MissingParameter.AccountId"),
        pytest.param("operator", "POST", "/v1/accounts", {"name": "default"}, 409, "InvalidName.Duplicate"),
    ],
)
def test_domain_errors_map_by_kind(
    request: pytest.FixtureRequest,
    engine: str,  # asked for by name: getfixturevalue cannot reach a parametrized fixture
    caller: str,
    method: str,
    path: str,
    json: Any,
    status: int,
    code: str,
) -> None:
    who: Caller = request.getfixturevalue(caller)
    who.fails(method, path, status, code, json=json)


class _BrokenUow:
    """A unit of work whose store is broken in an unforeseen way."""

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        raise RuntimeError("disk on fire")


def test_unexpected_errors_are_500_internal_error_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(_BrokenUow(), Settings())
    with caplog.at_level(logging.ERROR, logger="havip.api"), TestClient(app) as c:
        resp = c.get("/v1/vpcs", headers={"Authorization": "Bearer key-x.secret", "X-Request-Id": "boom-1"})
    body = check_error(resp, 500, "InternalError")
    assert body["request_id"] == "boom-1"
    assert "disk on fire" not in body["message"]
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and fields_of(r).get("request_id") == "boom-1"]
    assert [r.getMessage() for r in logged] == ["unhandled-error"]
    assert logged[0].exc_info is not None
    assert fields_of(logged[0])["code"] == "InternalError"


def test_error_answers_carry_the_incoming_request_id(tenant: Caller) -> None:
    resp = tenant.request("GET", "/v1/vpcs/vpc-nope", headers={"X-Request-Id": "trace-404"})
    assert check_error(resp, 404)["request_id"] == "trace-404"


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        pytest.param("/v1/instances?name=i1", "name", id="list-instances-name"),
        pytest.param("/v1/vpcs?limit=5&vpc_name=x", "vpc_name", id="after-a-known-one"),
        pytest.param("/v1/havips?Limit=5", "Limit", id="case-matters"),
    ],
)
def test_unknown_query_parameter_is_refused_by_name(tenant: Caller, path: str, unknown: str) -> None:
    body = tenant.fails("GET", path, 400, "InvalidParameter.UnknownQuery")
    assert repr(unknown) in body["message"], body["message"]


def test_known_query_parameters_still_work(tenant: Caller) -> None:
    assert tenant.get("/v1/vpcs?limit=5&offset=0&region=local")["items"] == []
