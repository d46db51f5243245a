"""DuckDB, the default engine: the lakehouse is one file, the build a copy of it."""

from __future__ import annotations

from pathlib import Path

from jump_platform import settings
from jump_platform.engines.base import Engine, NoLakehouseError, QueryShell, duckdb_cli
from jump_platform.io_manager import LakehouseIOManager
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import DuckDBFiles, TableStore
from jump_platform.warehouses import Warehouse
from jump_platform.warehouses.duckdb import DuckDBWarehouse


class DuckDB(Engine):
    name = "duckdb"
    dbt_target = "build"
    failed_build_hint = "It stays as it is until the next run, to inspect: make query LAKEHOUSE=build"
    publishes_file = True

    def io_manager(self, landing: str) -> LakehouseIOManager:
        # The load lets DuckDB read the claimed files of the landing zone (its default readable
        # directory) straight into the tables.
        return LakehouseIOManager(database=str(settings.build_duckdb_path()), connection_config=settings.duckdb_config())

    def build_warehouse(self, database: str, connection_config: dict[str, str]) -> Warehouse:
        return DuckDBWarehouse(database=database, connection_config=connection_config)

    def published_warehouse(self) -> None:
        return None

    def table_store(self) -> TableStore:
        return DuckDBFiles()

    def location(self) -> str:
        return str(settings.duckdb_path())

    def state_folder(self, lakehouse_folder: Path) -> Path:
        """The lakehouse folder itself: `lakehouse.duckdb` links to `current/lakehouse.duckdb`, as
        before there were other engines, so readers of the file are unchanged."""
        return lakehouse_folder

    def published_changed_at(self, layout: Layout) -> float | None:
        return layout.published.stat().st_mtime if layout.published.exists() else None

    def query_shell(self, schema: str, build: bool) -> QueryShell:
        path = settings.build_duckdb_path() if build else settings.duckdb_path()
        if not path.exists():
            raise NoLakehouseError(f"No lakehouse at {path}: run 'make run' first.")
        memory = settings.duckdb_memory_limit()
        return QueryShell(
            [duckdb_cli(), "-readonly", str(path), "-cmd", f"set memory_limit = '{memory}'; use {schema}; show tables;"]
        )
