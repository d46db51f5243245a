"""Reading a delivery (CSV, Parquet or a SQLite table) as typed batches of bounded size."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS, TableContract
from jump_platform.sources.landing.layout import SYMLINK_REASON, Delivery, sqlite_uri
from jump_platform.sources.landing.validation import ExtractError, check_columns, validate
from jump_platform.sql import quote_identifier, short_repr

BATCH_ROWS = 200_000



@dataclass(frozen=True)
class CheckedDelivery:
    """A delivery that passed validation: how many rows it holds, which unexpected columns."""

    delivery: Delivery
    rows: int
    extra_columns: tuple[str, ...]



def _check_utf8(path: Path, source: str) -> None:
    """Refuse invalid UTF-8, naming the line, while reading the file in bounded chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line += chunk.count(b"\n", 0, error.start)
                raise ExtractError(
                    source,
                    f"line {line}: invalid UTF-8 byte {chunk[error.start:error.start + 1]!r}; "
                    "expected a UTF-8 encoded file",
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ExtractError(source, f"line {line}: truncated UTF-8 sequence at the end of the file") from None


def _csv_header(path: Path, source: str) -> list[str]:
    """The header as written: polars renames a duplicated column (`email_duplicated_0`), this does not."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return next(csv.reader(handle), [])
        except csv.Error as error:
            raise ExtractError(source, f"line 1: not a readable CSV header ({error})") from None


def _csv_batches(path: Path, source: str, contract: TableContract) -> tuple[list[str], Iterator[pl.DataFrame]]:
    if path.stat().st_size == 0:
        raise ExtractError(source, f"the file is empty; expected a header line with {', '.join(contract.column_names)}")
    _check_utf8(path, source)
    scan = pl.scan_csv(path, infer_schema=False)
    try:
        scan.collect_schema()
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise ExtractError(source, f"not a readable CSV file: {short_repr(str(error).splitlines()[0], 200)}") from None
    columns = _csv_header(path, source)

    def batches() -> Iterator[pl.DataFrame]:
        try:
            yield from scan.collect_batches(chunk_size=BATCH_ROWS)
        except pl.exceptions.ComputeError as error:
            raise ExtractError(source, f"not a readable CSV file: {short_repr(str(error).splitlines()[0], 200)}") from None

    return columns, batches()


# SQLite's storage classes a contract column accepts: a text or date column must hold TEXT (an
# integer id would otherwise lose its meaning), a number column INTEGER, REAL or TEXT.
_SQLITE_CLASSES = {pl.String: ("text",), pl.Date: ("text",), pl.Int32: ("integer", "text"), pl.Decimal: ("integer", "real", "text")}
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
    con = sqlite3.connect(sqlite_uri(delivery.path), uri=True)
    try:
        # The table name is one of the contracts' (see `deliveries_in`); quoted all the same.
        table = quote_identifier(delivery.sqlite_table)
        columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description]
        check_columns(columns, delivery.contract, source)
        _check_sqlite_classes(con, delivery, source)
        # Every value comes as text, converted by SQLite itself: nothing is left to inference.
        cursor = con.execute(
            "select " + ", ".join(f"cast({quote_identifier(c)} as text)" for c in columns) + f" from {table}"
        )
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


def _raw_batches(delivery: Delivery, source: str) -> tuple[list[str], Iterator[pl.DataFrame], str]:
    """The delivery's columns, its rows as text in bounded batches, and the word for a position
    in it ('line' for CSV, whose line 1 is the header, 'row' otherwise)."""
    if delivery.sqlite_table:
        return *_sqlite_batches(delivery, source), "row"
    if delivery.path.suffix == ".parquet":
        scan = pl.scan_parquet(delivery.path)
        try:
            columns = scan.collect_schema().names()
        except Exception as error:  # polars raises several types for a broken file
            raise ExtractError(source, f"not a readable Parquet file: {short_repr(str(error), 200)}") from None
        batches = (batch.select(pl.all().cast(pl.String)) for batch in scan.collect_batches(chunk_size=BATCH_ROWS))
        return columns, batches, "row"
    return *_csv_batches(delivery.path, source, delivery.contract), "line"



def _open(delivery: Delivery, root: Path) -> tuple[tuple[str, ...], Iterator[pl.DataFrame]]:
    source = delivery.label(root)
    if delivery.path.is_symlink():
        # Never followed: nothing of its target is read (the landing zone refuses links, see layout).
        raise ExtractError(source, SYMLINK_REASON)
    columns, batches, position = _raw_batches(delivery, source)
    extras = check_columns(columns, delivery.contract, source)

    def typed() -> Iterator[pl.DataFrame]:
        rows = 0
        for batch in batches:
            yield validate(batch, delivery.contract, source, position, rows)
            rows += batch.height
        if rows == 0:
            raise ExtractError(
                source, "the file has a header but no rows; refusing to replace the table with an empty extract"
            )

    return extras, typed()


def iter_delivery(delivery: Delivery, root: Path) -> Iterator[pl.DataFrame]:
    """The delivery's rows, typed by its contract, in batches of at most BATCH_ROWS rows.

    Raises ExtractError naming the file, the line or column, what was expected and what was found.
    """
    return _open(delivery, root)[1]


def check_delivery(delivery: Delivery, root: Path) -> CheckedDelivery:
    """Validate a whole delivery, one batch at a time, holding none of it in memory."""
    extras, batches = _open(delivery, root)
    return CheckedDelivery(delivery, sum(batch.height for batch in batches), extras)


def read_delivery(delivery: Delivery, root: Path) -> pl.DataFrame:
    """The whole delivery, typed, in memory (tests and small files)."""
    return pl.concat(list(iter_delivery(delivery, root)))


def with_load_metadata(frame: pl.DataFrame, batch_id: str, loaded_at: dt.datetime, source_file: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(batch_id, dtype=pl.String).alias("_batch_id"),
        pl.lit(loaded_at, dtype=LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
        pl.lit(source_file, dtype=pl.String).alias("_source_file"),
    )


