"""Every private Dagster name the platform uses, in one place (checked against Dagster 1.13.27 and
dagster-dbt 0.29.27; `jump_platform_tests/test_compat.py` fails, naming the missing one, when an
upgrade removes or renames any of them).

Each is here because Dagster offers no public API for it (as of that version):
- `DbIOManager`, `DbTypeHandler`, `TableSlice`: the database IO manager that dagster-duckdb's own
  IO managers are built on, which `jump_platform.io_manager` extends with atomic batch writes;
- `backoff`: Dagster's retry helper, which dagster-duckdb uses to wait for a locked DuckDB file;
- `CheckRunHealthResult`, `WorkerStatus`: what a run launcher's health check returns
  (`jump_platform.runner.launcher.JumpRunLauncher`);
- `set_auto_materialize_paused`: the instance-wide switch of the auto-materialize daemon
  (`jump_platform.runner.instance`, `make prepare`);
- `SqliteEventLogStorage`, `INDEX_SHARD_NAME`, `SQLITE_BUSY_TIMEOUT_SECONDS`: Dagster's SQLite
  event log, its index file's name and its lock timeout, which `jump_platform.runner.event_log`
  extends with kept connections.

And the private methods the platform overrides (`OVERRIDDEN`): dagster-dbt's `DbtCliResource`
runs `dbt --version` and loads an adapter before each command (`defs/transform/resources.py`);
`SqliteEventLogStorage` connects anew for each write (`runner/event_log.py`, which also calls its
`_initdb`).
"""

from __future__ import annotations

from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._daemon.asset_daemon import set_auto_materialize_paused
from dagster._utils.backoff import backoff
from dagster_dbt import DbtCliResource

# The versions these names were checked against.
CHECKED_AGAINST = {"dagster": "1.13.27", "dagster-dbt": "0.29.27"}

# Private methods overridden by a subclass here: (class, method name).
OVERRIDDEN = [
    (DbtCliResource, "_cli_version"),
    (DbtCliResource, "_initialize_dbt_core_adapter"),
    (SqliteEventLogStorage, "_connect"),
    (SqliteEventLogStorage, "_initdb"),
]

__all__ = [
    "CHECKED_AGAINST",
    "INDEX_SHARD_NAME",
    "OVERRIDDEN",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "CheckRunHealthResult",
    "DbIOManager",
    "DbTypeHandler",
    "SqliteEventLogStorage",
    "TableSlice",
    "WorkerStatus",
    "backoff",
    "set_auto_materialize_paused",
]
