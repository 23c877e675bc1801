# One command for contributors: `make lint`, `make test-fast`, `make test`. Run from the repository root with the
# project's environment active (pip install -e ".[dev]").
.PHONY: lint test test-fast format

PY ?= python

lint:  ## the checks CI runs before the tests: layers, lint, format, types
	lint-imports
	ruff check .
	ruff format --check .
	mypy

format:  ## rewrite the code in the house format
	ruff format .

test-fast: lint  ## everything except headless Chromium and the slow tests
	$(PY) -m pytest -q -x -p no:cacheprovider -m "not browser and not slow"

test: lint  ## the whole suite, as CI runs it
	$(PY) -m pytest -q -x -p no:cacheprovider
