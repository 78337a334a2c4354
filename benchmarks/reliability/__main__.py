"""Run the reliability matrices: ``python -m benchmarks.reliability [--tiny] [--only faults,attacks]``.

Each selected group injects its faults or attacks in real labs, prints its rows as a
table, and writes ``<out>/reliability-<group>.json``; then ``RELIABILITY.md`` is
regenerated from every such file in ``<out>``. Needs root (network namespaces,
keepalived); everything it builds lives in ``havip-r*`` namespaces and is removed on
exit, also after a failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks import machine
from benchmarks.labs import BenchTable
from benchmarks.reliability import GROUPS, REQUIRED, report
from benchmarks.reliability.faults import ROWS_ENV, SOAK_ENV
from havip.lab.procs import become_subreaper

ROOT = Path(__file__).resolve().parent.parent.parent


def progress(line: str) -> None:
    print(f"  . {line}", file=sys.stderr, flush=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def table(rows: list[dict[str, object]]) -> str:
    """What the terminal shows: one line per row."""
    head = f"{'matrix':<7} {'row':<40} {'times':>5}  verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['matrix']!s:<7} {r['name']!s:<40} {r['times']!s:>5}  {r['verdict']}: {r['why']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="each fault once or twice, small labs (the test suite's)")
    parser.add_argument("--only", default="", help=f"comma-separated groups: {', '.join(GROUPS)} (default: all)")
    parser.add_argument(
        "--out", type=Path, default=None, help="results directory (default: benchmarks/results; with --tiny a temp one)"
    )
    parser.add_argument("--report", type=Path, default=None, help="the report (default: RELIABILITY.md, or <out>/...)")
    parser.add_argument(
        "--soak", type=int, default=None, help="failovers in the faults group's soak (default 1,000; --tiny 10)"
    )
    parser.add_argument(
        "--rows",
        default="",
        help="comma-separated row names: run only the labs that give them and replace those rows in the "
        "group's existing results (the faults group; the others run whole)",
    )
    args = parser.parse_args(argv)
    rows_only = [r for r in args.rows.split(",") if r]
    if rows_only:
        known = {name for name, _what in REQUIRED}
        bad = [r for r in rows_only if r not in known]
        if bad:
            parser.error(f"unknown row(s) {', '.join(bad)}")
        os.environ[ROWS_ENV] = ",".join(rows_only)
    if args.soak is not None:
        if args.soak < 1:
            parser.error("--soak needs at least one failover")
        os.environ[SOAK_ENV] = str(args.soak)
    if args.out is None:  # a smoke run never overwrites the committed results
        args.out = Path(tempfile.mkdtemp(prefix="havip-rel-tiny-")) if args.tiny else ROOT / "benchmarks" / "results"
    if args.report is None:
        args.report = args.out / "RELIABILITY.md" if args.tiny else ROOT / "RELIABILITY.md"
    names = [n for n in args.only.split(",") if n] or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    info = machine.describe()
    become_subreaper()
    logs = Path(tempfile.mkdtemp(prefix="havip-rel-"))
    procs = BenchTable(logs)
    failed = False
    try:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                module = importlib.import_module(f"benchmarks.reliability.{name}")
                rows = module.run(args.tiny, procs, progress)
            except Exception as exc:
                print(f"group {name} failed: {type(exc).__name__}: {exc} (process logs in {logs})", file=sys.stderr)
                failed = True
                continue
            path = args.out / f"reliability-{name}.json"
            if rows_only and path.exists():  # the other rows of the group stay as they were measured
                rerun = {r["name"] for r in rows}
                kept = [r for r in json.loads(path.read_text())["rows"] if r["name"] not in rerun]
                rows = kept + rows
            result = {"group": name, "machine": info, "tiny": args.tiny, "rows": rows}
            (args.out / f"reliability-{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(table(rows), flush=True)
    finally:
        procs.stop_all()
        procs.close()
    report.write(args.out, args.report)
    print(f"wrote {args.report} and {args.out}/", flush=True)
    if not failed:
        shutil.rmtree(logs, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
