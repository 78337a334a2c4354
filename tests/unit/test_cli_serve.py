"""``havip serve``'s decisions (listen address, log-safe URLs, what to write) and the credentials file."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from havip.cli.credentials import Credentials, CredentialsError, havip_home, load, update
from havip.cli.serve import Listen, new_credentials, parse_listen, record_credentials, redact_url
from havip.cli.state import CliError, Role, choose_target

from .cli_harness import run
from .fake_api import FakeApi

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "listen", "url"),
    [
        ("127.0.0.1:8080", Listen("127.0.0.1", 8080), "http://127.0.0.1:8080"),
        ("0.0.0.0:9000", Listen("0.0.0.0", 9000), "http://127.0.0.1:9000"),
        (":9000", Listen("", 9000), "http://127.0.0.1:9000"),
        ("[::]:9000", Listen("::", 9000), "http://[::1]:9000"),
        ("[fd00::5]:9000", Listen("fd00::5", 9000), "http://[fd00::5]:9000"),
        ("localhost:1", Listen("localhost", 1), "http://localhost:1"),
        ("unix:/run/havip.sock", Listen(uds="/run/havip.sock"), "unix:///run/havip.sock"),
        ("unix:///run/havip.sock", Listen(uds="/run/havip.sock"), "unix:///run/havip.sock"),
    ],
    ids=["loopback", "any-v4", "no-host", "any-v6", "v6", "name", "unix", "unix-url"],
)
def test_parse_listen(text: str, listen: Listen, url: str) -> None:
    assert parse_listen(text) == listen
    assert listen.client_url == url


@pytest.mark.parametrize("text", ["8080", "host:", "host:http", "host:0", "host:65536", "unix:"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


def test_serve_refuses_a_bad_listen_address_as_usage(tmp_path: Path) -> None:
    result = run(FakeApi(), "serve", "--listen", "nowhere", home=tmp_path, credentials=None)
    assert result.exit_code == 2
    assert "HOST:PORT" in result.stderr
    assert not (tmp_path / "havip.db").exists()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:////var/lib/havip.db", "sqlite:////var/lib/havip.db"),
        ("postgresql://havip:hunter2@db:5432/havip", "postgresql://havip:***@db:5432/havip"),
        ("postgresql+psycopg://havip@db/havip", "postgresql+psycopg://havip@db/havip"),
    ],
    ids=["sqlite", "password", "no-password"],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("operator", "tenant", "entries"),
    [
        (None, None, {}),
        (
            "op.s",
            "ten.s",
            {"server": "http://h:1", "account_id": "acc-1", "operator_token": "op.s", "tenant_token": "ten.s"},
        ),
        (None, "ten.s", {"server": "http://h:1", "account_id": "acc-1", "tenant_token": "ten.s"}),
    ],
    ids=["nothing-new", "first-start", "only-a-new-tenant-key"],
)
def test_new_credentials(operator: str | None, tenant: str | None, entries: dict[str, str]) -> None:
    assert new_credentials("http://h:1", "acc-1", operator, tenant) == entries


def test_record_credentials_keeps_other_entries_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "credentials.json"
    update(path, {"server": "http://old:1", "note": "mine", "operator_token": "op.old"})
    record_credentials(path, "http://127.0.0.1:8080", "acc-1", None, "ten.new")
    assert json.loads(path.read_text()) == {
        "server": "http://127.0.0.1:8080",
        "note": "mine",
        "operator_token": "op.old",
        "tenant_token": "ten.new",
        "account_id": "acc-1",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_record_credentials_without_new_keys_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text('{"server": "http://a:1"}')
    record_credentials(path, "http://b:2", "acc-1", None, None)
    assert path.read_text() == '{"server": "http://a:1"}'


@pytest.mark.parametrize(
    ("content", "credentials"),
    [
        (None, Credentials()),
        (
            '{"server": "http://h:1", "tenant_token": "t.s", "extra": 1}',
            Credentials(server="http://h:1", tenant_token="t.s"),
        ),
        ('{"operator_token": 5, "account_id": ""}', Credentials()),
    ],
    ids=["missing", "partial", "wrong-types"],
)
def test_load(content: str | None, credentials: Credentials, tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    if content is not None:
        path.write_text(content)
    assert load(path) == credentials


@pytest.mark.parametrize("content", ["{oops", "[1, 2]"], ids=["not-json", "not-an-object"])
def test_load_refuses(content: str, tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(content)
    with pytest.raises(CredentialsError, match=re.escape(str(path))):
        load(path)


@pytest.mark.parametrize(
    ("environ", "home"),
    [({"HAVIP_HOME": "/srv/havip"}, Path("/srv/havip")), ({}, Path("~/.local/share/havip").expanduser())],
    ids=["set", "default"],
)
def test_havip_home(environ: dict[str, str], home: Path) -> None:
    assert havip_home(environ) == home


FILE = Credentials(server="http://file:1", operator_token="op.s", tenant_token="ten.s", account_id="acc-1")


@pytest.mark.parametrize(
    ("role", "server", "token", "account", "chosen"),
    [
        ("tenant", None, None, None, ("http://file:1", "ten.s")),
        ("operator", None, None, None, ("http://file:1", "op.s")),
        ("tenant", None, None, "acc-1", ("http://file:1", "ten.s")),
        ("tenant", None, None, "acc-2", ("http://file:1", "op.s")),
        ("operator", "http://x:2", "mine.s", None, ("http://x:2", "mine.s")),
        ("tenant", None, "mine.s", "acc-2", ("http://file:1", "mine.s")),
    ],
    ids=["tenant", "operator", "own-account", "other-account", "explicit", "explicit-token-for-other-account"],
)
def test_choose_target(
    role: Role, server: str | None, token: str | None, account: str | None, chosen: tuple[str, str]
) -> None:
    target = choose_target(
        role,
        server=server,
        token=token,
        creds=FILE,
        credentials_file=Path("/h/credentials.json"),
        account=account,
    )
    assert (target.server, target.token) == chosen


def test_choose_target_defaults_to_the_local_server_and_names_the_file_when_keyless() -> None:
    with pytest.raises(CliError, match=re.escape("/h/credentials.json")) as caught:
        choose_target(
            "tenant", server=None, token=None, creds=Credentials(), credentials_file=Path("/h/credentials.json")
        )
    assert caught.value.code == "NoCredentials"
    target = choose_target("tenant", server=None, token="k.s", creds=Credentials(), credentials_file=Path("/h/c"))
    assert target.server == "http://127.0.0.1:8080"
