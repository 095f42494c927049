# One entry point for people and CI. Every target creates .venv on first use.
#   make lab          open the workbook in JupyterLab (installs only what the notebooks need)
#   make test         lint, then every suite: unit, integration, DynamoDB Local, browser, notebooks, book
#   make lint         ruff + mypy + actionlint + nbstripout (fast; run it before the slow suites)
#   make unit         the tests that need no server (fast: the connection core, rules, templates)
#   make integration  the tests that run gateways, moto servers, DynamoDB Local, wscat
#   make book         the notebooks as a static site in _build/html (warnings are errors)
#   make bench        the local gateway's fan-out benchmark (prints a table)
#   make soak         a few minutes of churn against the gateway; prints what is left (SOAK_ARGS)
#   make serve        run the local API Gateway on 127.0.0.1:8765
#   make constraints  re-pin constraints.txt from a clean install of .[dev]

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The versions CI tested: every install below is held to them (`make constraints` renews).
CONSTRAINTS := constraints.txt
PIP := $(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS)
LAB_STAMP := $(VENV)/.installed-notebooks
PY_STAMP := $(VENV)/.installed-dev
NODE_STAMP := node_modules/.installed
PYTEST := $(BIN)/python -m pytest
REPORTS := _build/reports

.PHONY: help venv lab-install lab test lint format unit integration notebooks browser book bench soak serve constraints clean

help:
	@sed -n '/^#/!q;p' Makefile | sed 's/^# \{0,1\}//'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# The learner's install: the `notebooks` extra only (no Node, Java, Chromium or test tools).
$(LAB_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e '.[notebooks]'
	@touch $@

# Everything the tests, lint and benchmarks need.
$(PY_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(LAB_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lab-install: $(LAB_STAMP)

venv: $(PY_STAMP)

# Jupyter refuses to run as root without --allow-root (containers, CI, cloud shells).
LAB_AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_AS_ROOT)

NOTEBOOKS := notebooks/[0-9][0-9]_*.ipynb

lint: $(PY_STAMP)
	$(BIN)/ruff format --check reference tests notebooks benchmarks
	$(BIN)/ruff check reference tests notebooks benchmarks
	$(BIN)/mypy
	$(BIN)/actionlint
	$(BIN)/nbstripout --keep-output --keep-count --keep-id --verify $(NOTEBOOKS)

format: $(PY_STAMP)
	$(BIN)/ruff format reference tests benchmarks
	$(BIN)/ruff check --fix reference tests benchmarks
	$(BIN)/nbstripout --keep-output --keep-count --keep-id $(NOTEBOOKS)

# Tests are marked (pyproject.toml): `integration` for any that starts a server.
unit: $(PY_STAMP) $(NODE_STAMP)
	$(PYTEST) tests -m "not integration and not notebooks and not browser" --junitxml=$(REPORTS)/unit.xml

integration: $(PY_STAMP) $(NODE_STAMP)
	$(PYTEST) tests -m "integration and not notebooks and not browser" --junitxml=$(REPORTS)/integration.xml

browser: $(PY_STAMP) $(NODE_STAMP)
	$(PYTEST) tests -m browser --junitxml=$(REPORTS)/browser.xml

notebooks: $(PY_STAMP)
	WSRELAY_REPORTS=$(REPORTS) $(PYTEST) tests -m notebooks --junitxml=$(REPORTS)/notebooks.xml

# The rendered book: mystmd, from the notebooks' stored outputs (nothing is executed).
book: $(NODE_STAMP)
	node book/build.mjs

test: lint unit integration browser notebooks book

bench: $(PY_STAMP)
	$(BIN)/python benchmarks/fanout.py $(BENCH_ARGS)

soak: $(PY_STAMP)
	$(BIN)/python benchmarks/soak.py $(SOAK_ARGS)

serve: $(LAB_STAMP)
	$(BIN)/wsrelay serve

# A clean venv, .[dev] at the newest versions pyproject.toml allows, frozen. Review the
# diff, run `make test`, and commit constraints.txt with what it changed.
CONSTRAINTS_VENV := _build/constraints-venv
constraints:
	rm -rf $(CONSTRAINTS_VENV)
	$(PYTHON) -m venv $(CONSTRAINTS_VENV)
	$(CONSTRAINTS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CONSTRAINTS_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# The versions CI tested: a clean install of .[dev] on Python 3.11, Linux x86_64."; \
	  echo "# Used by make, .ci/run, binder/postBuild and the CI workflow. Renew: make constraints"; \
	  $(CONSTRAINTS_VENV)/bin/python -m pip freeze --all --exclude-editable | grep -v -E '^(setuptools|wheel)=='; \
	} > $(CONSTRAINTS)
	rm -rf $(CONSTRAINTS_VENV)

clean:
	rm -rf $(VENV) node_modules _build .pytest_cache .mypy_cache .ruff_cache
