"""What ``havip`` prints: tables, ``--json``, one-line errors and exit statuses, help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from havip.cli.exits import ExitCode
from havip.cli.main import app
from havip.cli.render import cell

from .cli_harness import CREDENTIALS, OPERATOR, run, token_of
from .fake_api import FakeApi, error, page, raising

pytestmark = pytest.mark.unit

HAVIP = {
    "id": "havip-1",
    "ip": "172.17.16.3",
    "status": "InUse",
    "binding_mode": "explicit",
    "subnet_id": "vsw-1",
    "name": "web",
    "holder": {"interface_id": "eni-1", "instance_id": "i-1", "host_id": "host-a", "since": "2024-05-01T10:00:00Z"},
    "members": [
        {"member_type": "instance", "member_id": "i-1", "created_at": "2024-05-01T09:00:00Z"},
        {"member_type": "instance", "member_id": "i-2", "created_at": "2024-05-01T09:01:00Z"},
    ],
    "eips": [{"id": "eip-1", "ip": "203.0.113.5"}],
    "route_entry_ids": [],
}
UNHELD = {**HAVIP, "id": "havip-2", "status": "Available", "holder": None, "members": [], "eips": []}


# -- errors: one line on stderr, the exit status of their kind ------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "line", "status"),
    [
        (
            error(403, "QuotaExceeded.havips_per_account", "creating this HaVip would exceed the quota of 5", "3f2a"),
            "error: QuotaExceeded.havips_per_account: creating this HaVip would exceed the quota of 5 (request 3f2a)",
            ExitCode.QUOTA,
        ),
        (
            error(409, "InvalidIpAddress.InUse", "172.17.16.3 is taken", "77"),
            "error: InvalidIpAddress.InUse: 172.17.16.3 is taken (request 77)",
            ExitCode.CONFLICT,
        ),
        (
            raising(httpx.ConnectError("[Errno 111] Connection refused")),
            "error: ConnectionFailed: cannot connect to the havip server at http://127.0.0.1:8080 ([Errno 111] "
            "Connection refused); is it running? Start one with `havip serve`, or point --server / HAVIP_SERVER at it",
            ExitCode.UNREACHABLE,
        ),
    ],
    ids=["quota", "conflict", "connection-refused"],
)
def test_a_failed_request_is_one_line_and_the_status_of_its_kind(
    answer: Any, line: str, status: ExitCode, tmp_path: Path
) -> None:
    api = FakeApi({("POST", "/v1/havips"): answer})
    result = run(api, "havip", "create", "--subnet", "vsw-1", home=tmp_path)
    assert result.exit_code == status
    assert result.stdout == ""
    assert result.stderr == line + "\n"


@pytest.mark.parametrize(
    ("args", "credentials", "code", "words", "status"),
    [
        (
            ("vpc", "list"),
            None,
            "NoCredentials",
            ["no tenant key", "--token", "havip serve", "credentials.json"],
            ExitCode.DENIED,
        ),
        (("host", "list"), {"tenant_token": "t.t"}, "NoCredentials", ["no operator key"], ExitCode.DENIED),
        (
            ("vpc", "list", "--account", "acc-9"),
            {"tenant_token": "t.t"},
            "NoCredentials",
            ["no operator key"],
            ExitCode.DENIED,
        ),
        (
            ("--server", "ftp://x", "vpc", "list"),
            CREDENTIALS,
            "InvalidServer",
            ["ftp://x", "unix:///"],
            ExitCode.INVALID,
        ),
    ],
    ids=["no-file", "no-operator-key", "other-account-needs-operator", "bad-server"],
)
def test_missing_or_bad_settings_are_one_line_and_the_status_of_their_kind(
    args: tuple[str, ...],
    credentials: dict[str, str] | None,
    code: str,
    words: list[str],
    status: ExitCode,
    tmp_path: Path,
) -> None:
    api = FakeApi()
    result = run(api, *args, home=tmp_path, credentials=credentials)
    assert result.exit_code == status
    assert result.stderr.startswith(f"error: {code}: ")
    assert result.stderr.count("\n") == 1
    for word in words:
        assert word in result.stderr
    assert api.seen == []


def test_an_unreadable_credentials_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{not json")
    result = run(FakeApi(), "vpc", "list", home=tmp_path, credentials=None)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: BadCredentialsFile: cannot read the credentials file {tmp_path}")


# -- usage errors: exit 2, nothing sent ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("havip", "associate", "havip-1"), "--instance / --eni"),
        (("havip", "associate", "havip-1", "--instance", "i-1", "--eni", "eni-1"), "exactly one"),
        (("havip", "unassociate", "havip-1"), "--instance / --eni"),
        (("eip", "associate", "eip-1"), "--havip / --eni"),
        (("route-entry", "create", "rtb-1", "--destination", "10.0.0.0/8"), "--havip / --instance / --eni"),
        (("vpc", "update", "vpc-1"), "nothing to change"),
        (("havip", "create", "--subnet", "vsw-1", "--binding-mode", "sometimes"), "sometimes"),
        (("havip", "create"), "--subnet"),
        (("vpc", "list", "--limit", "0"), "--limit"),
        (("vpc", "explode"), "explode"),
    ],
    ids=[
        "associate-neither",
        "associate-both",
        "unassociate-neither",
        "eip-associate-neither",
        "route-no-next-hop",
        "update-nothing",
        "bad-binding-mode",
        "missing-subnet",
        "limit-zero",
        "unknown-verb",
    ],
)
def test_usage_errors_exit_2_and_send_nothing(args: tuple[str, ...], words: str, tmp_path: Path) -> None:
    api = FakeApi()
    result = run(api, *args, home=tmp_path)
    assert result.exit_code == 2
    assert words in result.stderr
    assert api.seen == []


def test_quota_set_needs_an_account_when_the_token_is_explicit(tmp_path: Path) -> None:
    result = run(FakeApi(), "--token", "k.s", "quota", "set", "havips_per_account", "9", home=tmp_path)
    assert result.exit_code == 2
    assert "--account" in result.stderr


# -- which server and key -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "host", "token"),
    [
        (("vpc", "list"), {}, "127.0.0.1:8080", "key-ten.tenant-secret"),
        (("--server", "http://10.1.2.3:9000", "vpc", "list"), {}, "10.1.2.3:9000", "key-ten.tenant-secret"),
        (("vpc", "list"), {"HAVIP_SERVER": "http://10.9.9.9:81"}, "10.9.9.9:81", "key-ten.tenant-secret"),
        (("--token", "key-x.mine", "vpc", "list"), {}, "127.0.0.1:8080", "key-x.mine"),
        (("--token", "key-x.mine", "host", "list"), {}, "127.0.0.1:8080", "key-x.mine"),
        (("vpc", "list"), {"HAVIP_TOKEN": "key-e.env"}, "127.0.0.1:8080", "key-e.env"),
        (("--server", "unix:///run/havip.sock", "vpc", "list"), {}, "havip", "key-ten.tenant-secret"),
    ],
    ids=[
        "credentials-file",
        "server-option",
        "server-env",
        "token-option",
        "token-beats-operator",
        "token-env",
        "unix-socket",
    ],
)
def test_server_and_token_resolution(
    args: tuple[str, ...], env: dict[str, str], host: str, token: str, tmp_path: Path
) -> None:
    api = FakeApi({("GET", "/v1/vpcs"): page([]), ("GET", "/v1/hosts"): page([])})
    result = run(api, *args, home=tmp_path, env=env)
    assert result.exit_code == 0, result.stderr
    assert api.last.headers["host"] == host
    assert token_of(api) == token


def test_the_credentials_file_server_is_used(tmp_path: Path) -> None:
    api = FakeApi({("GET", "/v1/hosts"): page([])})
    result = run(api, "host", "list", home=tmp_path, credentials={**CREDENTIALS, "server": "http://10.0.0.5:8081"})
    assert result.exit_code == 0, result.stderr
    assert api.last.headers["host"] == "10.0.0.5:8081"
    assert token_of(api) == OPERATOR


# -- tables for people, JSON for programs ------------------------------------------------


def test_havip_list_shows_holder_and_member_count(tmp_path: Path) -> None:
    api = FakeApi({("GET", "/v1/havips"): page([HAVIP, UNHELD])})
    result = run(api, "havip", "list", home=tmp_path)
    assert result.exit_code == 0, result.stderr
    header, _rule, held, unheld = result.stdout.splitlines()
    assert header.split() == ["ID", "IP", "STATUS", "MODE", "HOLDER", "MEMBERS", "SUBNET", "NAME"]
    assert held.split() == ["havip-1", "172.17.16.3", "InUse", "explicit", "eni-1", "(i-1)", "2", "vsw-1", "web"]
    assert unheld.split() == ["havip-2", "172.17.16.3", "Available", "explicit", "-", "0", "vsw-1", "web"]


def test_a_holder_on_a_host_whose_agent_is_down_says_so(tmp_path: Path) -> None:
    lost = {**HAVIP, "holder": {**HAVIP["holder"], "host_agent": "down", "healthy": False}}  # type: ignore[dict-item]
    api = FakeApi({("GET", "/v1/havips"): page([lost])})
    result = run(api, "havip", "list", home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "eni-1 (i-1) [host agent down]" in result.stdout


def test_havip_show_lists_fields_members_and_eips(tmp_path: Path) -> None:
    api = FakeApi({("GET", "/v1/havips/havip-1"): HAVIP})
    result = run(api, "havip", "show", "havip-1", home=tmp_path)
    assert result.exit_code == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["HaVip", "havip-1"]
    assert ["status", "InUse"] in lines
    assert [
        "holder",
        "interface_id=eni-1,",
        "instance_id=i-1,",
        "host_id=host-a,",
        "since=2024-05-01T10:00:00Z",
    ] in lines
    assert ["Members", "(2)"] in lines
    assert ["instance", "i-2", "2024-05-01T09:01:00Z"] in lines
    assert ["EIPs", "(1)"] in lines
    assert ["eip-1", "203.0.113.5"] in lines


def test_instance_list_shows_the_primary_address(tmp_path: Path) -> None:
    instance = {
        "id": "i-1",
        "name": "web-1",
        "status": "Running",
        "subnet_id": "vsw-1",
        "vpc_id": "vpc-1",
        "network_interfaces": [
            {"id": "eni-2", "primary": False, "primary_ip": "172.17.16.9"},
            {"id": "eni-1", "primary": True, "primary_ip": "172.17.16.7"},
        ],
    }
    api = FakeApi({("GET", "/v1/instances"): page([instance])})
    result = run(api, "instance", "list", home=tmp_path)
    assert result.stdout.splitlines()[2].split() == ["i-1", "web-1", "Running", "172.17.16.7", "vsw-1", "vpc-1"]


def test_an_empty_list_says_so(tmp_path: Path) -> None:
    result = run(FakeApi({("GET", "/v1/eips"): page([])}), "eip", "list", home=tmp_path)
    assert result.stdout == "no EIPs\n"


@pytest.mark.parametrize(
    ("args", "route", "answer", "printed"),
    [
        (
            ("vpc", "list"),
            ("GET", "/v1/vpcs"),
            page([{"id": "vpc-1"}, {"id": "vpc-2"}]),
            [{"id": "vpc-1"}, {"id": "vpc-2"}],
        ),
        (("havip", "show", "havip-1"), ("GET", "/v1/havips/havip-1"), HAVIP, HAVIP),
        (("havip", "create", "--subnet", "vsw-1"), ("POST", "/v1/havips"), HAVIP, HAVIP),
        (
            ("account", "create", "team-a"),
            ("POST", "/v1/accounts"),
            {"account": {"id": "acc-2"}, "key": {"id": "k", "token": "k.s"}},
            {"account": {"id": "acc-2"}, "key": {"id": "k", "token": "k.s"}},
        ),
        (("quota", "list"), ("GET", "/v1/quotas"), {"items": [{"name": "q", "value": 5}]}, [{"name": "q", "value": 5}]),
    ],
    ids=["list", "show", "create", "create-with-key", "quotas"],
)
def test_json_prints_the_api_answer(
    args: tuple[str, ...], route: tuple[str, str], answer: Any, printed: Any, tmp_path: Path
) -> None:
    result = run(FakeApi({route: answer}), "--json", *args, home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == printed


def test_json_delete_prints_nothing(tmp_path: Path) -> None:
    result = run(FakeApi({("DELETE", "/v1/vpcs/vpc-1"): None}), "--json", "vpc", "delete", "vpc-1", home=tmp_path)
    assert (result.exit_code, result.stdout) == (0, "")


def test_json_list_gathers_every_page(tmp_path: Path) -> None:
    items = [{"id": f"vpc-{i}"} for i in range(1500)]

    def answer(request: httpx.Request) -> dict[str, Any]:
        offset = int(request.url.params["offset"])
        return page(items[offset : offset + 1000], total=len(items), offset=offset)

    api = FakeApi({("GET", "/v1/vpcs"): answer})
    result = run(api, "--json", "vpc", "list", home=tmp_path)
    assert json.loads(result.stdout) == items
    assert [s.params["offset"] for s in api.seen] == ["0", "1000"]


@pytest.mark.parametrize(
    ("value", "field", "text", "style"),
    [
        (None, "name", "-", "dim"),
        ("", "name", "-", "dim"),
        ([], "secondary_ips", "-", "dim"),
        (True, "system", "yes", ""),
        (["10.0.0.1", "10.0.0.2"], "secondary_ips", "10.0.0.1, 10.0.0.2", ""),
        ({"interface_id": "eni-1", "instance_id": None}, "holder", "interface_id=eni-1", ""),
        ("InUse", "status", "InUse", "bold cyan"),
        ("Available", "status", "Available", "green"),
        ("Available", "name", "Available", ""),
        (5, "value", "5", ""),
    ],
    ids=["none", "empty", "empty-list", "bool", "list", "dict", "in-use", "available", "not-a-status", "int"],
)
def test_cell(value: object, field: str, text: str, style: str) -> None:
    rendered = cell(value, field)
    assert (rendered.plain, str(rendered.style)) == (text, style)


# -- help -------------------------------------------------------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    root: Any = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]
    for name, group in root.commands.items():
        paths.append((name,))
        paths.extend((name, verb) for verb in getattr(group, "commands", {}))
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "havip")
def test_every_command_has_help(path: tuple[str, ...], tmp_path: Path) -> None:
    result = run(FakeApi(), *path, "--help", home=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "Usage: havip" in result.stdout


def test_the_root_help_explains_the_product(tmp_path: Path) -> None:
    text = " ".join(run(FakeApi(), "--help", home=tmp_path).stdout.split())
    for words in [
        "floating private IP address of one subnet",
        "by ARP",
        "'explicit'",
        "'subnet'",
        "havip serve",
        "credentials.json",
    ]:
        assert words in text


EVENTS = [
    {
        "id": "hve-2", "kind": "claim_refused", "at": "2024-05-01T10:00:01Z", "interface_id": "eni-9",
        "instance_id": "i-9", "previous_interface_id": None, "host_id": "host-a", "cause": "garp",
        "reason": "not-a-member", "latency_us": None, "count": 37, "first_seen": "2024-05-01T10:00:01Z",
        "last_seen": "2024-05-01T10:00:09Z",
    },
    {
        "id": "hve-1", "kind": "holder_changed", "at": "2024-05-01T10:00:00Z", "interface_id": "eni-1",
        "instance_id": "i-1", "previous_interface_id": None, "host_id": "host-a", "cause": "garp-request",
        "reason": "", "latency_us": 850, "count": 1, "first_seen": "2024-05-01T10:00:00Z",
        "last_seen": "2024-05-01T10:00:00Z",
    },
]  # fmt: skip


def test_havip_events_show_how_many_refusals_an_entry_merged(tmp_path: Path) -> None:
    api = FakeApi({("GET", "/v1/havips/havip-1/events"): page(EVENTS)})
    result = run(api, "havip", "events", "havip-1", home=tmp_path, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    header, _rule, refused, changed = result.stdout.splitlines()
    assert "COUNT" in header and "LAST SEEN" in header
    assert refused.split()[1:] == ["claim_refused", "eni-9", "i-9", "-", "host-a", "garp", "not-a-member", "37",
                                   "2024-05-01T10:00:09Z", "-"]  # fmt: skip
    assert changed.split()[-3:] == ["1", "-", "850"]  # one occurrence: no last seen
    printed = json.loads(run(api, "--json", "havip", "events", "havip-1", home=tmp_path).stdout)
    assert [(e["count"], e["first_seen"], e["last_seen"]) for e in printed] == [
        (37, "2024-05-01T10:00:01Z", "2024-05-01T10:00:09Z"),
        (1, "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ]
