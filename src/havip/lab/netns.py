"""Network namespaces and veth pairs for the lab, through iproute2's ``ip`` command.

Every name the lab creates starts with ``havip-<lab>-`` so ``down`` can find what a
crashed lab left. Nothing here touches the root namespace: veth pairs are created
with both ends placed directly into lab namespaces.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from havip.lab.procs import run_captured


class NetnsError(RuntimeError):
    pass


def run(
    args: Sequence[str], *, check: bool = True, timeout: float = 10, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = run_captured(args, timeout, stdin)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return run([*prefix, *args], check=check)


def exec_args(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


def list_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def create(name: str) -> None:
    if name in list_namespaces():
        raise NetnsError(
            f"network namespace {name} already exists (another lab of the same name? try 'havip lab down')"
        )
    run(["ip", "netns", "add", name])
    ip("link", "set", "lo", "up", netns=name)
    sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1")
    sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1")


def delete(name: str) -> None:
    run(["ip", "netns", "delete", name], check=False)


def sysctl(netns: str, key: str, value: str) -> None:
    run(exec_args(netns, "sysctl", "-q", "-w", f"{key}={value}"))


def veth(host_ns: str, host_dev: str, inst_ns: str, inst_dev: str = "eth0", mac: str | None = None) -> None:
    """A veth pair with one end in the host namespace and the other in the instance's."""
    ip("link", "add", host_dev, "type", "veth", "peer", "name", inst_dev, "netns", inst_ns, netns=host_ns)
    if mac:
        ip("link", "set", inst_dev, "address", mac, netns=inst_ns)


def configure_instance(netns: str, dev: str, address: str, prefixlen: int, gateway: str) -> None:
    ip("addr", "add", f"{address}/{prefixlen}", "dev", dev, netns=netns)
    ip("link", "set", dev, "up", netns=netns)
    ip("route", "replace", "default", "via", gateway, "dev", dev, netns=netns)
