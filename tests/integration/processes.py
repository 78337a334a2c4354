"""``havip serve`` as a real process on a given store, for the replica and durability tests.

Each replica listens on a unix socket of its own (no port to race for) and has its
own ``HAVIP_HOME``; its log is a file the failure messages quote. ``Replicas`` is a
context manager that kills whatever it started, also when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from .helpers import Caller, wait_until

HAVIP = Path(sys.executable).with_name("havip")  # the console script of this venv


@dataclass
class Replica:
    name: str
    db_url: str
    root: Path
    process: subprocess.Popen[bytes] | None = None
    clients: list[httpx.Client] = field(default_factory=list)
    log_level: str = "warning"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def socket(self) -> Path:
        return self.root / "api.sock"

    @property
    def log(self) -> Path:
        return self.root / "serve.log"

    def start(self) -> None:
        assert HAVIP.exists(), f"{HAVIP} is missing: install the project into the venv (pip install -e .)"
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        env = {"HAVIP_HOME": str(self.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(HAVIP),
                    "serve",
                    "--db",
                    self.db_url,
                    "--listen",
                    f"unix:{self.socket}",
                    "--log-level",
                    self.log_level,
                ],
                env=env,
                stdout=out,
                stderr=out,
            )
        with self.http() as probe:
            wait_until(lambda: not self.running or healthy(probe), timeout=60, interval=0.05)
        assert self.running, f"replica {self.name} exited with {self.returncode}:\n{self.log_tail()}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        for client in self.clients:
            client.close()
        self.clients.clear()

    def http(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(
            base_url="http://havip", transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=timeout
        )

    def caller(self, token: str | None, timeout: float = 60.0) -> Caller:
        client = self.http(timeout)
        self.clients.append(client)
        return Caller(client, token)

    def credentials(self) -> dict[str, Any]:
        """What this replica wrote on its first start: only the one that bootstrapped the store writes keys."""
        path = self.home / "credentials.json"
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        return data

    def metric(self, name: str) -> float:
        with self.http(5) as client:
            for line in client.get("/metrics").text.splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"replica {self.name} has no metric {name}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class Replicas:
    """``havip serve`` processes on one store; every one is stopped on exit."""

    def __init__(self, db_url: str, root: Path) -> None:
        self.db_url = db_url
        self.root = root
        self.all: list[Replica] = []

    def start(self, name: str) -> Replica:
        replica = Replica(name, self.db_url, self.root / name)
        self.all.append(replica)
        replica.start()
        return replica

    def start_many(self, *names: str) -> list[Replica]:
        """Start several replicas at once (in threads: each takes a second or two to import and bind)."""
        replicas = [Replica(name, self.db_url, self.root / name) for name in names]
        self.all.extend(replicas)
        failures: list[BaseException] = []

        def start(replica: Replica) -> None:
            try:
                replica.start()
            except BaseException as exc:  # re-raised below
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(r,)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        if failures:
            raise failures[0]
        return replicas

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for replica in self.all:
            replica.stop()
