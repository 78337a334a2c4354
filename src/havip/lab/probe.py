"""A client probing the VIP over one UDP socket, recording who answered.

``python -m havip.lab.probe --target VIP --interval-ms 10 --out FILE`` inside the
client's namespace sends ``<seq> <send time>`` every interval and appends one line per
answer to FILE: ``<seq> <send_ns> <recv_ns> <instance>`` (CLOCK_REALTIME, ns), flushed
per line so the supervisor can read it while the probe runs. Requests that get no
answer simply have no line. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from havip.lab.service import UDP_PORT


@dataclass(frozen=True)
class Answer:
    seq: int
    sent_ns: int
    recv_ns: int
    instance: str


def parse_line(line: str) -> Answer | None:
    parts = line.split()
    if len(parts) != 4:
        return None
    try:
        return Answer(int(parts[0]), int(parts[1]), int(parts[2]), parts[3])
    except ValueError:
        return None


def read_answers(path: Path, since_ns: int = 0) -> list[Answer]:
    if not path.exists():
        return []
    out = []
    with path.open() as f:
        for line in f:
            a = parse_line(line)
            if a is not None and a.sent_ns >= since_ns:
                out.append(a)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    interval_ns = int(args.interval_ms * 1e6)
    out = open(args.out, "a", buffering=1)  # noqa: SIM115 - lives as long as the probe
    seq = 0
    next_send = time.monotonic_ns()
    while running:
        now = time.monotonic_ns()
        if now >= next_send:
            seq += 1
            with contextlib.suppress(OSError):  # no route yet: the answer line is simply missing
                sock.sendto(f"{seq} {time.time_ns()}".encode(), (args.target, UDP_PORT))
            next_send += interval_ns
            if next_send < now:
                next_send = now + interval_ns
        timeout = max(0.0, (next_send - time.monotonic_ns()) / 1e9)
        ready, _, _ = select.select([sock], [], [], timeout)
        while ready:
            try:
                data, _peer = sock.recvfrom(2048)
            except BlockingIOError:
                break
            recv_ns = time.time_ns()
            parts = data.decode(errors="replace").split()
            if len(parts) == 3:
                out.write(f"{parts[1]} {parts[2]} {recv_ns} {parts[0]}\n")
    out.close()
    os._exit(0)


if __name__ == "__main__":
    main()
