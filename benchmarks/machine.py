"""The machine a benchmark ran on: kernel, CPU, cores, Python, keepalived, date."""

from __future__ import annotations

import datetime as dt
import os
import platform

from havip.lab.procs import run_captured


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _keepalived() -> str:
    try:
        proc = run_captured(["keepalived", "--version"], timeout=5)
    except OSError:
        return "not installed"
    text = (proc.stderr or proc.stdout).strip().splitlines()
    return text[0] if text else "unknown"


def describe() -> dict[str, str | int]:
    """Run with ``run_captured`` so it is safe beside a lab's reaper thread."""
    return {
        "kernel": platform.release(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "keepalived": _keepalived(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
