"""AccessKeys over the in-memory store: who may issue, list and revoke them, and signing_key."""

from __future__ import annotations

import pytest

from havip.domain.errors import Forbidden, HavipError, InvalidParameter, NotFound, Unauthenticated
from havip.domain.model import Role
from havip.service import access_keys as ak
from havip.service.context import Ctx, Page

from .builders import Cloud

pytestmark = pytest.mark.unit


def test_a_tenant_issues_a_key_for_its_own_account(cloud: Cloud) -> None:
    issued = ak.create_access_key(cloud.tenant, description="terraform")
    assert issued.key.id.startswith("ak-") and issued.key.account_id == cloud.account_id
    assert issued.secret == issued.key.secret
    assert len(issued.secret) == ak.SECRET_LENGTH and issued.secret.isalnum()
    assert issued.key.description == "terraform"
    other = ak.create_access_key(cloud.tenant)
    assert (other.key.id, other.secret) != (issued.key.id, issued.secret)


def test_the_operator_issues_for_a_named_account(cloud: Cloud) -> None:
    issued = ak.create_access_key(cloud.operator, account_id=cloud.account_id)
    assert issued.key.account_id == cloud.account_id


@pytest.mark.parametrize(
    ("who", "account", "error", "code"),
    [
        pytest.param("operator", None, InvalidParameter, "MissingParameter.AccountId", id="operator-names-none"),
        pytest.param("operator", "acc-nothere", NotFound, "NotFound.Account", id="operator-unknown-account"),
        pytest.param("tenant", "OTHER", NotFound, "NotFound.Account", id="tenant-names-another-account"),
        pytest.param("agent", None, Forbidden, "Forbidden.Agent", id="agent"),
    ],
)
def test_create_refused(cloud: Cloud, who: str, account: str | None, error: type[HavipError], code: str) -> None:
    other = cloud.other_tenant()
    ctx = {"operator": cloud.operator, "tenant": cloud.tenant, "agent": cloud.host("h1")[1]}[who]
    if account == "OTHER":
        account = other.principal.account_id
    with pytest.raises(error) as info:
        ak.create_access_key(ctx, account_id=account)
    assert info.value.code == code


def test_description_follows_the_description_rule(cloud: Cloud) -> None:
    with pytest.raises(InvalidParameter) as info:
        ak.create_access_key(cloud.tenant, description="https://example.com")
    assert info.value.code == "InvalidDescription.Malformed"


def test_lists_are_scoped_to_the_account(cloud: Cloud) -> None:
    other = cloud.other_tenant()
    mine = ak.create_access_key(cloud.tenant).key.id
    theirs = ak.create_access_key(other).key.id
    assert [k.id for k in ak.list_access_keys(cloud.tenant, Page())[0]] == [mine]
    assert [k.id for k in ak.list_access_keys(other, Page())[0]] == [theirs]
    everything, total = ak.list_access_keys(cloud.operator, Page())
    assert {k.id for k in everything} == {mine, theirs} and total == 2
    only_other, _ = ak.list_access_keys(cloud.operator, Page(), account_id=other.principal.account_id)
    assert [k.id for k in only_other] == [theirs]
    assert ak.list_access_keys(cloud.tenant, Page(), account_id=other.principal.account_id) == ([], 0)


def test_revoke_own_key_and_not_anothers(cloud: Cloud) -> None:
    other = cloud.other_tenant()
    mine = ak.create_access_key(cloud.tenant).key.id
    with pytest.raises(NotFound) as info:
        ak.revoke_access_key(other, mine)
    assert info.value.code == "NotFound.AccessKey"
    ak.revoke_access_key(cloud.tenant, mine)
    with pytest.raises(NotFound):
        ak.revoke_access_key(cloud.tenant, mine)
    theirs = ak.create_access_key(other).key.id
    ak.revoke_access_key(cloud.operator, theirs)
    assert ak.list_access_keys(cloud.operator, Page()) == ([], 0)


def test_signing_key_names_the_secret_and_the_tenant(cloud: Cloud) -> None:
    issued = ak.create_access_key(cloud.tenant)
    signing = ak.signing_key(cloud.store.uow, issued.key.id)
    assert signing.secret == issued.secret
    assert signing.principal.role is Role.TENANT
    assert (signing.principal.account_id, signing.principal.key_id) == (cloud.account_id, issued.key.id)
    # the principal acts exactly as a tenant key of that account does
    ctx = Ctx(uow=cloud.store.uow, principal=signing.principal)
    assert ak.list_access_keys(ctx, Page())[1] == 1


@pytest.mark.parametrize("revoked", [False, True], ids=["unknown", "revoked"])
def test_signing_key_refuses_unknown_and_revoked_keys(cloud: Cloud, revoked: bool) -> None:
    key_id = "ak-nothere"
    if revoked:
        key_id = ak.create_access_key(cloud.tenant).key.id
        ak.revoke_access_key(cloud.tenant, key_id)
    with pytest.raises(Unauthenticated) as info:
        ak.signing_key(cloud.store.uow, key_id)
    assert info.value.code == "Unauthenticated.UnknownAccessKey"
