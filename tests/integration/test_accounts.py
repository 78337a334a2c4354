"""Accounts, API keys and quotas through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .helpers import Caller, Net

pytestmark = pytest.mark.integration


def test_operator_creates_an_account_whose_key_works(client: TestClient, operator: Caller) -> None:
    created = operator.post("/v1/accounts", {"name": "charlie"})
    account, key = created["account"], created["key"]
    assert account["name"] == "charlie"
    assert key["token"].startswith(key["id"] + ".")
    charlie = Caller(client, key["token"])
    assert charlie.get("/v1/accounts")["items"] == [account]
    assert charlie.post("/v1/vpcs", {"cidr": "10.0.0.0/16"})["account_id"] == account["id"]
    assert operator.get(f"/v1/accounts/{account['id']}") == account


def test_account_list_and_show(operator: Caller, tenant: Caller, account_a: str, account_b: str) -> None:
    every = operator.get("/v1/accounts")
    assert [a["id"] for a in every["items"]] == [account_a, account_b]
    assert operator.get("/v1/accounts", params={"limit": 1, "offset": 1})["items"][0]["id"] == account_b
    mine = tenant.get("/v1/accounts")
    assert (mine["total"], mine["items"][0]["id"]) == (1, account_a)
    assert tenant.get(f"/v1/accounts/{account_a}")["name"] == "default"
    tenant.fails("GET", f"/v1/accounts/{account_b}", 404, "NotFound.Account")
    operator.fails("GET", "/v1/accounts/acc-nope", 404, "NotFound.Account")


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        pytest.param("default", 409, "InvalidName.Duplicate", id="duplicate"),
        pytest.param("http://x", 400, "InvalidName.Malformed", id="url"),
        pytest.param("x" * 129, 400, "InvalidName.Malformed", id="too-long"),
    ],
)
def test_bad_account_names(operator: Caller, name: str, status: int, code: str) -> None:
    operator.fails("POST", "/v1/accounts", status, code, json={"name": name})
    assert operator.get("/v1/accounts")["total"] == 1


def test_keys_issue_and_revoke(client: TestClient, operator: Caller, tenant: Caller, account_a: str) -> None:
    key = operator.post(f"/v1/accounts/{account_a}/keys", {"description": "ci"})
    second = Caller(client, key["token"])
    assert second.get("/v1/accounts")["items"][0]["id"] == account_a
    tenant.fails("POST", f"/v1/accounts/{account_a}/keys", 403, "Forbidden.OperatorOnly", json={})
    tenant.fails("DELETE", f"/v1/keys/{key['id']}", 403, "Forbidden.OperatorOnly")
    operator.fails("POST", "/v1/accounts/acc-nope/keys", 404, "NotFound.Account", json={})
    operator.delete(f"/v1/keys/{key['id']}")
    second.fails("GET", "/v1/accounts", 401, "Unauthenticated.InvalidKey")
    operator.fails("DELETE", f"/v1/keys/{key['id']}", 404, "NotFound.ApiKey")
    assert tenant.get("/v1/accounts")["total"] == 1  # the other key of the account still works


def test_operator_cannot_revoke_its_own_key(operator: Caller) -> None:
    assert operator.token is not None
    operator.fails("DELETE", f"/v1/keys/{operator.token.partition('.')[0]}", 409, "Conflict.OwnKey")


def _quotas(caller: Caller, **params: Any) -> dict[str, dict[str, Any]]:
    return {q["name"]: q for q in caller.get("/v1/quotas", params=params)["items"]}


def test_quotas_show_defaults_and_usage(tenant: Caller, net: Net) -> None:
    tenant.post("/v1/havips", {"subnet_id": net.subnet})
    q = _quotas(tenant)
    assert q["havips_per_account"] == {
        "name": "havips_per_account",
        "description": q["havips_per_account"]["description"],
        "default": 5,
        "value": 5,
        "used": 1,
    }
    assert q["members_per_havip"]["value"] == 10
    assert q["members_per_havip"]["used"] is None


def test_operator_sets_a_quota(operator: Caller, tenant: Caller, account_a: str, account_b: str) -> None:
    set_ = operator.ok("PUT", f"/v1/quotas/{account_a}/havips_per_account", json={"value": 12})
    assert (set_["name"], set_["default"], set_["value"]) == ("havips_per_account", 5, 12)
    assert _quotas(tenant)["havips_per_account"]["value"] == 12
    assert _quotas(operator, account_id=account_b)["havips_per_account"]["value"] == 5
    operator.ok("PUT", f"/v1/quotas/{account_a}/havips_per_account", json={"value": 7})
    assert _quotas(operator, account_id=account_a)["havips_per_account"]["value"] == 7


@pytest.mark.parametrize(
    ("caller", "path", "body", "status", "code"),
    [
        pytest.param("tenant", "/v1/quotas/{a}/havips_per_account", {"value": 50}, 403, "Forbidden.OperatorOnly"),
        pytest.param("operator", "/v1/quotas/{a}/widgets", {"value": 1}, 400, "InvalidQuota.Unknown"),
        pytest.param("operator", "/v1/quotas/{a}/havips_per_vpc", {"value": -1}, 400, "InvalidQuota.Value"),
        pytest.param("operator", "/v1/quotas/{a}/havips_per_vpc", {"value": "many"}, 400, "InvalidParameter"),
        pytest.param("operator", "/v1/quotas/acc-nope/havips_per_vpc", {"value": 1}, 404, "NotFound.Account"),
    ],
)
def test_quota_set_errors(
    request: pytest.FixtureRequest, account_a: str, caller: str, path: str, body: Any, status: int, code: str
) -> None:
    who: Caller = request.getfixturevalue(caller)
    who.fails("PUT", path.format(a=account_a), status, code, json=body)
    assert {q["value"] for q in _quotas(request.getfixturevalue("tenant")).values()} == {5, 10, 1}


def test_a_tenant_cannot_read_another_accounts_quotas(tenant: Caller, account_b: str) -> None:
    tenant.fails("GET", "/v1/quotas", 404, "NotFound.Account", params={"account_id": account_b})


def test_the_operator_must_name_the_account_whose_quotas_to_show(operator: Caller) -> None:
    operator.fails("GET", "/v1/quotas", 400, "MissingParameter.AccountId")
