"""The default engine: the lakehouse is one DuckDB file, read here directly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field

from jump_platform.exports import export_csv
from jump_platform.sql import qualified
from jump_platform.warehouses.base import Warehouse, facts


def duckdb_table_facts(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Column schema of a relation of a DuckDB connection, and its row count if it is a table; {}
    if there is no such relation."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    [(kind,)] = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()
    rows = con.execute(f"select count(*) from {qualified(schema, table)}").fetchone()[0] if kind == "BASE TABLE" else None
    return facts(columns, rows)


class DuckDBWarehouse(Warehouse):
    """A lakehouse file (the build, for the run that owns it). Each call opens one short connection:
    DuckDB lets no other process in while a connection is open."""

    database: str = Field(description="Path of the lakehouse file.")
    connection_config: dict[str, str] = Field(default_factory=dict, description="DuckDB settings (memory_limit).")

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the file, as `DuckDBResource` opens it, closed on exit."""
        with DuckDBResource(database=self.database, connection_config=self.connection_config).get_connection() as con:
            try:
                yield con
            finally:
                con.close()

    def query(self, sql: str) -> pl.DataFrame:
        with self.get_connection() as con:
            return con.sql(sql).pl()

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        with self.get_connection() as con:
            return [duckdb_table_facts(con, schema, table) for schema, table in relations]

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        with self.get_connection() as con:
            return export_csv(con, f"select * from {qualified(schema, view)}", path)
