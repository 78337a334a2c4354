"""The CLI's side of a lab: start its supervisor, talk to it, and remove a lab.

``up`` starts the supervisor detached (it outlives the command) and shows its progress
lines until it is ready or has failed. ``request`` sends one JSON request over the
supervisor's socket. ``down`` asks the supervisor to tear down; when there is none (it
crashed, or a build died half-way) it removes what the lab's names point at itself:
its processes, its ``havip-<lab>-*`` namespaces and its state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from havip.lab import netns
from havip.lab.spec import LabPaths, LabSpec, namespace_prefix


class LabError(RuntimeError):
    pass


def running(paths: LabPaths) -> bool:
    try:
        return bool(request(paths, {"op": "ping"}, timeout=2).get("ok"))
    except LabError:
        return False


def up(spec: LabSpec, show: Callable[[str], None], timeout: float = 180) -> None:
    paths = LabPaths.of(spec.name)
    if running(paths):
        raise LabError(f"lab {spec.name} is already up; 'havip lab down --name {spec.name}' removes it")
    leftovers = [ns for ns in netns.list_namespaces() if ns.startswith(namespace_prefix(spec.name))]
    if leftovers or paths.root.exists():
        show(f"removing what an earlier lab {spec.name} left behind")
        down(spec.name, show)
    paths.root.mkdir(parents=True, mode=0o755)
    paths.progress.write_text("")
    log = (paths.root / "supervisor.out").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "havip.lab.supervisor", "--spec", spec.to_json()],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd="/",
    )
    log.close()
    paths.record.write_text(json.dumps({"supervisor": proc.pid, "spec": json.loads(spec.to_json())}))
    seen = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = paths.progress.read_text().splitlines() if paths.progress.exists() else []
        for line in lines[seen:]:
            if line == "READY":
                return
            if line.startswith("FAILED"):
                raise LabError(
                    f"lab {spec.name} failed to build: {line.removeprefix('FAILED: ')} "
                    f"(logs in {paths.root}; 'havip lab down --name {spec.name}' removes them)"
                )
            show(line)
        seen = len(lines)
        if proc.poll() is not None:
            raise LabError(f"the lab supervisor exited ({proc.returncode}); see {paths.root}/supervisor.out")
        time.sleep(0.1)
    raise LabError(f"lab {spec.name} was not ready after {timeout:g} s (see {paths.root})")


def request(paths: LabPaths, body: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    if not paths.socket.exists():
        raise LabError(f"no lab is running at {paths.root} ('havip lab up' starts one)")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(paths.socket))
            sock.sendall((json.dumps(body) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise LabError(f"the lab's supervisor does not answer ({exc}); 'havip lab down' cleans up") from exc
    answer: dict[str, Any] = json.loads(data or b"{}")
    if not answer.get("ok"):
        raise LabError(str(answer.get("error", "the supervisor refused the request")))
    return answer


def down(name: str, show: Callable[[str], None]) -> None:
    paths = LabPaths.of(name)
    supervisor = _supervisor_pid(paths)
    if running(paths):
        request(paths, {"op": "down"}, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and supervisor is not None and not _gone(supervisor):
            time.sleep(0.05)
    _kill_leftovers(paths, show)
    for ns in netns.list_namespaces():
        if ns.startswith(namespace_prefix(name)):
            for pid in netns.run(["ip", "netns", "pids", ns], check=False).stdout.split():
                _kill(int(pid), f"process {pid} in {ns}", show)
            show(f"deleting namespace {ns}")
            netns.delete(ns)
    if paths.root.exists():
        shutil.rmtree(paths.root, ignore_errors=True)


def _supervisor_pid(paths: LabPaths) -> int | None:
    try:
        return int(json.loads(paths.record.read_text())["supervisor"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _gone(pid: int) -> bool:
    """Exited (a zombie counts: this machine's init reaps orphans late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _kill_leftovers(paths: LabPaths, show: Callable[[str], None]) -> None:
    """Kill processes whose command line names this lab's state directory or namespaces."""
    for pid_dir in os.listdir("/proc"):
        if not pid_dir.isdigit() or int(pid_dir) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid_dir}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if names_lab(cmd, paths):
            _kill(int(pid_dir), f"leftover process {pid_dir}: {cmd[:80]}", show)


def names_lab(cmd: str, paths: LabPaths) -> bool:
    """Does command line ``cmd`` belong to the lab of ``paths``: a path under its state
    directory (the trailing '/' keeps lab ``a`` from matching ``ab``'s), one of its
    namespaces, or its supervisor?"""
    root, name = str(paths.root), paths.root.name
    in_root = f"{root}/" in cmd or cmd.rstrip().endswith(root) or f"{root} " in cmd
    supervisor = "havip.lab.supervisor" in cmd and f'"name": "{name}"' in cmd
    return in_root or f" {namespace_prefix(name)}" in cmd or supervisor


def _kill(pid: int, what: str, show: Callable[[str], None]) -> None:
    if pid == os.getpid():
        return
    show(f"stopping {what}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
