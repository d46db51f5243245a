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
SCALES ?= 1,200,2000
# `make query` opens the published lakehouse; LAKEHOUSE=build opens the build a run left (a failed one).
LAKEHOUSE ?= published

export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export JUMP_DATA_DIR ?= $(CURDIR)/data
export JUMP_DUCKDB_PATH ?= $(JUMP_DATA_DIR)/lakehouse/lakehouse.duckdb
export JUMP_DASHBOARD_PORT ?= 8501

# JUMP_WAREHOUSE=postgres without a server given (JUMP_POSTGRES_URL or PGHOST): the local one of
# `make postgres`, started first by every target that loads the code location.
WAREHOUSE_SERVER := $(if $(filter postgres,$(JUMP_WAREHOUSE)),$(if $(JUMP_POSTGRES_URL)$(PGHOST),,postgres))

MANIFEST := dbt_project/target/manifest.json
SOURCES_YML := dbt_project/models/staging/_sources.yml
DBT_FILES := $(shell find dbt_project -type f \( -name '*.sql' -o -name '*.yml' \) -not -path '*/target/*' 2>/dev/null)

.PHONY: help install instance sources-yml prepare run extract load transform export rollback test lint format dev query docs dashboard postgres postgres-stop spark spark-stop sync bench bench-engines clean clean-instance

# `make help`: the targets by group, "Start here" first, aligned; a target in no group shows last.
HELP_GROUPS := Start here=run dev dashboard query help;Steps of a run=extract load transform export rollback;Docs, reverse ETL and services=docs sync postgres postgres-stop spark spark-stop;Develop=install prepare sources-yml test lint format bench bench-engines;Clean up=clean clean-instance

help: ## List the targets
	@awk -v groups='$(HELP_GROUPS)' 'BEGIN { FS = ":.*## " } \
		/^[a-z-]+:.*## / { order[++n] = $$1; help[$$1] = $$2; if (length($$1) > width) width = length($$1) } \
		END { count = split(groups, group, ";"); \
			for (g = 1; g <= count; g++) { split(group[g], parts, "="); printf "%s%s:\n", (g > 1 ? "\n" : ""), parts[1]; \
				listed = split(parts[2], names, " "); \
				for (i = 1; i <= listed; i++) { shown[names[i]] = 1; printf "  make %-*s  %s\n", width, names[i], help[names[i]] } } \
			for (i = 1; i <= n; i++) if (!(order[i] in shown)) { if (!other++) printf "\nOther:\n"; printf "  make %-*s  %s\n", width, order[i], help[order[i]] } }' $(MAKEFILE_LIST)

