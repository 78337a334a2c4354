"""``havip access-key``: the request each form sends, with which key, and what it prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .cli_harness import OPERATOR, TENANT, run, token_of
from .fake_api import FakeApi, page

pytestmark = pytest.mark.unit

KEY = {"id": "ak-1", "account_id": "acc-default", "description": "tf", "created_at": "2024-01-01T00:00:00Z"}
ALL = {"limit": "1000", "offset": "0"}


# fmt: off
CASES = [
    pytest.param(("access-key", "create", "--description", "tf"), "POST", "/v1/access-keys", {},
                 {"description": "tf"}, TENANT, {**KEY, "secret": "s3cr3t"}, "s3cr3t", id="create"),
    pytest.param(("access-key", "create", "--account", "acc-2"), "POST", "/v1/access-keys", {},
                 {"account_id": "acc-2"}, OPERATOR, {**KEY, "secret": "s3cr3t"}, "s3cr3t", id="create-for-account"),
    pytest.param(("access-key", "list"), "GET", "/v1/access-keys", ALL, None, TENANT, page([KEY]), "ak-1",
                 id="list"),
    pytest.param(("access-key", "list", "--account", "acc-2"), "GET", "/v1/access-keys",
                 {"account_id": "acc-2", **ALL}, None, OPERATOR, page([KEY]), "ak-1", id="list-account"),
    pytest.param(("access-key", "revoke", "ak-1"), "DELETE", "/v1/access-keys/ak-1", {}, None, TENANT, None,
                 "revoked AccessKey ak-1", id="revoke"),
]
# fmt: on


@pytest.mark.parametrize(("args", "method", "path", "params", "body", "token", "answer", "shows"), CASES)
def test_access_key_commands(
    tmp_path: Path,
    args: tuple[str, ...],
    method: str,
    path: str,
    params: dict[str, str],
    body: Any,
    token: str,
    answer: Any,
    shows: str,
) -> None:
    api = FakeApi({(method, path): answer})
    result = run(api, *args, home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert api.calls() == [(method, path)]
    assert (api.last.params, api.last.body) == (params, body)
    assert token_of(api) == token
    assert shows in result.stdout


def test_create_json_prints_the_secret_once(tmp_path: Path) -> None:
    api = FakeApi({("POST", "/v1/access-keys"): {**KEY, "secret": "s3cr3t"}})
    result = run(api, "--json", "access-key", "create", home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("s3cr3t") == 1
