"""Accounts, keys and quota listing over the in-memory store."""

from __future__ import annotations

import pytest

from havip.domain.errors import Conflict, Forbidden, HavipError, InvalidParameter, NotFound, Unauthenticated
from havip.domain.model import Role
from havip.service import accounts
from havip.service.context import Page

from .builders import Cloud

pytestmark = pytest.mark.unit


def test_bootstrap_is_idempotent(cloud: Cloud) -> None:
    again = accounts.bootstrap(cloud.store.uow)
    assert (again.operator_token, again.tenant_token, again.account.id) == (None, None, cloud.account_id)
    with cloud.store.uow() as uow:
        assert uow.api_keys.count(role=Role.OPERATOR) == 1
        assert uow.accounts.count() == 1


def test_principals_from_bootstrap(cloud: Cloud) -> None:
    assert cloud.operator.principal.role is Role.OPERATOR and cloud.operator.principal.account_id is None
    assert (cloud.tenant.principal.role, cloud.tenant.principal.account_id) == (Role.TENANT, cloud.account_id)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("no-dot", "Unauthenticated.Malformed", id="malformed"),
        pytest.param("key-nothere.secret", "Unauthenticated.InvalidKey", id="unknown-key"),
        pytest.param("WRONG_SECRET", "Unauthenticated.InvalidKey", id="wrong-secret"),
    ],
)
def test_authenticate_refuses(cloud: Cloud, token: str, code: str) -> None:
    if token == "WRONG_SECRET":
        token = f"{cloud.tenant.principal.key_id}.not-the-secret"
    with pytest.raises(Unauthenticated) as info:
        accounts.authenticate(cloud.store.uow, token)
    assert info.value.code == code


def test_revoked_key_no_longer_authenticates(cloud: Cloud) -> None:
    issued = accounts.create_account_key(cloud.operator, cloud.account_id, "ci")
    assert accounts.authenticate(cloud.store.uow, issued.token).key_id == issued.key.id
    accounts.revoke_key(cloud.operator, issued.key.id)
    with pytest.raises(Unauthenticated):
        accounts.authenticate(cloud.store.uow, issued.token)


def test_operator_cannot_revoke_its_own_key(cloud: Cloud) -> None:
    with pytest.raises(Conflict) as info:
        accounts.revoke_key(cloud.operator, cloud.operator.principal.key_id)
    assert info.value.code == "Conflict.OwnKey"


def test_account_names_are_unique(cloud: Cloud) -> None:
    accounts.create_account(cloud.operator, "team-a")
    with pytest.raises(Conflict) as info:
        accounts.create_account(cloud.operator, "team-a")
    assert info.value.code == "InvalidName.Duplicate"


def test_tenant_sees_only_its_account(cloud: Cloud) -> None:
    other = cloud.other_tenant()
    listed, total = accounts.list_accounts(cloud.tenant, Page())
    assert [a.id for a in listed] == [cloud.account_id] and total == 1
    assert other.principal.account_id is not None
    with pytest.raises(NotFound):
        accounts.get_account(cloud.tenant, other.principal.account_id)
    assert accounts.list_accounts(cloud.operator, Page())[1] == 2


@pytest.mark.parametrize(
    ("who", "account", "error", "code"),
    [
        pytest.param("operator", None, InvalidParameter, "MissingParameter.AccountId", id="operator-names-none"),
        pytest.param("tenant", "acc-other", NotFound, "NotFound.Account", id="tenant-names-another"),
        pytest.param("operator", "acc-nothere", NotFound, "NotFound.Account", id="unknown-account"),
    ],
)
def test_list_quotas_refused(cloud: Cloud, who: str, account: str | None, error: type[HavipError], code: str) -> None:
    ctx = cloud.operator if who == "operator" else cloud.tenant
    with pytest.raises(error) as info:
        accounts.list_quotas(ctx, account)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        pytest.param("havips_per_galaxy", 5, "InvalidQuota.Unknown", id="unknown-quota"),
        pytest.param("havips_per_vpc", -1, "InvalidQuota.Value", id="negative"),
    ],
)
def test_set_quota_refused(cloud: Cloud, name: str, value: int, code: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        accounts.set_quota(cloud.operator, cloud.account_id, name, value)
    assert info.value.code == code


def test_agent_cannot_use_tenant_operations(cloud: Cloud) -> None:
    _, agent = cloud.host("h1")
    with pytest.raises(Forbidden) as info:
        accounts.list_quotas(agent)
    assert info.value.code == "Forbidden.Agent"
