# eokit — `make demo` runs the main job on built-in data; `make test` installs and runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: demo test bench lint format install clean browser postgis

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (eokit needs Python >= 3.11; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-all: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[all]"
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[all,test]"
	@touch $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[all,test,bench]"
	@touch $@

install: $(VENV)/.installed-all

demo: $(VENV)/.installed-all
	$(VENV)/bin/eokit demo --out demo-output

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

# Debian's Chromium, only for the test that renders the demo report; that test skips when it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  timeout 900 sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium' >/dev/null 2>&1; } || \
	  echo "make: Chromium is not installed; the report-rendering test will be skipped"

# Debian's PostgreSQL + PostGIS, only for the pgstac-backend tests (they start their own server); skipped when absent.
postgis:
	@ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  timeout 900 sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-postgis' >/dev/null 2>&1; } || \
	  echo "make: PostgreSQL/PostGIS is not installed; the pgstac tests will be skipped"

# Docstring examples run too (src/conftest.py skips modules whose optional dependencies are missing).
test: lint browser postgis
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)
	$(PY) -m pytest -n 2 -q --doctest-modules src/eokit

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run_all.py --out benchmarks/results/latest.jsonl

clean:
	rm -rf $(VENV) demo-output .pytest_cache
