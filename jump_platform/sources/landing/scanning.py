"""What every reader of a delivery shares: a DuckDB connection confined to the batch folder, and
numbered rows."""

from __future__ import annotations

from pathlib import Path

import duckdb

from jump_platform import settings
from jump_platform.sql import quote_identifier

# SQLite tables (and typed frames for tests) come this many rows at a time, so memory stays bounded.
BATCH_ROWS = 200_000
# The column of a scan that numbers its rows (1, 2, ...), renamed if a file has a column of that name.
POSITION = "__row_position"

NO_ROWS = "the file has a header but no rows; refusing to replace the table with an empty extract"


def scanner(readable: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that may read files under `readable` and nowhere else, with
    the platform's memory cap and its configuration locked."""
    con = duckdb.connect(config=settings.duckdb_config())
    con.execute("set allowed_directories = ?", [[str(readable.resolve())]])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def position_column(columns: list[str]) -> str:
    """A name for the row-number column that no column of the file has."""
    name = POSITION
    while name in columns:
        name += "_"
    return name


def numbered(columns: list[str], position: str) -> str:
    """`with ordinality` naming the file's columns and the row number `position`."""
    return "with ordinality as delivery(" + ", ".join(quote_identifier(c) for c in [*columns, position]) + ")"
