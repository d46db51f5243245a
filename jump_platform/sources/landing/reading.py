"""Reading a delivery: CSV and Parquet with DuckDB's own readers, SQLite with Python's sqlite3.

A CSV or Parquet delivery is read by DuckDB (`read_csv` / `read_parquet`), never by Python: once
to validate it (`check_delivery`: one scan judges every value, see `validation.py`), then to write
it (`delivery_part`: the query the lakehouse IO manager runs in the load's transaction, straight
into the table). A SQLite table is read with sqlite3 in bounded batches, which DuckDB judges and
types the same way.

DuckDB reads with the file access of its connection limited to the delivery's batch folder
(`allowed_directories`) and its configuration locked; names from a header reach SQL quoted, paths
and column lists as parameters.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from jump_platform import settings
from jump_platform.io_manager import FileScan
from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS
from jump_platform.sources.landing.layout import SYMLINK_REASON, Delivery, sqlite_uri
from jump_platform.sources.landing.validation import (
    ExtractError,
    Scan,
    check_columns,
    judge,
    refuse_first_problem,
    typed_columns,
)
from jump_platform.sql import quote_identifier, short_repr

# SQLite tables (and typed frames for tests) come this many rows at a time, so memory stays bounded.
BATCH_ROWS = 200_000
# The column of a scan that numbers its rows (1, 2, ...), renamed if a file has a column of that name.
_POSITION = "__row_position"
# How DuckDB reads a CSV of the previous platform: comma-separated, double quotes, a header, every
# column as text (the contract types them, after validation), nothing guessed. A short row is
# padded with nulls, then refused as missing values naming the column. DuckDB skips blank lines:
# they are looked for apart (`_lines`).
_CSV_OPTIONS = "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, null_padding = true"
_REJECTS = "store_rejects = true, rejects_table = 'jump_rejects', rejects_scan = 'jump_reject_scans'"


@dataclass(frozen=True)
class CheckedDelivery:
    """A delivery that passed validation: how many rows it holds, which unexpected columns."""

    delivery: Delivery
    rows: int
    extra_columns: tuple[str, ...]


def scanner(readable: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that may read files under `readable` and nowhere else, with
    the platform's memory cap and its configuration locked."""
    con = duckdb.connect(config=settings.duckdb_config())
    con.execute("set allowed_directories = ?", [[str(readable.resolve())]])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def _position(columns: list[str]) -> str:
    """A name for the row-number column that no column of the file has."""
    name = _POSITION
    while name in columns:
        name += "_"
    return name


def _numbered(columns: list[str], position: str) -> str:
    """`with ordinality` naming the file's columns and the row number `position`."""
    return "with ordinality as delivery(" + ", ".join(quote_identifier(c) for c in [*columns, position]) + ")"


# --- CSV ---------------------------------------------------------------------------------------------


