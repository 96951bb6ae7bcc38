# Two commands on a fresh machine: `make demo` and `make test`. Everything else installs itself first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint format run sql bench reliability clean old-duckdb

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,postgres,dagster]'
	@touch $(STAMP)

demo: install
	$(PY) -m pipelines demo

# An older DuckDB (1.4, what BI drivers bundle) in its own small venv: tests/test_serving.py opens every file
# we publish with it, and fails when it is missing.
OLD_DUCKDB := build/duckdb14/.installed-stamp
$(OLD_DUCKDB):
	$(PYTHON) -m venv build/duckdb14
	build/duckdb14/bin/python -m pip install --quiet --disable-pip-version-check duckdb==1.4.4
	@touch $@

old-duckdb: $(OLD_DUCKDB)

test: install chromium $(OLD_DUCKDB)
	$(PY) -m pytest -n 2 -q

# The report's browser test needs Debian's chromium; as root (CI) install it, else say how.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "make test: chromium is missing and the report's browser test will fail; install it with: sudo apt-get install -y chromium"; fi; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy sources pipelines simulators bench deploy/dagster

bench: install
	$(PY) -m bench.pinogy_sync
	$(PY) -m bench.pinnacle_cart
	$(PY) -m bench.pinnacle_floor
	$(PY) -m bench.models
	$(PY) -m bench.api_economy

reliability: install
	rm -rf build/reliability
	RELIABILITY_OUT=build/reliability $(PY) -m pytest -n 2 -q -m fault
	$(PY) -m tests.reliability_report build/reliability docs/RELIABILITY.md

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

run: install
	$(PY) -m pipelines run

# DuckDB's shell, read-only, on the serving file of warehouse.duckdb (or demo.duckdb): `make sql DB=x.duckdb`.
DB ?= $(if $(wildcard warehouse.duckdb),warehouse.duckdb,demo.duckdb)
sql: install
	$(PY) -m pipelines sql --db $(DB)

clean:
	rm -rf demo.duckdb demo.duckdb.wal demo.serving.duckdb .demo.dlt .pytest_cache
