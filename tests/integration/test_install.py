"""``pip install .`` gives a working installation that needs no source tree.

The module builds a wheel from the files git tracks (copied to a temporary folder, so
the build can neither read nor leave anything in this checkout), installs it with
``--no-deps`` into a fresh venv, and gives that venv the project venv's dependencies
through one ``.pth`` line (a plain path line: the project venv's own ``.pth`` files, among
them the editable install of this checkout, are not processed). Every command then runs
from a cwd outside the source tree, and the test checks that ``havip`` is imported from
the new venv.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .helpers import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    scratch: Path  # a folder outside the source tree, the commands' cwd

    @property
    def havip(self) -> Path:
        return self.venv / "bin" / "havip"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVIP_", "PYTHON", "VIRTUAL_ENV"))}
        return {**env, "HAVIP_HOME": str(self.scratch / "home"), **extra}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.havip), *args],
            cwd=self.scratch,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def build_wheel(into: Path) -> Path:
    """A wheel of the tracked files, built offline (no build isolation) in a copy of the tree."""
    tree = into / "tree"
    for name in tracked_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    dist = into / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"building the wheel failed:\n{proc.stdout}\n{proc.stderr}"
    (wheel,) = dist.glob("havip-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("install")
    assert not base.resolve().is_relative_to(ROOT), "the scratch folder must lie outside the source tree"
    wheel = build_wheel(base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    proc = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"installing the wheel failed:\n{proc.stdout}\n{proc.stderr}"
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the dependencies: the project venv's site-packages, after the new venv's own
    (Path(purelib) / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    scratch = base / "cwd"
    scratch.mkdir()
    yield Installed(wheel, venv, scratch)


def test_the_wheel_holds_the_package_and_every_file_it_ships_but_no_tests(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"havip", f"havip-{VERSION}.dist-info"}, f"unexpected top-level entries in the wheel: {tops}"
    shipped = {f"havip/{name.removeprefix('src/havip/')}" for name in tracked_files() if name.startswith("src/havip/")}
    missing = sorted(shipped - set(names))
    assert not missing, f"tracked files under src/havip not in the wheel (add them to package-data): {missing}"
    assert "havip/store/migrations/script.py.mako" in names
    assert any(name.startswith("havip/store/migrations/versions/0001_") for name in names)


def test_installed_havip_is_imported_from_the_new_venv(installed: Installed) -> None:
    proc = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import havip, havip.store.migrate as m; print(havip.__file__); print(m.MIGRATIONS)",
        ],
        cwd=installed.scratch,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    module, migrations = proc.stdout.split()
    assert Path(module).is_relative_to(installed.venv), module
    assert Path(migrations).is_relative_to(installed.venv) and Path(migrations, "env.py").is_file(), migrations


def test_version_comes_from_the_package_metadata(installed: Installed) -> None:
    proc = installed.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"havip {VERSION}\n"


def test_db_upgrade_migrates_a_fresh_sqlite_file(installed: Installed) -> None:
    db = installed.scratch / "upgrade.db"
    proc = installed.run("db", "upgrade", "--db", f"sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    shown = installed.run("db", "show", "--db", f"sqlite:///{db}")
    assert shown.returncode == 0, shown.stderr
    heads = sorted(p.name.split("_")[0] for p in (ROOT / "src/havip/store/migrations/versions").glob("0*.py"))
    assert heads[-1] in shown.stdout, shown.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_and_answers_healthz(installed: Installed) -> None:
    port = free_port()
    log = installed.scratch / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(installed.havip),
                "serve",
                "--listen",
                f"127.0.0.1:{port}",
                "--db",
                f"sqlite:///{installed.scratch / 'serve.db'}",
            ],
            cwd=installed.scratch,
            env=installed.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy() -> bool:
            assert proc.poll() is None, f"havip serve exited {proc.returncode}:\n{log.read_text()}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30, interval=0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()