def _csv_header(path: Path, source: str) -> list[str]:
    """The header as written: one line, read with the csv module (DuckDB is then told the columns)."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        try:
            return next(csv.reader(handle), [])
        except csv.Error as error:
            raise ExtractError(source, f"line 1: not a readable CSV header ({error})") from None


def _csv_columns(delivery: Delivery, source: str) -> tuple[list[str], tuple[str, ...]]:
    """The header's columns, and those beyond the contract's (refused unless it allows extras)."""
    if delivery.path.stat().st_size == 0:
        expected = ", ".join(delivery.contract.column_names)
        raise ExtractError(source, f"the file is empty; expected a header line with {expected}")
    columns = _csv_header(delivery.path, source)
    return columns, check_columns(columns, delivery.contract, source)


def _lines(con: duckdb.DuckDBPyConnection, path: Path, source: str) -> int | None:
    """Refuse invalid UTF-8, and return the first blank line if any: DuckDB's CSV reader reports
    invalid UTF-8 only in a column it reads, and skips blank lines. One cheap scan of the file as
    plain lines: a blank line reads as null, an undecodable one is rejected with its number."""
    [(blank,)] = con.execute(
        "select min(number) from read_csv(?, header = false, columns = {'line': 'VARCHAR'}, delim = ?, "
        "quote = '', escape = '', auto_detect = false, strict_mode = false, store_rejects = true, "
        "rejects_table = 'jump_line_rejects', rejects_scan = 'jump_line_scans') "
        "with ordinality as lines(line, number) where line is null",
        # Lines are not split into values: the delimiter is a control character CSVs do not hold.
        [str(path), "\x1f"],
    ).fetchall()
    undecodable = con.execute(
        "select line, line_byte_position from jump_line_rejects where error_type = 'INVALID ENCODING' order by line limit 1"
    ).fetchall()
    if undecodable:
        [(line, byte)] = undecodable
        raise ExtractError(source, _undecodable(path, byte, line))
    return blank


def _has_multiline_values(con: duckdb.DuckDBPyConnection, scan: Scan, columns: list[str]) -> bool:
    """Whether a quoted value spans lines: then a line that looks blank may belong to a value."""
    spans = " or ".join(f"regexp_matches({quote_identifier(c)}, '[\r\n]')" for c in columns)
    [(found,)] = con.execute(f"select count(*) > 0 from {scan.relation} where {spans}", scan.parameters).fetchall()
    return bool(found)


def _undecodable(path: Path, start: int, line: int) -> str:
    """What is wrong with the UTF-8 of a line, read at the byte where DuckDB found it (the error
    path only)."""
    with path.open("rb") as handle:
        handle.seek(start)
        chunk = handle.read(1 << 16)
        at_end = handle.read(1) == b""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as error:
        if at_end and error.end == len(chunk):
            return f"line {line}: truncated UTF-8 sequence at the end of the file"
        return f"line {line}: invalid UTF-8 byte {chunk[error.start:error.start + 1]!r}; expected a UTF-8 encoded file"
    return f"line {line}: invalid UTF-8; expected a UTF-8 encoded file"


def _refuse_unreadable_rows(con: duckdb.DuckDBPyConnection, source: str, columns: int) -> None:
    """Refuse the file if DuckDB could not read one of its rows: more values than the header..."""
    found = con.execute("select line, error_type, error_message from jump_rejects order by line limit 1").fetchall()
    if not found:
        return
    [(line, kind, message)] = found
    if kind == "TOO MANY COLUMNS":
        raise ExtractError(source, f"line {line}: more values than the {columns} columns of the header")
    raise ExtractError(source, f"line {line}: not readable as CSV: {short_repr(message, 200)}")


def _check_csv(con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str) -> tuple[tuple[str, ...], int]:
    columns, extras = _csv_columns(delivery, source)
    position = _position(columns)
    scan = Scan(
        f"read_csv(?, {_CSV_OPTIONS}, columns = ?, {_REJECTS}) {_numbered(columns, position)}",
        [str(delivery.path), dict.fromkeys(columns, "VARCHAR")],
        position,
    )
    try:
        blank = _lines(con, delivery.path, source)
        verdict = judge(con, scan, delivery.contract)
    except duckdb.Error as error:
        raise ExtractError(source, f"not a readable CSV file: {short_repr(str(error).splitlines()[0], 200)}") from None
    _refuse_unreadable_rows(con, source, len(columns))
    if blank is not None and not _has_multiline_values(con, scan, columns):
        names = ", ".join(delivery.contract.column_names)
        raise ExtractError(source, f"line {blank}: an empty line; expected values for {names} (remove empty lines)")
    refuse_first_problem(con, scan, delivery.contract, verdict, source, "line")
    return extras, verdict.rows


def _csv_source(delivery: Delivery, source: str) -> tuple[str, list[object], frozenset[str], tuple[str, ...]]:
    """The relation a validated CSV is written from, its parameters, its typed and extra columns."""
    columns, extras = _csv_columns(delivery, source)
    return f"read_csv(?, {_CSV_OPTIONS}, columns = ?)", [str(delivery.path), dict.fromkeys(columns, "VARCHAR")], frozenset(), extras


# --- Parquet -----------------------------------------------------------------------------------------


def _parquet_columns(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str
) -> tuple[list[str], frozenset[str], tuple[str, ...]]:
    """The file's columns; the contract's non-text columns it already holds in their type (judged
    for missing values only, written as they are; the others are judged as text); its extras."""
    try:
        described = con.execute("describe select * from read_parquet(?)", [str(delivery.path)]).fetchall()
    except duckdb.Error as error:
        raise ExtractError(source, f"not a readable Parquet file: {short_repr(str(error), 200)}") from None
    kinds = {row[0]: str(row[1]).lower().replace(" ", "") for row in described}
    columns = list(kinds)
    extras = check_columns(columns, delivery.contract, source)
    typed = frozenset(c.name for c in delivery.contract.columns if c.dtype != pl.String and kinds[c.name] == c.sql_type)
    return columns, typed, extras


def _as_text(columns: list[str], typed: frozenset[str]) -> str:
    return ", ".join(
        quote_identifier(c) if c in typed else f"cast({quote_identifier(c)} as varchar) as {quote_identifier(c)}"
        for c in columns
    )


def _check_parquet(con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str) -> tuple[tuple[str, ...], int]:
    columns, typed, extras = _parquet_columns(con, delivery, source)
    position = _position(columns)
    relation = (
        f"(select {_as_text(columns, typed)}, {quote_identifier(position)} "
        f"from read_parquet(?) {_numbered(columns, position)}) as delivery"
    )
    scan = Scan(relation, [str(delivery.path)], position, typed)
    try:
        verdict = judge(con, scan, delivery.contract)
    except duckdb.Error as error:
        raise ExtractError(source, f"not a readable Parquet file: {short_repr(str(error), 200)}") from None
    refuse_first_problem(con, scan, delivery.contract, verdict, source, "row")
    return extras, verdict.rows


def _parquet_source(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str
) -> tuple[str, list[object], frozenset[str], tuple[str, ...]]:
    columns, typed, extras = _parquet_columns(con, delivery, source)
    return f"(select {_as_text(columns, typed)} from read_parquet(?)) as delivery", [str(delivery.path)], typed, extras


# --- SQLite ------------------------------------------------------------------------------------------

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
    """The SQLite table's columns, and its rows as text in batches of BATCH_ROWS."""
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


