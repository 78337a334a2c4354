"""Lab-tier helpers: real labs (control plane, agent, keepalived) with unique names.

Each lab is built once per test module and always removed, also when a test fails.
Everything runs as root in namespaces the lab creates; a missing tool fails the test.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from havip.lab import control
from havip.lab.spec import LabPaths, LabSpec, namespace_prefix

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


class Lab:
    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.paths = LabPaths.of(spec.name)

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        return control.request(self.paths, {"op": op, **kw}, timeout=120)

    def status(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.call("status")["status"])

    def failover(self, mode: str, **options: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self.call("failover", mode=mode, **options)["failover"])

    def ns(self, instance: str) -> str:
        return str(next(i["namespace"] for i in self.status()["instances"] if i["name"] == instance))

    def remove(self) -> str:
        """Take the scenario's EIP or route entry away (through the lab's API)."""
        return str(self.call("remove")["removed"])

    def py(self, instance: str, code: str, timeout: float = 20) -> str:
        """Run a Python snippet inside an instance's namespace; returns its stdout."""
        return self.py_in(self.ns(instance), code, timeout)

    def py_in(self, namespace: str, code: str, timeout: float = 20) -> str:
        """Run a Python snippet inside any of the lab's namespaces; returns its stdout."""
        proc = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def host(self, *argv: str) -> str:
        """A command's output in the lab's host namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.status()["host_namespace"], *argv], capture_output=True, text=True, check=True
        ).stdout

    def host_counter(self, name: str, family: str = "netdev", table: str = "havip_antispoof") -> int:
        out = self.host("nft", "list", "counter", family, table, name)
        return int(out.split("packets")[1].split()[0])


def build(**spec: Any) -> Iterator[Lab]:
    name = "t" + secrets.token_hex(3)
    lab = Lab(LabSpec(name=name, **spec))
    try:
        control.up(lab.spec, lambda _line: None)
        yield lab
    finally:
        control.down(name, lambda _line: None)
        left = [
            n
            for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
            if n.startswith(namespace_prefix(name))
        ]
        assert not left, f"lab {name} left namespaces behind: {left}"
