"""The supervisor's process table: start, signal and reap every child of a lab.

The supervisor makes itself a child subreaper, so orphans (keepalived's VRRP child
when its parent dies) come to it, and reaps them itself at once: this machine's init
reaps orphans late, and a zombie keepalived makes its restart fail with "daemon is
already running" (research/rlab.md). ``Popen.wait`` is never used: one reaper thread
owns ``waitpid`` for the whole process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("havip.lab")

PR_SET_CHILD_SUBREAPER = 36

# Children whose caller waits for them itself (short commands such as ``ip``); the
# reaper leaves them alone so the caller gets their real exit status.
_waited_by_caller: set[int] = set()
_waited_lock = threading.Lock()


def run_captured(args: Sequence[str], timeout: float, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` with output captured (and ``stdin`` fed), safe beside the reaper thread."""
    with _waited_lock:
        child = subprocess.Popen(
            list(args),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _waited_by_caller.add(child.pid)
    try:
        try:
            out, err = child.communicate(input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            raise
        return subprocess.CompletedProcess(list(args), child.returncode, out, err)
    finally:
        with _waited_lock:
            _waited_by_caller.discard(child.pid)


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


@dataclass
class Proc:
    name: str
    argv: list[str]
    pid: int
    log_path: Path
    started: float = field(default_factory=time.time)


class ProcessTable:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, Proc] = {}
        self.exited: dict[int, int] = {}  # pid -> wait status
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="reaper", daemon=True)
        self._reaper.start()

    def _reap_loop(self) -> None:
        while not self._stop.is_set():
            pid = status = 0
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
            if info is not None:
                with _waited_lock:
                    mine = info.si_pid not in _waited_by_caller
                if mine:
                    try:
                        pid, status = os.waitpid(info.si_pid, os.WNOHANG)
                    except ChildProcessError:  # reaped by someone else in between: nothing to record
                        pid = 0
            if pid:
                with self._cond:
                    self.exited[pid] = status
                    self._cond.notify_all()
                name = next((p.name for p in self.procs.values() if p.pid == pid), None)
                if name:
                    log.info("process exited", extra={"proc": name, "pid": pid, "status": status})
                continue
            self._stop.wait(0.02)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.log_dir / f"{name}.log"
        out = open(log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        finally:
            out.close()
        proc = Proc(name, list(argv), child.pid, log_path)
        child.returncode = 0  # the reaper owns waitpid; keep Popen from reaping in __del__
        with self._lock:
            self.procs[name] = proc
        log.info("started %s (pid %d): %s", name, child.pid, " ".join(argv))
        return proc

    def alive(self, pid: int) -> bool:
        with self._lock:
            if pid in self.exited:
                return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while pid not in self.exited:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if pid in self.exited:
                return True
        return not self.alive(pid)

    def signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def stop(self, name: str, timeout: float = 5) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or not self.alive(proc.pid):
            return
        self.signal(proc.pid, signal.SIGTERM)
        if not self.wait_exit(proc.pid, timeout):
            self.signal(proc.pid, signal.SIGKILL)
            self.wait_exit(proc.pid, 2)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)

    def scoped(self, log_dir: Path) -> ProcessTable:
        """A table of its own names and logs that shares this one's reaper: two labs run
        side by side in one process (one reaper per process: two would steal each
        other's children). Closing it stops nothing; ``stop_all`` stops only its own."""
        view = object.__new__(_Scoped)
        view.log_dir, view.procs = log_dir, {}
        view.exited, view._lock, view._cond = self.exited, self._lock, self._cond
        view._stop, view._reaper = self._stop, self._reaper
        return view

    def close(self) -> None:
        self._stop.set()
        self._reaper.join(timeout=1)


class _Scoped(ProcessTable):
    def close(self) -> None:
        pass  # the reaper belongs to the table it came from
