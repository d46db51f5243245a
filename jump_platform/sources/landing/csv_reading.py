"""Reading a CSV delivery with DuckDB's `read_csv`: validated in one scan, then written as is."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from jump_platform.sources.landing.scanning import numbered, position_column
from jump_platform.sources.landing.validation import ExtractError, Scan, check_columns, judge, refuse_first_problem
from jump_platform.sources.landing.zone import Delivery
from jump_platform.sql import quote_identifier, short_repr

# How DuckDB reads a CSV of the previous platform: comma-separated, double quotes, a header, every
# column as text (the contract types them, after validation), nothing guessed. A short row is
# padded with nulls, then refused as missing values naming the column. DuckDB skips blank lines:
# they are looked for apart (`_lines`).
_CSV_OPTIONS = "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, null_padding = true"
_REJECTS = "store_rejects = true, rejects_table = 'jump_rejects', rejects_scan = 'jump_reject_scans'"


def _csv_header(path: Path, source: str) -> list[str]:
    """The header as written: one line, read with the csv module (DuckDB is then told the columns)."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        try:
            return next(csv.reader(handle), [])
        except csv.Error as error:
            raise ExtractError(source, f"line 1: not a readable CSV header ({error})") from None


# The first bytes of compressed or archived files a CSV is sometimes delivered as, by mistake.
_COMPRESSED = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}


def _refuse_compressed(path: Path, source: str) -> None:
    """Refuse a compressed file named `.csv` for what it is, not for the garbage its header reads as."""
    with path.open("rb") as handle:
        start = handle.read(4)
    for magic, kind in _COMPRESSED.items():
        if start.startswith(magic):
            raise ExtractError(
                source, f"the file is {kind}; expected a plain-text UTF-8 CSV (decompress it before delivering it)"
            )


def _csv_columns(delivery: Delivery, source: str) -> tuple[list[str], tuple[str, ...]]:
    """The header's columns, and those beyond the contract's (refused unless it allows extras)."""
    if delivery.path.stat().st_size == 0:
        expected = ", ".join(delivery.contract.column_names)
        raise ExtractError(source, f"the file is empty; expected a header line with {expected}")
    _refuse_compressed(delivery.path, source)
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
        return f"line {line}: invalid UTF-8 byte {chunk[error.start : error.start + 1]!r}; expected a UTF-8 encoded file"
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


def check_csv(con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str) -> tuple[tuple[str, ...], int]:
    columns, extras = _csv_columns(delivery, source)
    position = position_column(columns)
    scan = Scan(
        f"read_csv(?, {_CSV_OPTIONS}, columns = ?, {_REJECTS}) {numbered(columns, position)}",
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


def csv_source(delivery: Delivery, source: str) -> tuple[str, list[object], frozenset[str], tuple[str, ...], str]:
    """The relation a validated CSV is written from, its parameters, its typed and extra columns,
    and the column numbering its rows (from 1: the row's line is one more, after the header)."""
    columns, extras = _csv_columns(delivery, source)
    position = position_column(columns)
    return (
        f"read_csv(?, {_CSV_OPTIONS}, columns = ?) {numbered(columns, position)}",
        [str(delivery.path), dict.fromkeys(columns, "VARCHAR")],
        frozenset(),
        extras,
        position,
    )
