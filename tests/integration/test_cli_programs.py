"""The ``havip`` CLI for programs, against the real API under uvicorn on SQLite and PostgreSQL.

``--json`` after the subcommand, an error as one JSON object on stderr with the server's
request id, one exit status per kind of failure (cli/exits.py), and names in place of
ids: resolved when unique, refused with the matching ids when not. The CLI runs in process
(typer's CliRunner) with ``--server`` and ``--token``, so it reads no credentials file.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from havip.api import create_app
from havip.cli.exits import ExitCode
from havip.cli.main import app
from havip.service.accounts import Bootstrap, bootstrap
from havip.service.context import Settings
from havip.store import Store

from . import pg
from .helpers import LiveServer, serve

pytestmark = pytest.mark.integration


@dataclass
class Cli:
    server: str
    tenant: str
    operator: str
    home: Path

    def run(self, *args: str, token: str | None = None, server: str | None = None) -> Result:
        line = ["--server", server or self.server, "--token", token or self.tenant, *args]
        env = {"HAVIP_HOME": str(self.home), "HAVIP_SERVER": None, "HAVIP_TOKEN": None}
        return CliRunner().invoke(app, line, env=env, prog_name="havip")

    def ok(self, *args: str, token: str | None = None) -> Result:
        result = self.run(*args, token=token)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        return result

    def json(self, *args: str, token: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", token=token).stdout)

    def error(self, *args: str, token: str | None = None, server: str | None = None) -> tuple[int, dict[str, Any]]:
        """The exit status and the JSON error object of a failing ``--json`` command."""
        result = self.run(*args, "--json", token=token, server=server)
        assert result.exit_code != 0, result.stdout
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        body = json.loads(line)
        assert set(body) == {"code", "message", "request_id", "status"}
        return result.exit_code, body


@pytest.fixture
def cli(server: LiveServer, boot: Bootstrap, tmp_path: Path) -> Cli:
    assert boot.tenant_token and boot.operator_token
    return Cli(server.base_url, boot.tenant_token, boot.operator_token, tmp_path)


@pytest.fixture
def subnet(cli: Cli) -> dict[str, Any]:
    vpc = cli.json("vpc", "create", "--cidr", "172.17.0.0/16", "--name", "prod")
    out: dict[str, Any] = cli.json("subnet", "create", "--vpc", "prod", "--cidr", "172.17.16.0/24", "--name", "front")
    assert out["vpc_id"] == vpc["id"]  # --vpc took the VPC's name
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- --json anywhere on the line ----------------------------------------------------------


def test_json_after_the_subcommand_is_the_same_as_before_it(cli: Cli, subnet: dict[str, Any]) -> None:
    havip = cli.json("havip", "create", "--subnet", subnet["id"], "--name", "web-vip")
    after = json.loads(cli.ok("havip", "list", "--json").stdout)
    before = json.loads(cli.ok("--json", "havip", "list").stdout)
    middle = json.loads(cli.ok("havip", "--json", "show", havip["id"]).stdout)
    assert after == before and [h["id"] for h in after] == [havip["id"]]
    assert middle["id"] == havip["id"]
    # every kind of command that prints results: create, update, action, list of a nested thing
    assert cli.json("vpc", "update", subnet["vpc_id"], "--description", "d")["description"] == "d"
    assert cli.json("havip", "events", havip["id"]) == []
    assert cli.json("quota", "list")[0]["name"]
    # a note for people ("deleted ...") is not JSON: with --json nothing is printed
    assert cli.ok("havip", "delete", havip["id"], "--json").stdout == ""


# -- errors: one JSON object on stderr ----------------------------------------------------


def test_an_error_under_json_is_one_object_with_the_servers_request_id(cli: Cli) -> None:
    status, body = cli.error("havip", "show", "havip-nothere0000000000")
    assert status == ExitCode.NOT_FOUND
    assert body["code"] == "NotFound.HaVip" and body["status"] == 404
    assert "havip-nothere0000000000" in body["message"]
    assert isinstance(body["request_id"], str) and body["request_id"]
    # the same id the human line shows, for the same failure (each request gets a fresh one)
    human = cli.run("havip", "show", "havip-nothere0000000000")
    assert human.exit_code == ExitCode.NOT_FOUND
    assert human.stderr.startswith("error: NotFound.HaVip: ") and "(request " in human.stderr


def test_without_json_an_error_stays_one_human_line(cli: Cli) -> None:
    result = cli.run("vpc", "create", "--cidr", "8.8.8.0/24")
    assert result.exit_code == ExitCode.INVALID
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Invalid") and "(request " in line
    with pytest.raises(ValueError):
        json.loads(line)


def test_a_usage_error_under_json_is_one_object_too(cli: Cli) -> None:
    status, body = cli.error("vpc", "list", "--bogus")
    assert status == ExitCode.USAGE and ExitCode.USAGE.value == 2
    assert body == {"code": "Usage", "message": "No such option: --bogus", "request_id": None, "status": None}
    human = cli.run("vpc", "list", "--bogus")
    assert human.exit_code == ExitCode.USAGE and "No such option" in human.stderr


# -- exit statuses: one per kind ------------------------------------------------------------


def quota_of_zero(cli: Cli, subnet: dict[str, Any]) -> tuple[str, ...]:
    account = cli.json("vpc", "show", subnet["vpc_id"])["account_id"]
    cli.json("quota", "set", "havips_per_account", "0", "--account", account, token=cli.operator)
    return ("havip", "create", "--subnet", subnet["id"])


def a_vpc_in_use(cli: Cli, subnet: dict[str, Any]) -> tuple[str, ...]:
    return ("vpc", "delete", subnet["vpc_id"])  # it still has its subnet


def an_address_taken(cli: Cli, subnet: dict[str, Any]) -> tuple[str, ...]:
    cli.json("havip", "create", "--subnet", subnet["id"], "--ip", "172.17.16.3")
    return ("havip", "create", "--subnet", subnet["id"], "--ip", "172.17.16.3")


def a_havip_with_a_member(cli: Cli, subnet: dict[str, Any]) -> tuple[str, ...]:
    instance = cli.json("instance", "create", "--subnet", subnet["id"])
    havip = cli.json("havip", "create", "--subnet", subnet["id"])
    cli.json("havip", "associate", havip["id"], "--instance", instance["id"])
    return ("havip", "delete", havip["id"])  # it has a member


Setup = Callable[[Cli, dict[str, Any]], tuple[str, ...]]


@pytest.mark.parametrize(
    ("setup", "token", "code", "http", "status"),
    [
        pytest.param(lambda c, s: ("subnet", "show", "vsw-nothere"), None, "NotFound.", 404, ExitCode.NOT_FOUND,
                     id="not-found"),
        pytest.param(a_vpc_in_use, None, "DependencyViolation", 409, ExitCode.CONFLICT, id="dependency"),
        pytest.param(an_address_taken, None, "InvalidIpAddress", 409, ExitCode.CONFLICT, id="address-in-use"),
        pytest.param(a_havip_with_a_member, None, "DependencyViolation", 409, ExitCode.CONFLICT, id="havip-in-use"),
        pytest.param(quota_of_zero, None, "QuotaExceeded.havips_per_account", 403, ExitCode.QUOTA, id="quota"),
        pytest.param(lambda c, s: ("vpc", "list"), "key-nothere.secret", "Unauthenticated", 401, ExitCode.DENIED,
                     id="unauthenticated"),
        pytest.param(lambda c, s: ("account", "create", "team-b"), None, "Forbidden", 403, ExitCode.DENIED,
                     id="forbidden"),
        pytest.param(lambda c, s: ("vpc", "create", "--cidr", "8.8.8.0/24"), None, "Invalid", 400, ExitCode.INVALID,
                     id="invalid-parameter"),
        pytest.param(lambda c, s: ("vpc", "list", "--limit", "0"), None, "", None, ExitCode.USAGE, id="usage"),
    ],
)  # fmt: skip
def test_each_kind_of_failure_has_its_exit_status(
    cli: Cli, subnet: dict[str, Any], setup: Setup, token: str | None, code: str, http: int | None, status: ExitCode
) -> None:
    args = setup(cli, subnet)
    exit, body = cli.error(*args, token=token)
    assert exit == status, body
    assert body["code"].startswith(code or "Usage"), body
    assert body["status"] == http
    assert (body["request_id"] is not None) is (http is not None)


def test_a_server_that_does_not_answer_is_unreachable(cli: Cli) -> None:
    exit, body = cli.error("vpc", "list", server=f"http://127.0.0.1:{free_port()}")
    assert exit == ExitCode.UNREACHABLE
    assert (body["code"], body["status"], body["request_id"]) == ("ConnectionFailed", None, None)
    assert "havip serve" in body["message"]


def test_a_server_whose_database_is_gone_is_a_server_error(pg_cluster: pg.PgCluster, tmp_path: Path) -> None:
    name = pg_cluster.create_database(template="havip_template")
    store = Store(pg_cluster.url(name))
    try:
        boot = bootstrap(store.uow)
        assert boot.tenant_token and boot.operator_token
        with serve(create_app(store.uow, Settings(), changes=store.changes)) as live:
            cli = Cli(live.base_url, boot.tenant_token, boot.operator_token, tmp_path)
            cli.json("vpc", "list")
            pg_cluster.drop_database(name)
            exit, body = cli.error("vpc", "list")
    finally:
        store.dispose()
        pg_cluster.drop_database(name)
    assert exit == ExitCode.SERVER, body
    assert (body["code"], body["status"]) == ("ServiceUnavailable", 503)
    assert body["request_id"]


# -- names in place of ids ------------------------------------------------------------------


def test_names_stand_for_ids_where_unique(cli: Cli, subnet: dict[str, Any]) -> None:
    one = cli.json("instance", "create", "--subnet", "front", "--name", "one")
    two = cli.json("instance", "create", "--subnet", "front", "--name", "two")
    havip = cli.json("havip", "create", "--subnet", "front", "--name", "web-vip")
    assert one["subnet_id"] == havip["subnet_id"] == subnet["id"]
    for name in ("one", "two"):
        cli.json("havip", "associate", "web-vip", "--instance", name)

    shown = cli.json("havip", "show", "web-vip")
    assert shown["id"] == havip["id"]
    assert sorted(m["member_id"] for m in shown["members"]) == sorted([one["id"], two["id"]])
    assert [h["id"] for h in cli.json("havip", "list", "--subnet", "front", "--vpc", "prod")] == [havip["id"]]
    assert cli.json("instance", "show", "two")["id"] == two["id"]
    table = cli.json("route-table", "list", "--vpc", "prod")[0]
    entry = cli.json("route-entry", "create", table["id"], "--destination", "10.9.0.0/16", "--havip", "web-vip")
    assert entry["next_hop_id"] == havip["id"]
    assert cli.json("havip", "unassociate", "web-vip", "--instance", "one")["members"][0]["member_id"] == two["id"]
    # a human line names the id the name stood for
    cli.ok("route-entry", "delete", table["id"], entry["id"])
    cli.ok("havip", "unassociate", "web-vip", "--instance", "two")
    assert cli.ok("havip", "delete", "web-vip").stdout.strip() == f"deleted HaVip {havip['id']}"


def test_an_ambiguous_name_is_refused_with_the_matching_ids(cli: Cli, subnet: dict[str, Any]) -> None:
    twins = [cli.json("instance", "create", "--subnet", subnet["id"], "--name", "twin") for _ in range(2)]
    exit, body = cli.error("instance", "show", "twin")
    assert exit == ExitCode.CONFLICT
    assert (body["code"], body["status"], body["request_id"]) == ("AmbiguousName", None, None)
    for twin in twins:
        assert twin["id"] in body["message"]
    human = cli.run("instance", "delete", "twin")
    assert human.exit_code == ExitCode.CONFLICT
    assert human.stderr.startswith("error: AmbiguousName: 2 instances are named 'twin': ")
    assert len(cli.json("instance", "list")) == 2  # nothing was deleted
    assert cli.json("instance", "show", twins[0]["id"])["name"] == "twin"  # the id still works


def test_an_unknown_name_is_not_found(cli: Cli, subnet: dict[str, Any]) -> None:
    exit, body = cli.error("havip", "show", "no-such-vip")
    assert exit == ExitCode.NOT_FOUND
    assert body["code"] == "NotFound.Name" and "no-such-vip" in body["message"]
    exit, body = cli.error("havip", "create", "--subnet", "no-such-subnet")
    assert exit == ExitCode.NOT_FOUND and "subnet" in body["message"]
