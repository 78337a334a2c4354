#!/usr/bin/env bash
# Sets up this machine (scripts/setup.sh) and runs every check and every test tier:
# lint (ruff, mypy --strict, import-linter), then unit, integration, kernel and lab
# tests in one pytest run with a per-tier count. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> lint: ruff, mypy --strict, import-linter"
.venv/bin/ruff check src tests scripts benchmarks
.venv/bin/ruff format --check src tests scripts benchmarks
.venv/bin/mypy
.venv/bin/lint-imports
echo "==> tests"
exec .venv/bin/python scripts/run_tests.py "$@"
