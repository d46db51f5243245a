"""What the assets need from a warehouse, whatever the engine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
import polars as pl


def markdown_preview(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    rows = ("| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows())
    return header + "\n".join(rows)


def facts(row_count: int, columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A table's row count and column schema, as Dagster shows them on a materialization."""
    return {
        "dagster/row_count": int(row_count),
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, str(kind)) for name, kind in columns]),
    }


class Warehouse(dg.ConfigurableResource):
    """Reads the lakehouse on its engine. Subclasses implement the three methods."""

    def query(self, sql: str) -> pl.DataFrame:
        """Run one query on the engine and return its rows (the exports)."""
        raise NotImplementedError

    def table_facts(self, schema: str, table: str) -> dict[str, Any]:
        """Row count and column schema of a table as built, or {} when it is not a table there."""
        raise NotImplementedError

    @contextmanager
    def rules_connection(self, relations: Sequence[tuple[str, str]]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection where each `(schema, table)` of `relations` reads the engine's
        current table, for the rules of `jump_platform.sources.rules` (DuckDB SQL). A relation the
        engine does not hold is absent from the connection too."""
        raise NotImplementedError
        yield  # pragma: no cover
