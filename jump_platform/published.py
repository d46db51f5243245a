"""Reading the published lakehouse without holding it.

Readers outside the pipeline (the dashboard's refresh, the reverse ETL syncs) open the published
file read-only, run their query and close it at once: DuckDB lets no writer in while any other
process has the file open, so a reader must never keep it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from jump_platform import settings
from jump_platform.sql import qualified


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


def read_table(schema: str, table: str, path: Path | None = None) -> pl.DataFrame:
    """A whole table of the published lakehouse, as a polars DataFrame."""
    with read_only(path) as connection:
        return connection.sql(f"select * from {qualified(schema, table)}").pl()
