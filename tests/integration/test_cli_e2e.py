"""End to end: ``havip serve`` as a real process, driven by the ``havip`` CLI as real processes.

The server gets a fresh ``HAVIP_HOME`` (its SQLite store and the credentials file it
writes on first start) and a free port on 127.0.0.1, or a unix socket. Every CLI run
gets ``HAVIP_HOME`` and nothing else, so it must find server and keys in the file.
The server is stopped at the end of each test, also when the test fails.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from havip.cli.exits import ExitCode

from .helpers import wait_until

pytestmark = pytest.mark.integration

HAVIP = Path(sys.executable).with_name("havip")  # the console script of this venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running ``havip serve`` and a way to run the CLI against it."""

    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"HAVIP_HOME": str(self.home)}
        return subprocess.run([str(HAVIP), *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.returncode == 0, f"havip {' '.join(args)}: {result.stderr}\nserver log:\n{self.log_tail()}"
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok("--json", *args))

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text().splitlines()[-30:])


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def start(home: Path, log: Path, listen: str, client: httpx.Client) -> subprocess.Popen[bytes]:
    """Start ``havip serve`` and wait until it answers /healthz (or fail with its log)."""
    assert HAVIP.exists(), f"{HAVIP} is missing: install the project into the venv (pip install -e .)"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(HAVIP), "serve", "--listen", listen], env={"HAVIP_HOME": str(home)}, stdout=out, stderr=out
        )
    try:
        wait_until(lambda: process.poll() is not None or healthy(client), timeout=30, interval=0.05)
        assert process.poll() is None, f"havip serve exited with {process.returncode}:\n{log.read_text()}"
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home, log = tmp_path / "home", tmp_path / "serve.log"
    port = free_port()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        process = start(home, log, f"127.0.0.1:{port}", client)
    try:
        yield Served(home, log, process)
    finally:
        stop(process)


@pytest.fixture
def served_on_socket(tmp_path: Path) -> Iterator[Served]:
    home, log, sock = tmp_path / "home", tmp_path / "serve.log", tmp_path / "havip.sock"
    with httpx.Client(base_url="http://havip", transport=httpx.HTTPTransport(uds=str(sock))) as client:
        process = start(home, log, f"unix:{sock}", client)
    try:
        yield Served(home, log, process)
    finally:
        stop(process)


def test_a_havip_bound_to_two_instances_from_the_command_line(served: Served) -> None:
    vpc = served.json("vpc", "create", "--cidr", "172.17.0.0/16", "--name", "e2e")
    subnet = served.json("subnet", "create", "--vpc", vpc["id"], "--cidr", "172.17.16.0/24")
    one = served.json("instance", "create", "--subnet", subnet["id"], "--ip", "172.17.16.7", "--name", "one")
    two = served.json("instance", "create", "--subnet", subnet["id"], "--ip", "172.17.16.13", "--name", "two")
    havip = served.json("havip", "create", "--subnet", subnet["id"], "--ip", "172.17.16.3", "--name", "web")
    for instance in (one, two):
        served.json("havip", "associate", havip["id"], "--instance", instance["id"])

    shown = served.json("havip", "show", havip["id"])
    assert (shown["ip"], shown["subnet_id"], shown["status"]) == ("172.17.16.3", subnet["id"], "InUse")
    assert sorted((m["member_type"], m["member_id"]) for m in shown["members"]) == sorted(
        [("instance", one["id"]), ("instance", two["id"])]
    )

    table = served.ok("havip", "show", havip["id"])
    assert "Members (2)" in table
    assert one["id"] in table and two["id"] in table
    listed = [line.split() for line in served.ok("havip", "list").splitlines()]
    assert [havip["id"], "172.17.16.3", "InUse", "explicit", "-", "2", subnet["id"], "web"] in listed


