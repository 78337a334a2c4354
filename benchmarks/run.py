"""Run the benchmarks: ``python -m benchmarks.run [--tiny] [--only claim,failover]``.

Each selected benchmark runs, prints its table, and writes
``<out>/<name>.json`` (with the machine it ran on); then the report
(``BENCHMARKS.md`` and its PNG plots) is regenerated from every JSON in ``<out>``.
Needs root (network namespaces, keepalived); everything it builds lives in
``havip-b*`` namespaces and is removed on exit, also after a failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks import machine, report
from benchmarks.labs import BenchTable
from benchmarks.registry import BY_NAME, ENTRIES
from havip.lab.procs import become_subreaper

ROOT = Path(__file__).resolve().parent.parent


def progress(line: str) -> None:
    print(f"  . {line}", file=sys.stderr, flush=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C (a background job ignores SIGINT)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the smallest sizes (what the test suite runs)")
    built = [e.name for e in ENTRIES if e.module() is not None]
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(built)} (default: all)")
    parser.add_argument(
        "--out", type=Path, default=None, help="results directory (default: benchmarks/results; with --tiny a temp one)"
    )
    parser.add_argument("--report", type=Path, default=None, help="the report (default: BENCHMARKS.md, or <out>/...)")
    args = parser.parse_args(argv)
    if args.out is None:  # a smoke run never overwrites the committed full-size results
        args.out = Path(tempfile.mkdtemp(prefix="havip-bench-tiny-")) if args.tiny else ROOT / "benchmarks" / "results"
    if args.report is None:
        args.report = args.out / "BENCHMARKS.md" if args.tiny else ROOT / "BENCHMARKS.md"
    names = [n for n in args.only.split(",") if n] or built
    unknown = [n for n in names if n not in built]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(built)}")
    lacking = {n: [c for c in BY_NAME[n].needs if shutil.which(c) is None] for n in names}
    lacking = {n: cs for n, cs in lacking.items() if cs}
    if lacking:
        what = "; ".join(f"{n} needs {', '.join(cs)}" for n, cs in lacking.items())
        parser.error(f"missing commands: {what} (run `bash scripts/setup.sh --bench`)")
    args.out.mkdir(parents=True, exist_ok=True)
    info = machine.describe()
    become_subreaper()
    logs = Path(tempfile.mkdtemp(prefix="havip-bench-"))
    table = BenchTable(logs)
    failed = False
    try:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                module = BY_NAME[name].module()
                assert module is not None
                result = module.run(args.tiny, table, progress)
            except Exception as exc:
                print(f"benchmark {name} failed: {type(exc).__name__}: {exc} (process logs in {logs})", file=sys.stderr)
                failed = True
                continue
            result.update({"machine": info, "tiny": args.tiny})
            (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(report.table(BY_NAME[name], result), flush=True)
    finally:
        table.stop_all()
        table.close()
    report.write(args.out, args.report)
    print(f"wrote {args.report} and {args.out}/", flush=True)
    if not failed:
        shutil.rmtree(logs, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
