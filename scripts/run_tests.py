"""Runs the whole test suite once and reports how many tests each tier ran.

Tiers are the folders under tests/ (unit, integration, kernel, lab). A tier folder
that holds tests but ran none fails the run, as does any failure or error; skips are
reported and also fail the run (a test that cannot run must fail, not skip).
Called by ``make test`` (the README's test command) and so by .ci/run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("unit", "integration", "kernel", "lab")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", f"--junitxml={junit}", "-o", "junit_family=xunit2", *sys.argv[1:]]
        print("==> " + " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, cwd=ROOT)
        if not junit.exists():
            print("error: pytest wrote no report", file=sys.stderr)
            return rc or 1
        ran: Counter[str] = Counter()
        bad: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for case in ET.parse(junit).getroot().iter("testcase"):
            classname = case.get("classname", "")
            parts = classname.split(".")
            tier = parts[1] if len(parts) > 1 and parts[0] == "tests" else "other"
            if case.find("skipped") is not None:
                skipped[tier] += 1
                continue
            ran[tier] += 1
            if case.find("failure") is not None or case.find("error") is not None:
                bad[tier] += 1
    print("\n tier          ran  failed  skipped")
    ok = rc == 0
    for tier in TIERS:
        present = any((ROOT / "tests" / tier).glob("test_*.py"))
        mark = "" if present else "  (no tests yet)"
        print(f" {tier:<12} {ran[tier]:>4}  {bad[tier]:>6}  {skipped[tier]:>7}{mark}")
        if present and ran[tier] == 0:
            print(f"error: the {tier} tier has tests but ran none", file=sys.stderr)
            ok = False
        if skipped[tier]:
            print(f"error: {skipped[tier]} {tier} test(s) skipped; tests must fail, not skip", file=sys.stderr)
            ok = False
    return 0 if ok else (rc or 1)


if __name__ == "__main__":
    sys.exit(main())
