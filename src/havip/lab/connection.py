"""A TCP connection held open across a failover, and how it ended.

``python -m havip.lab.connection --target EIP --out FILE`` inside a namespace (the lab's
internet client) connects to the lab service's TCP echo, sends one line, writes
``open <name> <ns>`` once the answer names who served it, then waits without sending
anything, as a download or a long poll would, and writes how the wait ended:
``reset <ns>``, ``closed <ns>``, ``data <ns>`` or ``hang <ns>`` (nothing within
``--timeout``). Times are CLOCK_REALTIME nanoseconds. The supervisor reads the file
with ``read_held``.
"""

from __future__ import annotations

import argparse
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from havip.lab.service import TCP_ECHO_PORT


@dataclass(frozen=True)
class Held:
    opened_with: str | None  # who answered the first line
    opened_ns: int | None
    outcome: str | None  # reset | closed | data | hang | failed; None while it waits
    ended_ns: int | None


def read_held(path: Path) -> Held:
    opened_with = opened_ns = outcome = ended_ns = None
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "open":
            opened_with, opened_ns = parts[1], int(parts[2])
        elif len(parts) >= 2 and parts[0] in ("reset", "closed", "data", "hang", "failed"):
            outcome, ended_ns = parts[0], int(parts[1])
    return Held(opened_with, opened_ns, outcome, ended_ns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, default=TCP_ECHO_PORT)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    with open(args.out, "a", buffering=1) as out:
        try:
            conn = socket.create_connection((args.target, args.port), timeout=5)
            conn.sendall(b"hello\n")
            name = conn.recv(2048).split()[0].decode()
        except (OSError, IndexError) as exc:
            out.write(f"failed {time.time_ns()} {exc!r}\n")
            return
        out.write(f"open {name} {time.time_ns()}\n")
        conn.settimeout(args.timeout)
        try:
            outcome = "data" if conn.recv(2048) else "closed"
        except ConnectionResetError:
            outcome = "reset"
        except TimeoutError:
            outcome = "hang"
        out.write(f"{outcome} {time.time_ns()}\n")


if __name__ == "__main__":
    main()
