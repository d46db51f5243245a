"""Reading a delivery (CSV, Parquet or a SQLite table) as typed batches of bounded size."""

from __future__ import annotations

import codecs
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS, TableContract
from jump_platform.sources.landing.layout import Delivery
from jump_platform.sources.landing.validation import ExtractError, check_columns, validate

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


def _csv_batches(path: Path, source: str, contract: TableContract) -> tuple[list[str], Iterator[pl.DataFrame]]:
    if path.stat().st_size == 0:
        raise ExtractError(source, f"the file is empty; expected a header line with {', '.join(contract.column_names)}")
    _check_utf8(path, source)
    scan = pl.scan_csv(path, infer_schema=False)
    try:
        columns = scan.collect_schema().names()
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise ExtractError(source, f"not a readable CSV file: {str(error).splitlines()[0]}") from None

    def batches() -> Iterator[pl.DataFrame]:
        try:
            yield from scan.collect_batches(chunk_size=BATCH_ROWS)
        except pl.exceptions.ComputeError as error:
            raise ExtractError(source, f"not a readable CSV file: {str(error).splitlines()[0]}") from None

    return columns, batches()


def _sqlite_batches(delivery: Delivery) -> tuple[list[str], Iterator[pl.DataFrame]]:
    con = sqlite3.connect(f"file:{delivery.path}?mode=ro", uri=True)
    cursor = con.execute(f'select * from "{delivery.sqlite_table}"')
    columns = [d[0] for d in cursor.description]

    def batches() -> Iterator[pl.DataFrame]:
        try:
            while rows := cursor.fetchmany(BATCH_ROWS):
                frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
                yield frame.select(pl.all().cast(pl.String))
        finally:
            con.close()

    return columns, batches()


def _raw_batches(delivery: Delivery, source: str) -> tuple[list[str], Iterator[pl.DataFrame], str]:
    """The delivery's columns, its rows as text in bounded batches, and the word for a position
    in it ('line' for CSV, whose line 1 is the header, 'row' otherwise)."""
    if delivery.sqlite_table:
        return *_sqlite_batches(delivery), "row"
    if delivery.path.suffix == ".parquet":
        scan = pl.scan_parquet(delivery.path)
        try:
            columns = scan.collect_schema().names()
        except Exception as error:  # polars raises several types for a broken file
            raise ExtractError(source, f"not a readable Parquet file: {error}") from None
        batches = (batch.select(pl.all().cast(pl.String)) for batch in scan.collect_batches(chunk_size=BATCH_ROWS))
        return columns, batches, "row"
    return *_csv_batches(delivery.path, source, delivery.contract), "line"



def _open(delivery: Delivery, root: Path) -> tuple[tuple[str, ...], Iterator[pl.DataFrame]]:
    source = delivery.label(root)
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


