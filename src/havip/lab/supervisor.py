"""The lab supervisor: one long-lived process that builds a lab, owns and reaps all of
its processes, answers the CLI over a unix socket, and tears everything down.

Started by ``havip lab up`` as ``python -m havip.lab.supervisor --spec JSON``. It
writes progress lines to ``progress.log`` (the CLI shows them), then serves requests
(``status``, ``failover``, ``remove``, ``down``) on ``supervisor.sock``: one JSON object per line
in, one per line out. Every process of the lab (control plane, agent, keepalived,
services, probe) is its child; it is a child subreaper, so orphans come to it too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socketserver
import sys
import threading
import traceback
from typing import Any

from havip.lab.build import LabBuilder
from havip.lab.failover import FailoverError, Failures
from havip.lab.procs import ProcessTable, become_subreaper
from havip.lab.spec import LabPaths, LabSpec

log = logging.getLogger("havip.lab")


class Supervisor:
    def __init__(self, spec: LabSpec, paths: LabPaths) -> None:
        self.spec = spec
        self.paths = paths
        self.table = ProcessTable(paths.root)
        self.builder = LabBuilder(spec, paths, self.table, self.progress)
        self.failures = Failures(self.builder)
        self._lock = threading.Lock()
        self.done = threading.Event()

    def progress(self, line: str) -> None:
        log.info(line)
        with self.paths.progress.open("a") as f:
            f.write(line + "\n")

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True}
        if op == "status":
            return {"ok": True, "status": self.builder.status()}
        if op == "failover":
            with self._lock:
                try:
                    result = self.failures.failover(
                        str(request.get("mode", "kill")),
                        request.get("instance"),
                        control_plane_down=bool(request.get("control_plane_down", False)),
                    )
                except FailoverError as exc:
                    return {"ok": False, "error": str(exc)}
            return {"ok": True, "failover": result}
        if op == "remove":  # the scenario's EIP or route entry (tests: the host forgets it)
            with self._lock:
                try:
                    return {"ok": True, "removed": self.builder.scenario.remove(self.builder)}
                except ValueError as exc:
                    return {"ok": False, "error": str(exc)}
        if op == "down":
            threading.Thread(target=self.shutdown, daemon=True).start()
            return {"ok": True}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def shutdown(self) -> None:
        with self._lock:
            self.progress("tearing down")
            self.builder.teardown()
            self.done.set()


def listen(sup: Supervisor) -> socketserver.ThreadingUnixStreamServer:
    """Bind the control socket (before READY is announced, so the CLI can talk at once)."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline()
            try:
                answer = sup.handle(json.loads(line))
            except Exception as exc:  # the CLI gets the error; the lab keeps running
                log.exception("request failed")
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.wfile.write((json.dumps(answer) + "\n").encode())

    sock = sup.paths.socket
    sock.unlink(missing_ok=True)
    server = socketserver.ThreadingUnixStreamServer(str(sock), Handler)
    server.daemon_threads = True
    os.chmod(sock, 0o600)
    return server


def serve(sup: Supervisor, server: socketserver.ThreadingUnixStreamServer) -> None:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    sup.progress("READY")
    sup.done.wait()
    server.shutdown()
    server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True, help="the lab's LabSpec as JSON")
    args = parser.parse_args(argv)
    spec = LabSpec.from_json(args.spec)
    paths = LabPaths.of(spec.name)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s supervisor %(levelname)s %(message)s",
        handlers=[logging.FileHandler(paths.root / "supervisor.log")],
    )
    become_subreaper()
    sup = Supervisor(spec, paths)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=sup.shutdown, daemon=True).start())
    try:
        sup.builder.build()
    except Exception as exc:
        sup.progress(f"FAILED: {exc}")
        log.error("build failed:\n%s", traceback.format_exc())
        sup.builder.teardown(keep_logs=True)
        return 1
    serve(sup, listen(sup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
