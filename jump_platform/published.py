"""Reading the published lakehouse without holding it.

Readers outside the pipeline (the dashboard's refresh, the reverse ETL syncs) open the published
file read-only, run their query and close it at once: DuckDB lets no writer in while any other
process has the file open, so a reader must never keep it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from jump_platform import settings

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def checked_identifier(name: str) -> str:
    """`name` if it is a plain lower-case SQL identifier, quoted; a ValueError otherwise."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"Not a plain lower-case identifier: {name!r}")
    return f'"{name}"'


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
        return connection.sql(f"select * from {checked_identifier(schema)}.{checked_identifier(table)}").pl()
