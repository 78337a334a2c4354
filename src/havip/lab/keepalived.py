"""Running keepalived in a lab instance, and breaking it the ways a failover test needs.

keepalived runs as ``ip netns exec NS keepalived -P -n -l -D`` (VRRP only, no fork,
log to the console) with its own pid files, so several run side by side. A crash
kills the VRRP child (SIGKILL of the parent alone is a graceful stop, research/rlab.md).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from havip.lab.netns import exec_args
from havip.lab.procs import Proc, ProcessTable

NOTIFY = """#!/bin/sh
# keepalived notify: TYPE NAME STATE PRIORITY -> the instance's state file
echo "$3" > {state}
"""


@dataclass
class Keepalived:
    instance: str
    netns: str
    conf: Path
    state_file: Path
    run_dir: Path
    proc: Proc | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"keepalived-{self.instance}.pid"

    @property
    def vrrp_pid_file(self) -> Path:
        return self.run_dir / f"vrrp-{self.instance}.pid"

    @property
    def notify_script(self) -> Path:
        return self.run_dir / f"notify-{self.instance}.sh"

    def write_notify(self) -> None:
        self.notify_script.write_text(NOTIFY.format(state=self.state_file))
        os.chmod(self.notify_script, 0o755)

    def start(self, table: ProcessTable) -> None:
        for stale in (self.pid_file, self.vrrp_pid_file):
            stale.unlink(missing_ok=True)
        self.state_file.write_text("STARTING\n")
        argv = exec_args(
            self.netns,
            "keepalived",
            "-P",
            "-n",
            "-l",
            "-D",
            "-f",
            str(self.conf),
            "-p",
            str(self.pid_file),
            "-r",
            str(self.vrrp_pid_file),
        )
        self.proc = table.start(f"keepalived-{self.instance}", argv)

    def vrrp_pid(self, timeout: float = 5.0) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return int(self.vrrp_pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                time.sleep(0.02)
        return None

    def state(self, table: ProcessTable) -> str:
        if self.proc is None or not table.alive(self.proc.pid):
            return "DOWN"
        try:
            return self.state_file.read_text().strip() or "UNKNOWN"
        except FileNotFoundError:
            return "UNKNOWN"

    def crash(self, table: ProcessTable) -> None:
        """A real crash: no priority-0 advert, the VIP left on the interface."""
        assert self.proc is not None
        child = self.vrrp_pid(1.0)
        table.signal(self.proc.pid, signal.SIGSTOP)  # keep the parent from restarting the child
        if child:
            table.signal(child, signal.SIGKILL)
        table.signal(self.proc.pid, signal.SIGKILL)
        self._reap(table, child)

    def freeze(self) -> None:
        assert self.proc is not None
        child = self.vrrp_pid(1.0)
        for pid in (child, self.proc.pid):
            if pid:
                os.kill(pid, signal.SIGSTOP)

    def kill_frozen(self, table: ProcessTable) -> None:
        assert self.proc is not None
        child = self.vrrp_pid(0.1)
        for pid in (child, self.proc.pid):
            if pid:
                table.signal(pid, signal.SIGKILL)
        self._reap(table, child)

    def stop(self, table: ProcessTable) -> None:
        if self.proc is None:
            return
        child = self.vrrp_pid(0.1)
        table.stop(f"keepalived-{self.instance}")
        if child and table.alive(child):
            table.signal(child, signal.SIGKILL)
        self._reap(table, child)

    def _reap(self, table: ProcessTable, child: int | None) -> None:
        assert self.proc is not None
        table.wait_exit(self.proc.pid, 5)
        if child:
            table.wait_exit(child, 5)
        table.procs.pop(f"keepalived-{self.instance}", None)
        for stale in (self.pid_file, self.vrrp_pid_file):
            stale.unlink(missing_ok=True)
