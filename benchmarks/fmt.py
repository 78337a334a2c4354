"""Shared formatting for the benchmarks' terminal tables, ``BENCHMARKS.md`` and plots.

Every benchmark module renders its own section with these helpers (see
``benchmarks.registry``); nothing here runs anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the headless back-end

DIST_HEAD = "| | n | min | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|"


@dataclass
class Section:
    """What one benchmark adds to the report: rows of the targets table, its body, notes."""

    summary: list[str] = field(default_factory=list)  # "| #n name | target | result |" rows
    body: list[str] = field(default_factory=list)  # markdown lines (tables, images)
    notes: list[str] = field(default_factory=list)  # "Notes on method" bullets (without "- ")


def f(x: Any, digits: int = 2) -> str:
    """A number for a table; ``-`` for none or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def dist_row(label: str, s: dict[str, float], digits: int = 2) -> str:
    """One row under ``DIST_HEAD`` from a ``stats.summary(...).as_dict()``."""
    return (
        f"| {label} | {int(s['n'])} | {f(s['min'], digits)} | {f(s['p50'], digits)} | {f(s['p90'], digits)} "
        f"| {f(s['p99'], digits)} | {f(s['max'], digits)} |"
    )


def ci(i: dict[str, float] | None, digits: int = 2) -> str:
    """``estimate [low, high]`` from a ``stats.Interval.as_dict()``."""
    if not i:
        return "-"
    return f"{f(i['estimate'], digits)} [{f(i['low'], digits)}, {f(i['high'], digits)}]"


def verdict(t: dict[str, Any], unit: str = "ms") -> str:
    """``**met**`` / ``**missed** (by X unit)`` / ``**not shown**`` from a target dict
    {what, met, by_ms?, undecided?} (``stats.judge_below`` makes one)."""
    if t["met"]:
        return "**met**"
    if t.get("undecided"):
        return "**not shown** (the 95% interval holds the limit)"
    by = t.get("by_ms", t.get("by"))
    return f"**missed** (by {f(by)} {unit})" if by is not None else "**missed**"


def machine_line(r: dict[str, Any]) -> str:
    m = r["machine"]
    size = " (tiny sizes: a smoke run, not a measurement)" if r.get("tiny") else ""
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, Python {m['python']}, "
        f"{m['keepalived']}; run {m['date']}{size}."
    )


def cdf(ax: Any, values: list[float], label: str) -> None:
    v = sorted(values)
    if v:
        ax.step(v, [(i + 1) / len(v) for i in range(len(v))], where="post", label=label)


def save(fig: Any, path: Any) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def figure(width: float = 6, height: float = 3.5, cols: int = 1) -> tuple[Any, Any]:
    """A figure with ``cols`` axes side by side (a list of axes)."""
    fig, axes = plt.subplots(1, cols, figsize=(width * cols, height), squeeze=False)
    return fig, list(axes[0])
