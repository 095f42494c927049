# One entry point for people and CI. Every target creates .venv on first use.
#   make lab     open the workbook in JupyterLab
#   make test    lint, then every suite: unit, integration, DynamoDB Local, browser, notebooks
#   make lint    ruff + mypy (fast; run it before the slow suites)
#   make bench   the local gateway's fan-out benchmark (prints a table)
#   make serve   run the local API Gateway on 127.0.0.1:8765

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: help venv lab test lint format unit notebooks browser bench serve clean

help:
	@sed -n '1,8p' Makefile | sed 's/^# \{0,1\}//'

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(PY_STAMP)

# Jupyter refuses to run as root without --allow-root (containers, CI, cloud shells).
LAB_AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(PY_STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_AS_ROOT)

lint: $(PY_STAMP)
	$(BIN)/ruff format --check reference tests
	$(BIN)/ruff check reference tests
	$(BIN)/mypy

format: $(PY_STAMP)
	$(BIN)/ruff format reference tests
	$(BIN)/ruff check --fix reference tests

unit: $(PY_STAMP) $(NODE_STAMP)
	$(PYTEST) tests -m "not notebooks and not browser"

browser: $(PY_STAMP) $(NODE_STAMP)
	$(PYTEST) tests -m browser

notebooks: $(PY_STAMP)
	$(PYTEST) tests -m notebooks

test: lint unit browser notebooks

bench: $(PY_STAMP)
	$(BIN)/python benchmarks/fanout.py $(BENCH_ARGS)

serve: $(PY_STAMP)
	$(BIN)/wsrelay serve

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
