"""AccessKeys through the native API: issued once with the secret, listed without, isolated per account."""

from __future__ import annotations

import pytest

from .helpers import Caller

pytestmark = pytest.mark.integration

FIELDS = {"id", "account_id", "description", "created_at"}


def test_issue_list_revoke(tenant: Caller, account_a: str) -> None:
    issued = tenant.post("/v1/access-keys", {"description": "sdk"})
    assert set(issued) == FIELDS | {"secret"}
    assert issued["account_id"] == account_a and issued["description"] == "sdk"
    assert len(issued["secret"]) == 30
    listed = tenant.get("/v1/access-keys")
    assert listed["total"] == 1
    assert [set(k) for k in listed["items"]] == [FIELDS]  # never the secret
    tenant.delete(f"/v1/access-keys/{issued['id']}")
    assert tenant.get("/v1/access-keys")["total"] == 0
    tenant.fails("DELETE", f"/v1/access-keys/{issued['id']}", 404, "NotFound.AccessKey")


def test_accounts_are_isolated(tenant: Caller, tenant_b: Caller, operator: Caller, account_b: str) -> None:
    a = tenant.post("/v1/access-keys", {})
    b = tenant_b.post("/v1/access-keys", {})
    assert [k["id"] for k in tenant.get("/v1/access-keys")["items"]] == [a["id"]]
    assert [k["id"] for k in tenant_b.get("/v1/access-keys")["items"]] == [b["id"]]
    tenant_b.fails("DELETE", f"/v1/access-keys/{a['id']}", 404, "NotFound.AccessKey")
    tenant.fails("POST", "/v1/access-keys", 404, "NotFound.Account", json={"account_id": account_b})
    by_operator = operator.get("/v1/access-keys", params={"account_id": account_b})
    assert [k["id"] for k in by_operator["items"]] == [b["id"]]
    assert operator.get("/v1/access-keys")["total"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param({}, 400, "MissingParameter.AccountId", id="operator-names-no-account"),
        pytest.param({"account_id": "acc-nothere"}, 404, "NotFound.Account", id="unknown-account"),
        pytest.param({"secret": "mine"}, 400, "InvalidParameter", id="unknown-field"),
    ],
)
def test_operator_create_refused(operator: Caller, body: dict[str, str], status: int, code: str) -> None:
    operator.fails("POST", "/v1/access-keys", status, code, json=body)


def test_operator_issues_for_an_account(operator: Caller, account_a: str) -> None:
    issued = operator.post("/v1/access-keys", {"account_id": account_a})
    assert issued["account_id"] == account_a and issued["secret"]


def test_needs_a_credential(anonymous: Caller) -> None:
    anonymous.fails("GET", "/v1/access-keys", 401, "Unauthenticated.MissingKey")
