"""``havip serve --config FILE`` as a real process: the file's values are used, a flag overrides
the file, and a bad file stops the server before it starts anything (issue 12)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from .helpers import wait_until
from .processes import HAVIP

pytestmark = pytest.mark.integration


def start(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {"HAVIP_HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    log = (tmp_path / "serve.log").open("ab")
    return subprocess.Popen([str(HAVIP), "serve", *args], env=env, stdout=log, stderr=log)


def answers(socket: Path) -> bool:
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://havip") as client:
            return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_the_file_is_used_and_a_flag_overrides_it(tmp_path: Path) -> None:
    from_file, from_flag = tmp_path / "file.sock", tmp_path / "flag.sock"
    conf = tmp_path / "server.toml"
    conf.write_text(f'listen = "unix:{from_file}"\nlog-level = "warning"\nregion = ["r1", "r2"]\n')
    for args, socket in (((), from_file), (("--listen", f"unix:{from_flag}"), from_flag)):
        process = start(tmp_path, "--config", str(conf), *args)
        try:
            wait_until(lambda: answers(socket), timeout=60, interval=0.1)  # noqa: B023 - used at once
            assert not (from_flag if socket == from_file else from_file).exists()
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0


def test_a_bad_file_stops_the_server_before_anything_starts(tmp_path: Path) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text(f'listen = "unix:{tmp_path / "x.sock"}"\nworkers = 4\n')
    result = subprocess.run(
        [str(HAVIP), "serve", "--config", str(conf)],
        env={"HAVIP_HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown key 'workers'" in " ".join(result.stderr.split())
    assert not (tmp_path / "home").exists()  # nothing was created
