"""Validation of an extract against its table's contract: the columns, then every value."""

from __future__ import annotations

import polars as pl

from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS, TableContract

class ExtractError(ValueError):
    """An extract file that cannot be loaded, with where and why."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")



_DELIMITER_HINTS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
_NUMBER = {
    pl.Int32: (r"^\s*[+-]?\d+\s*$", "an integer"),
    pl.Decimal: (r"^\s*[+-]?\d+(\.\d{1,2})?\s*$", "a decimal number with at most 2 decimals, like 1234.50"),
}



def check_columns(columns: list[str], contract: TableContract, source: str) -> tuple[str, ...]:
    """Refuse missing columns; return the unexpected ones, which are kept."""
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
        raise ExtractError(source, f"missing column(s) {expected}; found columns: {', '.join(columns)}{hint}")
    return tuple(name for name in columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS)


def validate(
    raw: pl.DataFrame, contract: TableContract, source: str, position: str, rows_before: int = 0
) -> pl.DataFrame:
    """Type one batch of text columns by the contract, or name the first value that does not parse.

    `rows_before` counts the rows of earlier batches, so positions are those of the whole file.
    """
    typed: list[pl.Series] = []
    for column in contract.columns:
        text = raw[column.name]
        if column.dtype == pl.String:
            typed.append(text)
            continue
        stripped = text.str.strip_chars()
        blank = text.is_null() | (stripped == "")
        if column.dtype == pl.Date:
            parsed = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = ~blank & parsed.is_null()
            expected = "a date formatted YYYY-MM-DD"
        else:
            pattern, expected = _NUMBER[type(column.dtype)]
            bad = ~blank & ~text.str.contains(pattern)
            parsed = None if bad.any() else pl.select(pl.when(blank).then(None).otherwise(stripped)).to_series()
        if bad.any():
            index = int(bad.arg_true()[0])
            number = rows_before + index + (2 if position == "line" else 1)
            count = int(bad.sum())
            more = f" ({count - 1} more bad value(s) in this column nearby)" if count > 1 else ""
            raise ExtractError(
                source,
                f"{position} {number}, column {column.name}: expected {expected}, found {text[index]!r}{more}",
            )
        typed.append(parsed.cast(column.dtype).alias(column.name))
    extras = [name for name in raw.columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS]
    return pl.DataFrame([*typed, *(raw[name] for name in extras)])


