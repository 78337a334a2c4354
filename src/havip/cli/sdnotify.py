"""systemd readiness (``Type=notify``): ``sd_notify`` over ``$NOTIFY_SOCKET``, no dependency.

systemd hands a service the path of a unix datagram socket in ``NOTIFY_SOCKET`` (a
leading ``@`` names an abstract socket); the service sends ``READY=1`` when it can do
its work and ``STOPPING=1`` when it begins to stop. Without ``NOTIFY_SOCKET`` (not run
by systemd, or another ``Type=``) every call does nothing. ``havip serve`` notifies
once the store is migrated and its socket listens (:func:`run_uvicorn`), ``havip agent``
once its first reconcile is applied (:func:`notify_when`). deploy/systemd/ has the units.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from havip import logs
from havip.cli.exits import ExitCode

log = logging.getLogger("havip.sdnotify")


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``) to systemd; ``False`` when there is no one to tell.

    A failure to send is logged and never raised: readiness must not kill the service."""
    path = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        logs.event(log, "sd-notify-failed", level=logging.WARNING, socket=path, message=message, error=str(exc))
        return False
    return True


def notify_when(ready: Callable[[], bool], stop: threading.Event, interval: float = 0.05) -> threading.Thread:
    """A daemon thread that sends ``READY=1`` once ``ready()`` holds (never if ``stop`` is set first)."""

    def watch() -> None:
        while not stop.is_set():
            if ready():
                notify("READY=1")
                return
            stop.wait(interval)

    thread = threading.Thread(target=watch, name="havip-sdnotify", daemon=True)
    thread.start()
    return thread


def run_uvicorn(app: Any, **options: Any) -> None:
    """``uvicorn.run(app, **options)`` that sends READY=1 once the socket listens, STOPPING=1 at shutdown."""
    import uvicorn

    class NotifyingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                notify("READY=1")

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            notify("STOPPING=1")
            await super().shutdown(sockets)

    config = uvicorn.Config(app, **options)
    server = NotifyingServer(config)
    try:
        server.run()
    finally:
        if config.uds and os.path.exists(config.uds):
            os.remove(config.uds)
    if not server.started:
        raise SystemExit(
            ExitCode.STARTUP_FAILED
        )  # = uvicorn's STARTUP_FAILURE (3): it logged why (e.g. the address is in use)
