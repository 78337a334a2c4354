"""A thread that lives inside one named network namespace and runs the agent's kernel work.

``setns(2)`` moves only the calling thread, so the data plane owns one dedicated worker
thread, moves it into ``/run/netns/<name>`` once, checks it got there and is not in the
namespace the process started in, and runs every netlink call, sysctl write, ``nft``
child process and socket creation on it. Sockets created there stay bound to that
namespace whichever thread later reads them. Used only by ``havip.agent.dataplane``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from havip.agent.kernel import DataplaneError

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def _netns_inode(path: str) -> int:
    return os.stat(path).st_ino


def in_initial_namespace() -> bool:
    """Whether this process runs in the machine's initial network namespace (PID 1's).

    Where PID 1's namespace cannot be read (some sandboxes hide it), only a namespace named
    under /run/netns (``ip netns exec NAME``) counts as surely not the initial one."""
    mine = _netns_inode("/proc/self/ns/net")
    try:
        return mine == _netns_inode("/proc/1/ns/net")
    except PermissionError:
        try:
            named = [os.path.join("/run/netns", n) for n in os.listdir("/run/netns")]
        except FileNotFoundError:
            return True
        return not any(_netns_inode(path) == mine for path in named if os.path.exists(path))


class Netns:
    """Run callables inside the network namespace ``name`` (never the process's own)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = f"/run/netns/{name}"
        if not os.path.exists(self.path):
            raise DataplaneError(f"network namespace {name!r} does not exist ({self.path})")
        self._origin = _netns_inode("/proc/self/ns/net")
        if _netns_inode(self.path) == self._origin:
            raise DataplaneError(f"refusing to work in {name!r}: it is the namespace the agent runs in")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"netns-{name}", initializer=self._enter)

    @classmethod
    def own(cls, *, allow_initial: bool = False) -> Netns:
        """Work in the namespace the process runs in (a real hypervisor's agent, or one started
        with ``ip netns exec HOST``).

        Refused in the machine's initial namespace (PID 1's) unless ``allow_initial``, so that
        a test or a lab can never configure the machine it runs on by forgetting ``--netns``."""
        if not allow_initial and in_initial_namespace():
            raise DataplaneError(
                "refusing to configure the machine's initial network namespace: on a hypervisor whose root "
                "namespace is the host, pass --allow-initial-netns; in a test or lab, run the agent with "
                "`ip netns exec HOST havip agent ...` or pass --netns HOST"
            )
        self = cls.__new__(cls)
        self.name, self.path = "self", "/proc/self/ns/net"
        self._origin = _netns_inode(self.path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netns-self")
        return self

    def _enter(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns({self.path}): {os.strerror(err)}")
        finally:
            os.close(fd)
        here = _netns_inode("/proc/thread-self/ns/net")
        if here != _netns_inode(self.path) or here == self._origin:
            raise OSError("setns did not move the worker thread into the target namespace")

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the namespace's thread and return its result."""
        return self._pool.submit(fn, *args).result()

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """Like ``run`` but returns at once with a future."""
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