def _sqlite_typed(delivery: Delivery, root: Path, source: str) -> Iterator[pl.DataFrame]:
    """The SQLite table's rows, judged and typed by DuckDB batch by batch."""
    columns, batches = _sqlite_batches(delivery, source)
    extras = check_columns(columns, delivery.contract, source)
    position = _position(columns)
    rows = 0
    with scanner(root) as con:
        for batch in batches:
            numbered = batch.with_row_index(position, offset=rows + 1)
            con.register("delivery_batch", numbered)
            scan = Scan("delivery_batch", [], position)
            verdict = judge(con, scan, delivery.contract)
            refuse_first_problem(con, scan, delivery.contract, verdict, source, "row")
            yield con.sql(f"select {', '.join(typed_columns(delivery.contract, extras=extras))} from delivery_batch").pl()
            con.unregister("delivery_batch")
            rows += batch.height
    if rows == 0:
        raise ExtractError(source, _NO_ROWS)


# --- any delivery ------------------------------------------------------------------------------------

_NO_ROWS = "the file has a header but no rows; refusing to replace the table with an empty extract"


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
        for batch in _sqlite_typed(delivery, root, source):
            rows, columns = rows + batch.height, batch.columns
        return CheckedDelivery(delivery, rows, tuple(c for c in columns if c not in delivery.contract.column_names))
    with scanner(root) as con:
        if delivery.path.suffix == ".parquet":
            extras, rows = _check_parquet(con, delivery, source)
        else:
            extras, rows = _check_csv(con, delivery, source)
    if rows == 0:
        raise ExtractError(source, _NO_ROWS)
    return CheckedDelivery(delivery, rows, extras)


def _metadata(batch_id: str, loaded_at: dt.datetime, source_file: str) -> tuple[list[str], list[object]]:
    """The load-metadata columns as a select list, and their parameters."""
    kinds = {"_batch_id": "varchar", "_loaded_at": "timestamptz", "_source_file": "varchar"}
    assert set(kinds) == set(LOAD_METADATA_COLUMNS)
    return [f"cast(? as {kinds[name]}) as {quote_identifier(name)}" for name in LOAD_METADATA_COLUMNS], [
        batch_id,
        loaded_at,
        source_file,
    ]


def delivery_part(
    delivery: Delivery, root: Path, batch_id: str, loaded_at: dt.datetime, source_file: str
) -> FileScan | Iterator[pl.DataFrame]:
    """A validated delivery as the lakehouse IO manager writes it, with its load metadata: for a
    file, the query DuckDB runs on it inside the load's transaction; for a SQLite table, typed
    batches."""
    source = _source(delivery, root)
    if delivery.sqlite_table:
        return (with_load_metadata(batch, batch_id, loaded_at, source_file) for batch in _sqlite_typed(delivery, root, source))
    with scanner(root) as con:
        relation, parameters, typed, extras = (
            _parquet_source(con, delivery, source) if delivery.path.suffix == ".parquet" else _csv_source(delivery, source)
        )
    metadata, values = _metadata(batch_id, loaded_at, source_file)
    selected = ", ".join([*typed_columns(delivery.contract, typed, extras), *metadata])
    return FileScan(f"select {selected} from {relation}", [*values, *parameters])


def iter_delivery(delivery: Delivery, root: Path) -> Iterator[pl.DataFrame]:
    """The delivery's rows, validated and typed by its contract, in batches of at most BATCH_ROWS
    rows (tests, small files: the load itself lets DuckDB write a file straight to its table)."""
    source = _source(delivery, root)
    if delivery.sqlite_table:
        yield from _sqlite_typed(delivery, root, source)
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
    return frame.with_columns(
        pl.lit(batch_id, dtype=pl.String).alias("_batch_id"),
        pl.lit(loaded_at, dtype=LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
        pl.lit(source_file, dtype=pl.String).alias("_source_file"),
    )
