# Thin targets over scripts/. The README's two commands are `make demo` and `make test`.
.PHONY: setup demo test lint check unit fmt

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

lint:
	.venv/bin/ruff check src tests scripts
	.venv/bin/ruff format --check src tests scripts
	.venv/bin/mypy
	.venv/bin/lint-imports

test: setup lint
	.venv/bin/python scripts/run_tests.py

unit:
	.venv/bin/python -m pytest tests/unit -q

fmt:
	.venv/bin/ruff check --fix src tests scripts
	.venv/bin/ruff format src tests scripts
