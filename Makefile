# The Jump lakehouse. `make help` lists the targets; `make run` and `make test` are all a new
# machine needs (python3 and make): the first call installs uv and the locked dependencies.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
SCHEMA ?= marts

export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export JUMP_DATA_DIR ?= $(CURDIR)/data
export JUMP_DUCKDB_PATH ?= $(JUMP_DATA_DIR)/lakehouse/lakehouse.duckdb

MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -type f \( -name '*.sql' -o -name '*.yml' \) -not -path '*/target/*' 2>/dev/null)

.PHONY: help install prepare run extract load transform export test dev query docs bench bench-engines clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed ## Install uv and the locked dependencies into .venv

$(MANIFEST): $(VENV)/.installed $(DBT_FILES)
	$(VENV)/bin/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

prepare: $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml ## Prepare the dbt manifest and the Dagster instance

run: prepare ## Build the whole lakehouse: extract, load, transform, export
	$(PY) -m jump_platform.cli run refresh

extract: prepare ## Write demo extracts to data/sources/
	$(PY) -m jump_platform.cli run extract

load: prepare ## Load whatever waits in data/sources/ into the sources schema
	$(PY) -m jump_platform.cli run load

transform: prepare ## Build the dbt models: staging, intermediate, marts
	$(PY) -m jump_platform.cli run transform

export: prepare ## Rewrite the CSV exports in data/exports/
	$(PY) -m jump_platform.cli run export

test: prepare ## Run the test suite
	$(VENV)/bin/pytest

dev: prepare ## Start the Dagster UI and daemon on http://127.0.0.1:3000
	# dagster-dbt re-parses the dbt project under `dagster dev` with the `dbt` found on PATH.
	PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

query: install ## Open a read-only SQL shell on the lakehouse (SCHEMA=marts by default)
	@test -f $(JUMP_DUCKDB_PATH) || { echo "No lakehouse at $(JUMP_DUCKDB_PATH): run 'make run' first."; exit 1; }
	$(VENV)/bin/duckdb -readonly $(JUMP_DUCKDB_PATH) -cmd "use $(SCHEMA); show tables;"

# Without a lakehouse yet (fresh clone), the docs are generated against an empty in-memory DuckDB:
# every model, column and description shows, only the table statistics are missing.
docs: prepare ## Generate the dbt docs and serve them on http://127.0.0.1:8080
	@test -f $(JUMP_DUCKDB_PATH) || echo "No lakehouse at $(JUMP_DUCKDB_PATH) yet: docs without table statistics ('make run' builds it)."
	cd dbt_project && JUMP_DUCKDB_PATH="$$(test -f $(JUMP_DUCKDB_PATH) && echo $(JUMP_DUCKDB_PATH) || echo :memory:)" \
		$(VENV)/bin/dbt docs generate --profiles-dir .
	cd dbt_project && $(VENV)/bin/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8080 --no-browser

bench: prepare ## Benchmark generation and load at 1M and 10M invoices, then `make run` on each warehouse
	$(PY) -m jump_platform.bench
	$(PY) -m jump_platform.bench_engines $(if $(SCALES),--scales $(SCALES))

bench-engines: prepare ## `make run` on DuckDB, PostgreSQL and Spark: wall time and peak memory (SCALES="1 200")
	$(PY) -m jump_platform.bench_engines $(if $(SCALES),--scales $(SCALES))

clean: ## Remove data/ (the lakehouse, extracts and exports)
	rm -rf data