# One line for the whole install, uv's list of packages left out (VERBOSE=1 shows it): the first
# time takes minutes. uv itself is installed first, into .tools, when it is missing.
$(VENV)/.installed: pyproject.toml uv.lock
	@echo "Installing the locked dependencies into $(VENV) (the first time: a few minutes, ~2 GB)..."
	@test -x $(UV) || { $(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	@$(UV) sync --frozen $(if $(VERBOSE),,--quiet)
	@touch $@

install: $(VENV)/.installed ## Install uv and the locked dependencies into .venv

# dbt's sources, with one test per business rule, are generated from the Python contracts: the one
# declaration of each source table. Rewritten (and the manifest with it) when the contracts change.
$(SOURCES_YML): jump_platform/sources/contracts.py jump_platform/sources/dbt_sources.py $(VENV)/.installed
	$(PY) -m jump_platform.sources.dbt_sources
	@touch $@

sources-yml: $(VENV)/.installed ## Write dbt's sources and their rules (_sources.yml) from jump_platform/sources/contracts.py
	$(PY) -m jump_platform.sources.dbt_sources

# Parsed with every profile setting runs give dbt (defs/transform/resources.py: dbt_env: the build
# path, the memory cap), so that their first dbt call parses the project partially too; for
# DuckDB's `build` target whatever JUMP_WAREHOUSE says (see jump_platform/runner/prepare.py).
$(MANIFEST): $(VENV)/.installed $(SOURCES_YML) $(DBT_FILES)
	@echo "Parsing the dbt project (once per change of it)..."
	@$(PY) -m jump_platform.runner.prepare
	@touch $@

# $(DAGSTER_HOME)/dagster.yaml: instance/dagster.yaml, plus PostgreSQL storage with
# JUMP_DAGSTER_POSTGRES_URL; rewritten (and the instance prepared) only when that text changes.
instance: $(VENV)/.installed
	@$(PY) -m jump_platform.runner.instance

prepare: $(MANIFEST) instance $(WAREHOUSE_SERVER) ## Prepare the dbt manifest and the Dagster instance

# One line per step, then a summary; VERBOSE=1 shows Dagster's and dbt's full output instead.
# FULL_REFRESH=1 rebuilds the incremental dbt models whole (dbt's --full-refresh).
RUN = $(PY) -m jump_platform.runner.cli run $(if $(VERBOSE),--verbose) $(if $(FULL_REFRESH),--full-refresh)

run: prepare ## Build the whole lakehouse: extract, load, transform, export (VERBOSE=1: full logs; FULL_REFRESH=1: rebuild the incremental models whole)
	@$(RUN) refresh

extract: prepare ## Write demo extracts to data/sources/
	@$(RUN) extract

load: prepare ## Load whatever waits in data/sources/ into the sources schema
	@$(RUN) load

transform: prepare ## Build the dbt models: staging, intermediate, marts
	@$(RUN) transform

export: prepare ## Rewrite the CSV exports in data/exports/
	@$(RUN) export

rollback: install $(WAREHOUSE_SERVER) ## Put the previously published lakehouse (and its exports) back
	$(PY) -m jump_platform.runner.cli rollback

# The tests run on every core (pytest-xdist; TEST_WORKERS=n for another count): the lakehouses they
# share are built once per run (conftest.py: built_once), and the tests sharing a module's fixture run
# on one worker (--dist loadgroup). PYTEST_ARGS passes more, e.g. PYTEST_ARGS='-m "not slow"'.
test: prepare ## Run the test suite in parallel, then list its 15 slowest tests
	$(VENV)/bin/pytest -n $(or $(TEST_WORKERS),auto) --dist loadgroup --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# sqlfluff compiles the models with dbt (its dbt templater) on an in-memory DuckDB: no lakehouse needed.
SQLFLUFF = cd dbt_project && JUMP_BUILD_DUCKDB_PATH=:memory: $(VENV)/bin/sqlfluff

lint: install ## Lint: ruff (lint and format check) and the import layers (import-linter) on the Python code, sqlfluff on the dbt models
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(SQLFLUFF) lint --disable-progress-bar models exports

format: install ## Fix what the linters can: ruff's fixes and format, sqlfluff fix
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(SQLFLUFF) fix --disable-progress-bar models exports

# Automation (the sensors that launch runs, and the schedules) starts off here: nothing runs that
# nobody asked for. JUMP_AUTOMATION=on make dev turns it on; deployments (the Docker image) have it on.
# A busy port stops here at once, before the webserver and the daemon start.
dev: prepare ## Start the Dagster UI and daemon (dg dev) on http://127.0.0.1:3000 (PORT=3001; JUMP_AUTOMATION=on)
	@$(PY) -m jump_platform.runner.ports --port $(or $(PORT),3000) --variable PORT --target dev
	# dagster-dbt re-parses the dbt project under `dg dev` with the `dbt` found on PATH; dg runs the
	# project's own .venv.
	PATH="$(VENV)/bin:$$PATH" VIRTUAL_ENV=$(VENV) JUMP_AUTOMATION=$(or $(JUMP_AUTOMATION),off) \
		$(VENV)/bin/dg dev -h 127.0.0.1 -p $(or $(PORT),3000)

# Read-only: any number of shells may stay open, and runs never wait for them (they write a build copy).
# The shell is the engine's (jump_platform/runner/query.py asks jump_platform/engines/): DuckDB's CLI,
# psql on PostgreSQL's published schemas (or the build's), a hint on Spark. A fresh clone, with no
# lakehouse folder yet, hears "run make run" before anything is installed.
query: ## Open a read-only SQL shell on the published lakehouse (SCHEMA=marts, LAKEHOUSE=build)
	@test -d $(dir $(JUMP_DUCKDB_PATH)) || { echo "No lakehouse in $(dir $(JUMP_DUCKDB_PATH)): run 'make run' first."; exit 1; }
	@$(MAKE) --no-print-directory install $(WAREHOUSE_SERVER) > /dev/null
	@$(PY) -m jump_platform.runner.query --schema $(SCHEMA) $(if $(filter build,$(LAKEHOUSE)),--build)

# Without a lakehouse yet (fresh clone), the docs are generated against an empty in-memory DuckDB:
# every model, column and description shows, only the table statistics are missing.
# With a lakehouse, dbt reads the published file through the profile's `published` target, read-only.
docs: prepare ## Generate the dbt docs and serve them on http://127.0.0.1:8080 (PORT=8081)
	@$(PY) -m jump_platform.runner.ports --port $(or $(PORT),8080) --variable PORT --target docs
	@test -f $(JUMP_DUCKDB_PATH) || echo "No lakehouse at $(JUMP_DUCKDB_PATH) yet: docs without table statistics ('make run' builds it)."
	cd dbt_project && if test -f $(JUMP_DUCKDB_PATH); then \
		$(VENV)/bin/dbt docs generate --profiles-dir . --target published; \
	else JUMP_BUILD_DUCKDB_PATH=:memory: $(VENV)/bin/dbt docs generate --profiles-dir .; fi
	cd dbt_project && $(VENV)/bin/dbt docs serve --profiles-dir . --host 127.0.0.1 --port $(or $(PORT),8080) --no-browser

# The dashboard reads its own copy of the marts (the dashboard/marts asset, written by `make run`);
# a lakehouse newer than the copy, or no copy at all, gets the copy refreshed first. A fresh clone, with
# no lakehouse folder yet, hears "run make run" before anything is installed; whether the engine has
# published anything is runner.dashboard's question.
dashboard: ## Serve the dashboard on http://127.0.0.1:8501 (PORT=8502, or JUMP_DASHBOARD_PORT)
	@test -d $(dir $(JUMP_DUCKDB_PATH)) || { echo "No lakehouse published yet: run 'make run' first."; exit 1; }
	@$(MAKE) --no-print-directory prepare
	$(PY) -m jump_platform.runner.dashboard --refresh $(if $(PORT),--port $(PORT))

postgres: install ## Start a throwaway PostgreSQL (the CRM) on 127.0.0.1:55432 (JUMP_POSTGRES_PORT), in data/postgres/
	$(PY) -m jump_platform.local_services.postgres start

postgres-stop: install ## Stop the PostgreSQL of `make postgres`
	$(PY) -m jump_platform.local_services.postgres stop

spark: install ## Start a Spark standalone cluster on 127.0.0.1: a master (SPARK_PORT=7077, web UI SPARK_UI_PORT=8080) and two workers
	$(PY) -m jump_platform.local_services.spark start --port $(or $(SPARK_PORT),7077) --ui-port $(or $(SPARK_UI_PORT),8080)

spark-stop: install ## Stop the Spark cluster of `make spark`
	$(PY) -m jump_platform.local_services.spark stop

sync: prepare ## Run the reverse ETL syncs: the CRM (PostgreSQL) and finance's KPI endpoint
	$(PY) -m jump_platform.runner.sync

bench: prepare ## Time every step of a run at several scales (SCALES=1,200,2000: demo, ~1M, ~10M invoices)
	$(PY) -m jump_platform.bench --scales $(SCALES) $(if $(RUNS),--runs $(RUNS))

# The scales of `make bench-engines`: the demo unless SCALES is given (SCALES=1,200 adds ~1M invoices).
ENGINE_SCALES = $(if $(filter command line environment,$(origin SCALES)),$(SCALES),1)

bench-engines: prepare ## `make run` on DuckDB, PostgreSQL, Spark and a Spark cluster side by side: time and peak memory (SCALES=1)
	$(PY) -m jump_platform.bench --engines duckdb,postgres,spark,spark-cluster --scales $(ENGINE_SCALES) $(if $(RUNS),--runs $(RUNS))

clean: ## Remove data/ (the lakehouse, extracts, exports and the PostgreSQL of `make postgres`); ALL=1 also the instance
	@if [ -x $(PY) ] && [ -d data/postgres ]; then $(PY) -m jump_platform.local_services.postgres stop; fi
	@if [ -x $(PY) ] && [ -d data/spark-cluster ]; then $(PY) -m jump_platform.local_services.spark stop; fi
	rm -rf data
	$(if $(ALL),rm -rf $(DAGSTER_HOME))

clean-instance: ## Reset the Dagster instance (DAGSTER_HOME, default .dagster_home): run history, catalog, cursors, toggles
	rm -rf $(DAGSTER_HOME)
