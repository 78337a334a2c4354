"""TLS and mTLS with real ``havip serve`` processes on 127.0.0.1 and a CA the test makes: the CLI
and the client verify the server (never a silent downgrade), and with ``--tls-client-ca`` an agent
key is accepted only with a certificate named after its host (issue 12)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from havip.cli.exits import ExitCode
from havip.client import ApiError, HavipClient

from .helpers import wait_until
from .processes import HAVIP
from .tlskit import Authority, Pem

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.home / "credentials.json").read_text()))


@dataclass
class Pki:
    ca: Authority
    other_ca: Authority
    server: Pem
    expired: Pem
    wrong_name: Pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = Authority(folder / "ca", "havip-test-ca"), Authority(folder / "other", "other-ca")
    return Pki(
        ca=ca,
        other_ca=other,
        server=ca.issue("server", dns=("localhost",), ips=("127.0.0.1",)),
        expired=ca.issue("server", dns=("localhost",), ips=("127.0.0.1",), expired=True),
        wrong_name=ca.issue("elsewhere", dns=("elsewhere.example",)),
    )


def start(tmp_path: Path, cert: Pem, *extra: str) -> Iterator[Server]:
    port = free_port()
    home = tmp_path / f"home-{port}"
    env = {"HAVIP_HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    args = [str(HAVIP), "serve", "--listen", f"127.0.0.1:{port}", "--db", f"sqlite:///{home / 'h.db'}"]
    args += ["--tls-cert", str(cert.cert), "--tls-key", str(cert.key), *extra]
    with (tmp_path / f"serve-{port}.log").open("ab") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    try:
        wait_until(
            lambda: process.poll() is not None or ((home / "credentials.json").exists() and listening(port)),
            timeout=60,
            interval=0.1,
        )
        assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
        yield Server(f"https://127.0.0.1:{port}", home, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def https(tmp_path: Path, pki: Pki) -> Iterator[Server]:
    yield from start(tmp_path, pki.server)


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HAVIP_HOME": str(server.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([str(HAVIP), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_talks_https_with_the_right_ca(https: Server, pki: Pki) -> None:
    assert https.credentials()["server"] == https.url  # the bootstrap recorded https://
    done = cli(https, "--ca-file", str(pki.ca.pem), "--json", "vpc", "list")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("system-store", "not signed by a CA you trust"),
        ("other-ca", "not signed by a CA you trust"),
        ("plain-http", "use https://"),
    ],
)
def test_the_cli_refuses_a_server_it_cannot_verify(https: Server, pki: Pki, how: str, words: str) -> None:
    args = {
        "system-store": [],
        "other-ca": ["--ca-file", str(pki.other_ca.pem)],
        "plain-http": ["--server", https.url.replace("https://", "http://"), "--ca-file", str(pki.ca.pem)],
    }[how]
    done = cli(https, *args, "vpc", "list")
    assert done.returncode == ExitCode.UNREACHABLE
    assert words in done.stderr, done.stderr
    assert "[]" not in done.stdout  # nothing was answered


@pytest.mark.parametrize(("which", "words"), [("expired", "has expired"), ("wrong_name", "for another name")])
def test_a_bad_server_certificate_is_named(tmp_path: Path, pki: Pki, which: str, words: str) -> None:
    for server in start(tmp_path, getattr(pki, which)):
        with HavipClient(server.url, None, ca_file=str(pki.ca.pem)) as client, pytest.raises(ApiError) as caught:
            client.healthz()
        assert caught.value.code == "TlsFailed"
        assert words in caught.value.message


@pytest.fixture
def mtls(tmp_path: Path, pki: Pki) -> Iterator[Server]:
    yield from start(tmp_path, pki.server, "--tls-client-ca", str(pki.ca.pem))


def agent_key(server: Server, pki: Pki, name: str) -> str:
    operator = HavipClient(server.url, server.credentials()["operator_token"], ca_file=str(pki.ca.pem))
    with operator:
        return str(operator.create("hosts", {"name": name})["agent_key"]["token"])


def test_mtls_accepts_the_hosts_own_certificate_and_refuses_any_other(mtls: Server, pki: Pki) -> None:
    token = agent_key(mtls, pki, "hv-1")
    own, foreign = pki.ca.issue("hv-1"), pki.ca.issue("hv-2")
    ca = str(pki.ca.pem)
    with HavipClient(mtls.url, token, ca_file=ca, client_cert=(str(own.cert), str(own.key))) as agent:
        assert agent.desired_state("hv-1")["host"] == "hv-1"  # type: ignore[index]
    for cert in (foreign, None):
        pair = (str(cert.cert), str(cert.key)) if cert else None
        with HavipClient(mtls.url, token, ca_file=ca, client_cert=pair) as agent, pytest.raises(ApiError) as caught:
            agent.desired_state("hv-1")
        assert (caught.value.status, caught.value.code) == (403, "Forbidden.AgentCertificate")
        assert ("hv-2" if cert else "no client certificate") in caught.value.message
    # tenants and operators may still come with their key alone
    with HavipClient(mtls.url, mtls.credentials()["tenant_token"], ca_file=ca) as tenant:
        assert tenant.list_all("vpcs") == []


def test_mtls_refuses_a_certificate_of_another_ca_at_the_handshake(mtls: Server, pki: Pki) -> None:
    token = agent_key(mtls, pki, "hv-1")
    stranger = pki.other_ca.issue("hv-1")
    pair = (str(stranger.cert), str(stranger.key))
    with (
        HavipClient(mtls.url, token, ca_file=str(pki.ca.pem), client_cert=pair) as agent,
        pytest.raises(ApiError) as caught,
    ):
        agent.desired_state("hv-1")
    assert caught.value.code in ("TlsFailed", "TransportError"), caught.value
    assert caught.value.status != 200


def test_bad_tls_options_stop_the_server_before_it_starts(tmp_path: Path, pki: Pki) -> None:
    env = {"HAVIP_HOME": str(tmp_path / "h"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for args, words in (
        (["--tls-cert", str(pki.server.cert)], "both --tls-cert and --tls-key"),
        (["--tls-client-ca", str(pki.ca.pem)], "mTLS needs TLS"),
        (["--tls-cert", str(pki.server.cert), "--tls-key", str(tmp_path / "none.key")], "no such file"),
        (["--tls-cert", str(pki.ca.pem), "--tls-key", str(pki.server.key)], "cannot be used"),
    ):
        done = subprocess.run([str(HAVIP), "serve", *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert words in " ".join(done.stderr.replace("│", " ").split()), done.stderr
    assert not (tmp_path / "h").exists()
