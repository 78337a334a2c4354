"""The systemd units as systemd reads them, and readiness as a real ``havip serve`` reports it.

``systemd-analyze verify`` needs no running systemd, but it needs the ``ExecStart``
binary: the test copies each unit to a scratch folder and rewrites only that path (to
this venv's ``havip``), checking that nothing else changed. Any warning fails the test,
an unknown or misspelt directive among them (systemd only warns about those).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .processes import HAVIP

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = "/opt/havip/bin/havip"


@pytest.fixture
def scratch() -> Iterator[Path]:
    # short: a unix socket's path must fit in 108 bytes
    path = Path(tempfile.mkdtemp(prefix="havip-sd-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("name", ["havip-server.service", "havip-agent.service"])
def test_systemd_analyze_verify_accepts_the_unit(name: str, scratch: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd (scripts/setup.sh installs it)"
    original = (ROOT / "deploy" / "systemd" / name).read_text()
    assert original.count(f"ExecStart={INSTALLED} ") == 1
    rewritten = original.replace(f"ExecStart={INSTALLED} ", f"ExecStart={HAVIP} ")
    changed = [(a, b) for a, b in zip(original.splitlines(), rewritten.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][0].startswith("ExecStart="), changed
    (scratch / name).write_text(rewritten)
    proc = subprocess.run([analyze, "verify", str(scratch / name)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip() and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_verify_catches_a_misspelt_directive(scratch: Path) -> None:
    """The check above would notice a typo: systemd warns (exit 0) and the test reads the warning."""
    text = (ROOT / "deploy" / "systemd" / "havip-server.service").read_text()
    text = text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={HAVIP} ").replace("ProtectHome=", "ProtectHom=")
    (scratch / "bad.service").write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", str(scratch / "bad.service")], capture_output=True, text=True)
    assert "ProtectHom" in proc.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def receive(sock: socket.socket, timeout: float) -> str:
    sock.settimeout(timeout)
    return sock.recv(4096).decode()


def test_serve_notifies_ready_once_it_listens_and_stopping_on_sigterm(scratch: Path) -> None:
    notify_path = scratch / "notify.sock"
    port = free_port()
    db = scratch / "havip.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVIP_")}
    env.update(HAVIP_HOME=str(scratch / "home"), NOTIFY_SOCKET=str(notify_path))
    log = scratch / "serve.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify_path))
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(HAVIP), "serve", "--listen", f"127.0.0.1:{port}", "--db", f"sqlite:///{db}"],
                env=env,
                cwd=scratch,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            try:
                message = receive(sock, 60)
            except TimeoutError:
                pytest.fail(f"no READY=1 within 60 s; log:\n{log.read_text()}")
            assert message == "READY=1"
            # ready means ready: the store is migrated and the socket answers at once
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert receive(sock, 30) == "STOPPING=1"
            assert proc.wait(timeout=30) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
