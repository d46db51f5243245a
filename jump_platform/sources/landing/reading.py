"""Reading a delivery: CSV and Parquet with DuckDB's own readers, SQLite with Python's sqlite3.

A CSV or Parquet delivery is read by DuckDB (`read_csv` / `read_parquet`), never by Python: once
to validate it (`check_delivery`: one scan judges every value, see `validation.py`), then to write
it (`delivery_part`: the query the lakehouse IO manager runs in the load's transaction, straight
into the table). A SQLite table is read with sqlite3 in bounded batches, which DuckDB judges and
types the same way.

DuckDB reads with the file access of its connection limited to the delivery's batch folder
(`allowed_directories`) and its configuration locked; names from a header reach SQL quoted, paths
and column lists as parameters.

The modules: `scanning` (the confined DuckDB connection, shared), `csv_reading`,
`parquet_reading` and `sqlite_reading` (one per format); this one reads any delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jump_platform.io_manager import FileScan
from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS
from jump_platform.sources.landing.csv_reading import check_csv, csv_source
from jump_platform.sources.landing.parquet_reading import check_parquet, parquet_source
from jump_platform.sources.landing.scanning import BATCH_ROWS, NO_ROWS, scanner
from jump_platform.sources.landing.sqlite_reading import sqlite_typed
from jump_platform.sources.landing.validation import ExtractError, typed_columns
from jump_platform.sources.landing.zone import SYMLINK_REASON, Delivery
from jump_platform.sql import quote_identifier


@dataclass(frozen=True)
class CheckedDelivery:
    """A delivery that passed validation: how many rows it holds, which unexpected columns."""

    delivery: Delivery
    rows: int
    extra_columns: tuple[str, ...]


def _source(delivery: Delivery, root: Path) -> str:
    source = delivery.label(root)
    if delivery.path.is_symlink():
        # Never followed: nothing of its target is read (the landing zone refuses links, see layout).
        raise ExtractError(source, SYMLINK_REASON)
    return source


def check_delivery(delivery: Delivery, root: Path) -> CheckedDelivery:
    """Validate a whole delivery without loading it: DuckDB scans a file once and judges every
    value (a SQLite table comes in batches). Raises ExtractError naming the file, the line or row,
    the column, what was expected and what was found."""
    source = _source(delivery, root)
    if delivery.sqlite_table:
        rows, columns = 0, []
        for batch in sqlite_typed(delivery, root, source):
            rows, columns = rows + batch.height, batch.columns
        return CheckedDelivery(delivery, rows, tuple(c for c in columns if c not in delivery.contract.column_names))
    with scanner(root) as con:
        if delivery.path.suffix == ".parquet":
            extras, rows = check_parquet(con, delivery, source)
        else:
            extras, rows = check_csv(con, delivery, source)
    if rows == 0:
        raise ExtractError(source, NO_ROWS)
    return CheckedDelivery(delivery, rows, extras)


def _metadata(
    batch_id: str, loaded_at: dt.datetime, source_file: str, position: str, line_offset: int
) -> tuple[list[str], list[object]]:
    """The load-metadata columns as a select list, and their parameters: the row's line is its
    position in the scan (`position`, from 1) plus `line_offset` (1 for a CSV's header)."""
    values = {
        "_batch_id": ("varchar", batch_id),
        "_loaded_at": ("timestamptz", loaded_at),
        "_source_file": ("varchar", source_file),
    }
    assert set(values) | {"_source_line"} == set(LOAD_METADATA_COLUMNS)
    selected = [f"cast(? as {kind}) as {quote_identifier(name)}" for name, (kind, _) in values.items()]
    line = f"cast({quote_identifier(position)} + {int(line_offset)} as bigint) as {quote_identifier('_source_line')}"
    return [*selected, line], [value for _, value in values.values()]


def delivery_part(
    delivery: Delivery, root: Path, batch_id: str, loaded_at: dt.datetime, source_file: str
) -> FileScan | Iterator[pl.DataFrame]:
    """A validated delivery as the lakehouse IO manager writes it, with its load metadata: for a
    file, the query DuckDB runs on it inside the load's transaction; for a SQLite table, typed
    batches."""
    source = _source(delivery, root)
    if delivery.sqlite_table:
        batches = sqlite_typed(delivery, root, source, row_number="_source_line")
        return (with_load_metadata(batch, batch_id, loaded_at, source_file) for batch in batches)
    with scanner(root) as con:
        relation, parameters, typed, extras, position = (
            parquet_source(con, delivery, source) if delivery.path.suffix == ".parquet" else csv_source(delivery, source)
        )
    metadata, values = _metadata(batch_id, loaded_at, source_file, position, 0 if delivery.path.suffix == ".parquet" else 1)
    selected = ", ".join([*typed_columns(delivery.contract, typed, extras), *metadata])
    return FileScan(f"select {selected} from {relation}", [*values, *parameters])


def iter_delivery(delivery: Delivery, root: Path) -> Iterator[pl.DataFrame]:
    """The delivery's rows, validated and typed by its contract, in batches of at most BATCH_ROWS
    rows (tests, small files: the load itself lets DuckDB write a file straight to its table)."""
    source = _source(delivery, root)
    if delivery.sqlite_table:
        yield from sqlite_typed(delivery, root, source)
        return
    check_delivery(delivery, root)
    part = delivery_part(delivery, root, "", dt.datetime.now(dt.UTC), "")
    with scanner(root) as con:
        reader = con.execute(part.query, part.parameters).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield pl.from_arrow(batch).drop(*LOAD_METADATA_COLUMNS)


def read_delivery(delivery: Delivery, root: Path) -> pl.DataFrame:
    """The whole delivery, typed, in memory (tests and small files)."""
    return pl.concat(list(iter_delivery(delivery, root)))


def with_load_metadata(frame: pl.DataFrame, batch_id: str, loaded_at: dt.datetime, source_file: str) -> pl.DataFrame:
    """The frame with its load metadata, last and in order; `_source_line` is the frame's own
    (its rows' numbers), or null when it has none."""
    lines = frame.get_column("_source_line") if "_source_line" in frame.columns else pl.lit(None)
    return frame.drop("_source_line", strict=False).with_columns(
        pl.lit(batch_id, dtype=pl.String).alias("_batch_id"),
        pl.lit(loaded_at, dtype=LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
        pl.lit(source_file, dtype=pl.String).alias("_source_file"),
        lines.cast(LOAD_METADATA_COLUMNS["_source_line"]).alias("_source_line"),
    )