def test_serve_writes_private_credentials_and_never_logs_them(served: Served) -> None:
    path = served.home / "credentials.json"
    creds = json.loads(path.read_text())
    assert set(creds) == {"server", "operator_token", "tenant_token", "account_id"}
    assert creds["server"].startswith("http://127.0.0.1:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    served.ok("vpc", "list")
    served.ok("host", "list")  # the operator key works too
    log = served.log.read_text()
    lines = [json.loads(line) for line in log.splitlines()]
    assert {"event": "credentials-written", "path": str(path)}.items() <= next(
        line for line in lines if line["event"] == "credentials-written"
    ).items()
    for token in (creds["operator_token"], creds["tenant_token"]):
        assert token.partition(".")[2] not in log


def test_errors_are_one_line_with_the_request_id(served: Served) -> None:
    result = served.cli("havip", "create", "--subnet", "vsw-nothere")
    assert result.returncode == ExitCode.NOT_FOUND
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: NotFound.")
    assert "vsw-nothere" in line
    assert line.endswith(")") and "(request " in line


def test_json_after_the_subcommand_and_an_error_as_one_json_object(served: Served) -> None:
    vpc = json.loads(served.ok("vpc", "create", "--cidr", "10.8.0.0/16", "--name", "web", "--json"))
    assert json.loads(served.ok("vpc", "show", "web", "--json"))["id"] == vpc["id"]
    result = served.cli("havip", "create", "--subnet", "vsw-nothere", "--json")
    assert (result.returncode, result.stdout) == (ExitCode.NOT_FOUND, "")
    [line] = result.stderr.splitlines()
    body = json.loads(line)
    assert (body["code"], body["status"]) == ("NotFound.Subnet", 404)
    logged = [json.loads(line) for line in served.log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == body["request_id"] for line in logged)  # the id the server logged


def test_a_server_that_is_not_running_is_named(served: Served) -> None:
    result = served.cli("--server", f"http://127.0.0.1:{free_port()}", "vpc", "list")
    assert result.returncode == ExitCode.UNREACHABLE
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ConnectionFailed: cannot connect to the havip server at http://127.0.0.1:")
    assert "havip serve" in line


def test_the_cli_reaches_a_server_on_a_unix_socket(served_on_socket: Served) -> None:
    creds = json.loads((served_on_socket.home / "credentials.json").read_text())
    assert creds["server"].startswith("unix:///")
    vpc = served_on_socket.json("vpc", "create", "--cidr", "10.8.0.0/16")
    assert [v["id"] for v in served_on_socket.json("vpc", "list")] == [vpc["id"]]


def test_serve_stops_cleanly_on_sigterm(served: Served) -> None:
    stop(served.process)
    assert served.process.returncode == 0, served.log_tail()
    last = json.loads(served.log.read_text().splitlines()[-1])
    assert (last["level"], last["logger"], last["event"]) == ("info", "havip.serve", "stopped")


def test_keepalived_render_for_a_member_then_check_it_against_the_havip(served: Served, tmp_path: Path) -> None:
    vpc = served.json("vpc", "create", "--cidr", "172.17.0.0/16")
    subnet = served.json("subnet", "create", "--vpc", vpc["id"], "--cidr", "172.17.16.0/24")
    one = served.json("instance", "create", "--subnet", subnet["id"], "--ip", "172.17.16.7")
    two = served.json("instance", "create", "--subnet", subnet["id"], "--ip", "172.17.16.13")
    other = served.json("instance", "create", "--subnet", subnet["id"], "--ip", "172.17.16.20")
    havip = served.json("havip", "create", "--subnet", subnet["id"], "--ip", "172.17.16.3")
    for instance in (one, two):
        served.json("havip", "associate", havip["id"], "--instance", instance["id"])

    conf = served.ok("keepalived", "render", "--havip", havip["id"], "--instance", one["id"], "--advert-int", "0.1")
    assert "unicast_src_ip 172.17.16.7" in conf and "172.17.16.13" in conf and "172.17.16.3/32 dev eth0" in conf
    assert "vrrp_version 3" in conf and "nopreempt" in conf and "state BACKUP" in conf
    path = tmp_path / "keepalived.conf"
    path.write_text(conf)
    verdict = served.json("keepalived", "check", str(path), "--havip", havip["id"], "--instance", one["id"])
    assert verdict["ok"] is True

    # the same file on an instance that is not a member: its announcements would be refused
    result = served.cli("--json", "keepalived", "check", str(path.with_name("k2.conf")))
    assert result.returncode != 0  # missing file: a usage error
    path.with_name("k2.conf").write_text(conf.replace("unicast_src_ip 172.17.16.7", "unicast_src_ip 172.17.16.20"))
    refused = served.cli(
        "--json",
        "keepalived",
        "check",
        str(path.with_name("k2.conf")),
        "--havip",
        havip["id"],
        "--instance",
        other["id"],
    )
    assert refused.returncode == 1
    assert "not-a-member" in {f["code"] for f in json.loads(refused.stdout)["findings"]}

    # rendering for a non-member is refused with one clear line
    bad = served.cli("keepalived", "render", "--havip", havip["id"], "--instance", other["id"])
    assert bad.returncode == ExitCode.INVALID and bad.stderr.startswith("error: InvalidMember.NotAssociated:")


@pytest.mark.parametrize(
    ("db", "code", "status"),
    [
        pytest.param(
            "postgresql://havip:secret@/havip?host=/nonexistent",
            "ServiceUnavailable",
            ExitCode.SERVER,
            id="unreachable",
        ),
        pytest.param("oracle://havip:secret@db/havip", "InvalidParameter.Database", ExitCode.INVALID, id="unsupported"),
    ],
)
def test_serve_and_db_upgrade_name_a_bad_database_in_one_line_without_its_password(
    tmp_path: Path, db: str, code: str, status: ExitCode
) -> None:
    for command in (["serve", "--listen", f"unix:{tmp_path}/s.sock"], ["db", "upgrade"]):
        result = subprocess.run(
            [str(HAVIP), *command, "--db", db],
            env={"HAVIP_HOME": str(tmp_path / "home")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == status, result.stderr
        [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
        assert line.startswith(f"error: {code}: "), line
        assert "secret" not in result.stderr + result.stdout and "***" in line
