"""The default engine: the lakehouse is one DuckDB file, read here directly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field

from jump_platform.sql import qualified
from jump_platform.warehouses.base import Warehouse, facts


def duckdb_table_facts(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Row count and column schema of a table of a DuckDB connection; {} if it has no such relation."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    (rows,) = con.execute(f"select count(*) from {qualified(schema, table)}").fetchone()
    return facts(rows, columns)


class DuckDBWarehouse(Warehouse):
    """The lakehouse file; each call opens a short connection (DuckDB has one writer at a time)."""

    database: str = Field(description="Path of the lakehouse file.")
    connection_config: dict[str, str] = Field(default_factory=dict, description="DuckDB settings (memory_limit).")

    def get_connection(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-write connection to the lakehouse file, as `DuckDBResource` opens it."""
        return DuckDBResource(database=self.database, connection_config=self.connection_config).get_connection()

    def query(self, sql: str) -> pl.DataFrame:
        with self.get_connection() as con:
            return con.sql(sql).pl()

    def table_facts(self, schema: str, table: str) -> dict[str, Any]:
        with self.get_connection() as con:
            return duckdb_table_facts(con, schema, table)

    @contextmanager
    def rules_connection(self, relations: Sequence[tuple[str, str]]) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.get_connection() as con:
            yield con
