"""Reading the published lakehouse without holding it.

Readers outside the pipeline (the dashboard's refresh, the reverse ETL syncs) open the published
file read-only, run their query and close it at once: DuckDB lets no writer in while any other
process has the file open, so a reader must never keep it. On PostgreSQL they read the published
schemas; on Spark, the published snapshot's Parquet folders, through `data/spark/published`
(`published_warehouse`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from jump_platform import engines, settings
from jump_platform.sql import qualified
from jump_platform.warehouses import Warehouse


@contextmanager
def read_only(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection to the published lakehouse (or `path`), closed on exit."""
    path = path or settings.duckdb_path()
    if not path.exists():
        raise FileNotFoundError(f"No published lakehouse at {path}: `make run` builds it.")
    connection = duckdb.connect(str(path), read_only=True, config=settings.duckdb_config())
    try:
        yield connection
    finally:
        connection.close()


def published_warehouse() -> Warehouse | None:
    """The published lakehouse of a server or cluster engine (`JUMP_WAREHOUSE`); None for DuckDB's
    file, read with `read_only`."""
    return engines.current().published_warehouse()


def location() -> str:
    """Where the published lakehouse is, for people: the DuckDB file, the PostgreSQL database (no
    password) or the Spark folder."""
    return engines.current().location()


def read_table(schema: str, table: str, path: Path | None = None) -> pl.DataFrame:
    """A whole table of the published lakehouse (or of the DuckDB file `path`), as a polars DataFrame."""
    warehouse = published_warehouse() if path is None else None
    if warehouse is not None:
        return warehouse.read_table(schema, table)
    with read_only(path) as connection:
        return connection.sql(f"select * from {qualified(schema, table)}").pl()
