"""The repository holds source only: no environment, cache or build output is tracked (issue 12).

A tracked virtualenv once made every clone run another checkout's interpreter; this test
reads ``git ls-files`` so that it cannot happen again.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MADE_BY_SCRIPTS = re.compile(
    r"(^|/)(\.venv|venv|env|node_modules|__pycache__|\.mypy_cache|\.ruff_cache|\.pytest_cache|build|dist)/"
    r"|(^|/)pyvenv\.cfg$|\.egg-info(/|$)|\.py[cod]$|\.so$|(^|/)\.state/|\.db$"
)


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


@pytest.mark.parametrize(
    "path, made",
    [
        (".venv/bin/python", True),
        ("sub/venv/lib/x.py", True),
        ("pyvenv.cfg", True),
        ("src/havip.egg-info/PKG-INFO", True),
        ("src/havip/__pycache__/x.cpython-311.pyc", True),
        ("dist/havip-0.1.0.whl", True),
        ("src/havip/cli/main.py", False),
        ("docs/build.md", False),
        ("benchmarks/results/claim.json", False),
    ],
    ids=lambda v: str(v),
)
def test_the_pattern_knows_what_scripts_make(path: str, made: bool) -> None:
    assert bool(MADE_BY_SCRIPTS.search(path)) is made


def test_git_tracks_no_environment_cache_or_build_output() -> None:
    files = tracked_files()
    assert "pyproject.toml" in files  # the listing is real, not empty
    offenders = [name for name in files if MADE_BY_SCRIPTS.search(name)]
    assert offenders == [], f"tracked files that a script makes: {offenders[:10]}"
