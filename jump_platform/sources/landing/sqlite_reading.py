"""Reading a SQLite delivery with Python's sqlite3, in bounded batches that DuckDB judges and types."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from jump_platform.sources.landing.scanning import BATCH_ROWS, NO_ROWS, position_column, scanner
from jump_platform.sources.landing.validation import (
    ExtractError,
    Scan,
    check_columns,
    judge,
    refuse_first_problem,
    typed_columns,
)
from jump_platform.sources.landing.zone import Delivery, sqlite_uri
from jump_platform.sql import quote_identifier, short_repr

# SQLite's storage classes a contract column accepts: a text or date column must hold TEXT (an
# integer id would otherwise lose its meaning), a number column INTEGER, REAL or TEXT.
_SQLITE_CLASSES = {
    pl.String: ("text",),
    pl.Date: ("text",),
    pl.Int32: ("integer", "text"),
    pl.Decimal: ("integer", "real", "text"),
}
_SQLITE_CLASS_WORDS = {"integer": "an integer", "real": "a floating-point number", "blob": "a blob", "text": "text"}


def _check_sqlite_classes(con: sqlite3.Connection, delivery: Delivery, source: str) -> None:
    """Refuse a value of the wrong SQLite storage class (an integer or float id...), naming its row.

    Runs inside SQLite, one query per column; only the first bad value comes back.
    """
    table = quote_identifier(delivery.sqlite_table)
    for column in delivery.contract.columns:
        allowed = _SQLITE_CLASSES[type(column.dtype)]
        name = quote_identifier(column.name)
        placeholders = ", ".join("?" for _ in range(len(allowed) + 1))
        found = con.execute(
            f"select n, kind, value from (select row_number() over () as n, typeof({name}) as kind, {name} as value "
            f"from {table}) where kind not in ({placeholders}) limit 1",
            ["null", *allowed],
        ).fetchone()
        if found:
            number, kind, value = found
            expected = " or ".join(_SQLITE_CLASS_WORDS[a] for a in allowed)
            raise ExtractError(
                source,
                f"row {number}, column {column.name}: expected {expected} (SQLite {'/'.join(a.upper() for a in allowed)}), "
                f"found {_SQLITE_CLASS_WORDS.get(kind, kind)} {short_repr(value)}",
            )


def _sqlite_batches(delivery: Delivery, source: str) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """The SQLite table's columns, and its rows as text in batches of BATCH_ROWS."""
    con = sqlite3.connect(sqlite_uri(delivery.path), uri=True)
    try:
        # The table name is one of the contracts' (see `deliveries_in`); quoted all the same.
        table = quote_identifier(delivery.sqlite_table)
        columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description]
        check_columns(columns, delivery.contract, source)
        _check_sqlite_classes(con, delivery, source)
        # Every value comes as text, converted by SQLite itself: nothing is left to inference.
        cursor = con.execute("select " + ", ".join(f"cast({quote_identifier(c)} as text)" for c in columns) + f" from {table}")
    except BaseException:
        con.close()
        raise

    def batches() -> Iterator[pl.DataFrame]:
        try:
            while rows := cursor.fetchmany(BATCH_ROWS):
                yield pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
        finally:
            con.close()

    return columns, batches()


def sqlite_typed(delivery: Delivery, root: Path, source: str, row_number: str | None = None) -> Iterator[pl.DataFrame]:
    """The SQLite table's rows, judged and typed by DuckDB batch by batch; with their number in
    the table (from 1) as column `row_number` when given."""
    columns, batches = _sqlite_batches(delivery, source)
    extras = check_columns(columns, delivery.contract, source)
    position = position_column(columns)
    rows = 0
    with scanner(root) as con:
        for batch in batches:
            numbered = batch.with_row_index(position, offset=rows + 1)
            con.register("delivery_batch", numbered)
            scan = Scan("delivery_batch", [], position)
            verdict = judge(con, scan, delivery.contract)
            refuse_first_problem(con, scan, delivery.contract, verdict, source, "row")
            selected = typed_columns(delivery.contract, extras=extras)
            if row_number:
                selected.append(f"cast({quote_identifier(position)} as bigint) as {quote_identifier(row_number)}")
            yield con.sql(f"select {', '.join(selected)} from delivery_batch").pl()
            con.unregister("delivery_batch")
            rows += batch.height
    if rows == 0:
        raise ExtractError(source, NO_ROWS)
