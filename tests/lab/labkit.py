"""Lab-tier helpers: real labs (control plane, agent, keepalived) with unique names.

Each lab is built once per test module and always removed, also when a test fails.
Everything runs as root in namespaces the lab creates; a missing tool fails the test.
"""

from __future__ import annotations

import ipaddress
import json
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


class SourceWatch:
    """Every (port, IPv4 source) that entered the given ports of a lab's host, seen before
    the agent's anti-spoofing judges it (a table of the test's own, priority below the
    agent's), and which of them the agent's sets do not allow: so a test that finds a
    ``bad_ip`` drop can say what was dropped, not only how many."""

    def __init__(self, lab: Lab, devices: list[str]) -> None:
        self.lab = lab
        self.table = "lab_srcwatch_" + secrets.token_hex(3)
        self.seen_last: set[tuple[str, str]] = set()
        devs = ", ".join(f'"{d}"' for d in devices)
        rules = (
            f"table netdev {self.table} {{\n"
            "\tset seen { type ifname . ipv4_addr; flags dynamic; size 65535; }\n"
            f"\tchain ingress {{\n\t\ttype filter hook ingress devices = {{ {devs} }} priority -1000; policy accept;\n"
            "\t\tmeta protocol ip add @seen { iifname . ip saddr }\n\t}\n}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", lab.status()["host_namespace"], "nft", "-f", "-"],
            input=rules,
            text=True,
            check=True,
        )

    def seen(self) -> set[tuple[str, str]]:
        out = json.loads(self.lab.host("nft", "-j", "list", "set", "netdev", self.table, "seen"))
        pairs: set[tuple[str, str]] = set()
        for item in out["nftables"]:
            for elem in item.get("set", {}).get("elem", []):
                dev, addr = elem["concat"] if "concat" in elem else elem["elem"]["val"]["concat"]
                pairs.add((dev, addr))
        self.seen_last = pairs
        return pairs

    def refused(self) -> set[tuple[str, str]]:
        """The seen pairs that the agent's ``port_ip`` and ``port_forward`` do not allow (now)."""
        allowed: dict[str, list[ipaddress.IPv4Network]] = {}
        for name in ("port_ip", "port_forward"):
            out = json.loads(self.lab.host("nft", "-j", "list", "set", "netdev", "havip_antispoof", name))
            for item in out["nftables"]:
                for elem in item.get("set", {}).get("elem", []):
                    dev, addr = elem["concat"]
                    net = f"{addr['prefix']['addr']}/{addr['prefix']['len']}" if isinstance(addr, dict) else addr
                    allowed.setdefault(dev, []).append(ipaddress.IPv4Network(net))
        return {
            (dev, src)
            for dev, src in self.seen()
            if not any(ipaddress.IPv4Address(src) in n for n in allowed.get(dev, []))
        }

    def close(self) -> None:
        self.lab.host("nft", "delete", "table", "netdev", self.table)


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
