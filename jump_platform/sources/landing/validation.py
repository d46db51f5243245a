"""Validation of an extract against its table's contract: the columns, then every value.

What is refused, always with the file, the line (or row), the column, what was expected and what
was found (an escaped excerpt of at most ~40 characters, so a hostile value cannot flood a log):
- a missing, unexpected (unless the contract allows extras) or duplicated column;
- an empty line (every field empty), rather than a row of nulls;
- an empty value, or the literal text NULL, in a column that is not nullable;
- an id that is not a UUID, a date that is not YYYY-MM-DD, a number that does not parse.
"""

from __future__ import annotations

import re
from collections import Counter

import polars as pl

from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS, Column, TableContract
from jump_platform.sql import short_repr


class ExtractError(ValueError):
    """An extract file that cannot be loaded, with where and why."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        # A file name may hold newlines or control characters: shown escaped, never raw.
        shown = source if source.isprintable() else short_repr(source, 200)
        super().__init__(f"{shown}: {problem}")


_DELIMITER_HINTS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
_NUMBER = {
    pl.Int32: (r"^\s*[+-]?\d+\s*$", "an integer"),
    pl.Decimal: (r"^\s*[+-]?\d+(\.\d{1,2})?\s*$", "a decimal number with at most 2 decimals, like 1234.50"),
}
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# The literal a database export writes for a missing value.
NULL_TEXT = "NULL"
# Column names listed in a message at most; a header of thousands of columns is cut.
_NAMES_SHOWN = 20
_PLAIN_NAME = re.compile(r"^[\w .()-]{1,40}$")


def _name(column: str) -> str:
    """A column name for a message: as it is when plain, else an escaped excerpt."""
    return column if _PLAIN_NAME.match(column) else short_repr(column)


def _names(columns: list[str]) -> str:
    shown = ", ".join(_name(c) for c in columns[:_NAMES_SHOWN])
    return shown + (f" and {len(columns) - _NAMES_SHOWN} more" if len(columns) > _NAMES_SHOWN else "")


def check_columns(columns: list[str], contract: TableContract, source: str) -> tuple[str, ...]:
    """Refuse missing, duplicated and (unless the contract allows them) unexpected columns.

    Returns the unexpected columns that are allowed, which are kept.
    """
    duplicated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise ExtractError(source, f"duplicated column(s) {_names(duplicated)}; expected each column once")
    missing = [c for c in contract.columns if c.name not in columns]
    if missing:
        hint = ""
        if len(columns) == 1:
            hint = "".join(
                f"; the header seems separated by {word}, expected commas"
                for char, word in _DELIMITER_HINTS.items()
                if char in columns[0]
            )
        expected = ", ".join(f"{c.name} ({c.sql_type})" for c in missing)
        raise ExtractError(source, f"missing column(s) {expected}; found columns: {_names(columns)}{hint}")
    extras = tuple(name for name in columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS)
    if extras and not contract.allow_extra_columns:
        raise ExtractError(
            source,
            f"unexpected column(s) {_names(list(extras))}; expected exactly {', '.join(contract.column_names)} "
            "(a delivery never changes a table's columns)",
        )
    return extras


def _refuse(
    source: str, position: str, rows_before: int, bad: pl.Series, column: Column, expected: str, found: pl.Series
) -> None:
    index = int(bad.arg_true()[0])
    number = rows_before + index + (2 if position == "line" else 1)
    count = int(bad.sum())
    more = f" ({count - 1} more bad value(s) in this column nearby)" if count > 1 else ""
    value = found[index]
    shown = "an empty value" if value is None or not str(value).strip() else short_repr(value)
    raise ExtractError(source, f"{position} {number}, column {column.name}: expected {expected}, found {shown}{more}")


def validate(
    raw: pl.DataFrame, contract: TableContract, source: str, position: str, rows_before: int = 0
) -> pl.DataFrame:
    """Type one batch of text columns by the contract, or name the first value that does not parse.

    `rows_before` counts the rows of earlier batches, so positions are those of the whole file.
    """
    blanks = {name: raw[name].is_null() | (raw[name].str.strip_chars() == "") for name in contract.column_names}
    empty_line = pl.DataFrame(blanks).select(pl.all_horizontal(pl.all())).to_series()
    if empty_line.any():
        number = rows_before + int(empty_line.arg_true()[0]) + (2 if position == "line" else 1)
        raise ExtractError(
            source,
            f"{position} {number}: an empty {position}; expected values for {', '.join(contract.column_names)} "
            f"(remove empty {position}s)",
        )
    typed: list[pl.Series] = []
    for column in contract.columns:
        text = raw[column.name]
        stripped = text.str.strip_chars()
        blank = blanks[column.name]
        if not column.nullable:
            missing = blank | (stripped.str.to_uppercase() == NULL_TEXT)
            if missing.any():
                _refuse(source, position, rows_before, missing, column, "a value (the column is not nullable)", text)
        if column.dtype == pl.String:
            if column.uuid:
                bad = ~blank & ~text.str.contains(UUID_PATTERN)
                if bad.any():
                    _refuse(source, position, rows_before, bad, column, "a UUID like 6f1c0f4e-0000-4000-8000-000000000001", text)
            typed.append(text)
            continue
        if column.dtype == pl.Date:
            parsed = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = ~blank & parsed.is_null()
            expected = "a date formatted YYYY-MM-DD"
        else:
            pattern, expected = _NUMBER[type(column.dtype)]
            bad = ~blank & ~text.str.contains(pattern)
            parsed = None if bad.any() else pl.select(pl.when(blank).then(None).otherwise(stripped)).to_series()
        if bad.any():
            _refuse(source, position, rows_before, bad, column, expected, text)
        typed.append(parsed.cast(column.dtype).alias(column.name))
    extras = [name for name in raw.columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS]
    return pl.DataFrame([*typed, *(raw[name] for name in extras)])
