"""Turning a query result into a CSV a person opens in a spreadsheet, streamed by DuckDB."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from jump_platform.sql import quote_identifier

# DuckDB types (their names as `DuckDBPyRelation.types` gives them) shown with exactly 2 decimals.
_AMOUNT_TYPES = ("FLOAT", "DOUBLE", "DECIMAL")


def spreadsheet_columns(relation: duckdb.DuckDBPyRelation) -> str:
    """The select list of `relation`'s columns with amounts (decimals and floats) rounded to
    exactly 2 decimals, the other columns as they are."""
    columns = []
    for name, kind in zip(relation.columns, relation.types, strict=True):
        column = quote_identifier(name)
        if str(kind).split("(")[0] in _AMOUNT_TYPES:
            column = f"cast(round({column}, 2) as decimal(38, 2)) as {column}"
        columns.append(column)
    return ", ".join(columns)


def export_csv(connection: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write the result of `query` to `path` as a CSV with a header, in the query's row order, and
    return its rows.

    DuckDB streams the rows to a temporary file beside `path` (`COPY ... TO`), renamed into place
    once complete: the result never sits in Python, and readers never see half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    # A new line before the closing parenthesis, in case the query ends with a `--` comment.
    source = f"(\n{query}\n)"
    columns = spreadsheet_columns(connection.sql(query))
    try:
        [(rows,)] = connection.execute(
            f"copy (select {columns} from {source}) to ? (format csv, header)", [str(temporary)]
        ).fetchall()
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
    return rows
