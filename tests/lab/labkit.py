"""Lab-tier helpers: real labs (control plane, agent, keepalived) with unique names.

Each lab is built once per test module and always removed, also when a test fails.
Everything runs as root in namespaces the lab creates; a missing tool fails the test.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from havip.lab import control
from havip.lab.spec import LabPaths, LabSpec, namespace_prefix


class Lab:
    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.paths = LabPaths.of(spec.name)

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        return control.request(self.paths, {"op": op, **kw}, timeout=120)

    def status(self) -> dict[str, Any]:
        return self.call("status")["status"]

    def failover(self, mode: str) -> dict[str, Any]:
        return self.call("failover", mode=mode)["failover"]

    def ns(self, instance: str) -> str:
        return next(i["namespace"] for i in self.status()["instances"] if i["name"] == instance)

    def py(self, instance: str, code: str, timeout: float = 20) -> str:
        """Run a Python snippet inside an instance's namespace; returns its stdout."""
        proc = subprocess.run(
            ["ip", "netns", "exec", self.ns(instance), sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def host_counter(self, name: str) -> int:
        out = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.status()["host_namespace"],
                "nft",
                "list",
                "counter",
                "netdev",
                "havip_antispoof",
                name,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
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
