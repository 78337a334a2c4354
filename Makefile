# Thin targets over scripts/. The README's two commands call the scripts directly
# (a fresh Debian machine may not have make).
.PHONY: setup demo test lint unit fmt bench reliability

setup:
	bash scripts/setup.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	.venv/bin/ruff check src tests scripts benchmarks
	.venv/bin/ruff format --check src tests scripts benchmarks
	.venv/bin/mypy
	.venv/bin/lint-imports

unit:
	.venv/bin/python -m pytest tests/unit -q

fmt:
	.venv/bin/ruff check --fix src tests scripts benchmarks
	.venv/bin/ruff format src tests scripts benchmarks

# Benchmarks (root): tables, benchmarks/results/*.json and BENCHMARKS.md; ARGS="--tiny --only claim"
bench:
	.venv/bin/python -m benchmarks.run $(ARGS)

# The reliability report (root): faults and attacks in real labs, RELIABILITY.md; ARGS="--tiny --only attacks"
reliability:
	.venv/bin/python -m benchmarks.reliability $(ARGS)
