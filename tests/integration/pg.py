"""A throwaway PostgreSQL cluster for the integration tier.

``start()`` runs Debian's ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when we
are root: initdb refuses root) in a fresh directory under /tmp, and starts the server
on a unix socket in that directory only (``listen_addresses=''``: no TCP at all).
The conftest starts one cluster per test session, migrates a template database once,
and gives each test a database of its own made with ``CREATE DATABASE ... TEMPLATE``
(about 25 ms), dropped after the test.

The cluster runs with ``fsync=off``: it is thrown away, and what the durability tests
kill is ``havip serve``, never PostgreSQL, so every committed transaction is still in
the server's WAL (the operating system keeps what fsync would have forced out).

Every cluster directory holds an ``owner`` file with the pid of the test process; a
later run stops and removes clusters whose owner is gone (a run killed with SIGKILL
cannot clean up after itself). Missing binaries raise ``PostgresMissing`` with what
to install: the tests then fail, they never skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PREFIX = "havip-pg-"
SEARCH = "/usr/lib/postgresql"
INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
SERVER_OPTIONS = {
    "listen_addresses": "''",
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "log_min_messages": "warning",
}


class PostgresMissing(RuntimeError):
    pass


def find_bindir() -> Path:
    """Where initdb, pg_ctl and postgres are: $HAVIP_PG_BINDIR, Debian's newest version, or PATH."""
    given = os.environ.get("HAVIP_PG_BINDIR")
    candidates = [Path(given)] if given else []
    versions = sorted(Path(SEARCH).glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates += versions
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresMissing(
        "PostgreSQL server binaries not found (initdb, pg_ctl, postgres): looked in $HAVIP_PG_BINDIR, "
        f"{SEARCH}/*/bin and PATH. Install Debian's postgresql package (./scripts/setup.sh does) "
        "or point HAVIP_PG_BINDIR at a PostgreSQL bin directory."
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", name)) or (0,)


@dataclass
class PgCluster:
    root: Path
    bindir: Path
    user: str | None  # run the server as this user (None: as ourselves)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def admin(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(self.root), user="postgres", dbname=database, autocommit=True)

    def run(self, tool: str, *args: str, timeout: float = 120) -> None:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(self.bindir / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"},
            **kwargs,
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}\n{tail}")

    def create_database(self, template: str | None = None) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove the directory; safe to call twice."""
        if self.running:
            try:
                self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")
            except (RuntimeError, subprocess.TimeoutExpired):
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> PgCluster:
    """Initialise and start a cluster in a new directory under /tmp; stop it with ``stop()``."""
    bindir = find_bindir()
    sweep_stale()
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / "owner").write_text(str(os.getpid()))
    cluster = PgCluster(root=root, bindir=bindir, user=user)
    try:
        if user is not None:
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                raise PostgresMissing(
                    "there is no 'postgres' user to run PostgreSQL as (initdb refuses root): "
                    "install Debian's postgresql package (./scripts/setup.sh does)"
                ) from None
            os.chown(root, pw.pw_uid, pw.pw_gid)
        cluster.run("initdb", "-D", str(cluster.data), *INITDB_OPTIONS)
        options = " ".join(f"-c {k}={v}" for k, v in {**SERVER_OPTIONS, "unix_socket_directories": root}.items())
        cluster.run("pg_ctl", "start", "-D", str(cluster.data), "-l", str(cluster.log), "-w", "-t", "60", "-o", options)
        cluster.running = True
    except BaseException:
        cluster.running = True  # stop() tolerates a server that never started
        cluster.stop()
        raise
    return cluster


def sweep_stale() -> None:
    """Stop and remove clusters left by test runs that died without cleaning up."""
    for root in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        owner = root / "owner"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if _alive(pid):
            continue
        bindir = find_bindir()
        user = "postgres" if os.geteuid() == 0 else None
        PgCluster(root=root, bindir=bindir, user=user, running=(root / "data" / "postmaster.pid").exists()).stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
