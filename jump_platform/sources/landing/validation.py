"""Validation of an extract against its table's contract: the columns, then every value, in SQL.

What is refused, always with the file, the line (or row), the column, what was expected and what
was found (an escaped excerpt of at most ~40 characters, so a hostile value cannot flood a log):
- a missing, unexpected (unless the contract allows extras) or duplicated column;
- an empty line (every field empty), rather than a row of nulls;
- an empty value, or the literal text NULL (upper case: the null marker of database exports;
  `null` is a value), in a column that is not nullable;
- an id that is not a UUID (upper-case UUIDs are accepted and written in lower case), a date
  that is not YYYY-MM-DD, a number that does not parse, an amount with a third decimal.

The values are judged by DuckDB on the delivery as text (`judge`): one scan counts, per column, the
values that break a rule, with one test per value where it can; only if some do does a second
scan find the first one and what it breaks (`refuse_first_problem`). What DuckDB writes is the
same text cast by `typed_columns`, so a value that passed always casts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import duckdb
import polars as pl

from jump_platform.sources.contracts import LOAD_METADATA_COLUMNS, Column, TableContract
from jump_platform.sql import quote_identifier, short_repr


class ExtractError(ValueError):
    """An extract file that cannot be loaded, with where and why."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        # A file name may hold newlines or control characters: shown escaped, never raw.
        shown = source if source.isprintable() else short_repr(source, 200)
        super().__init__(f"{shown}: {problem}")


_DELIMITER_HINTS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
# RE2 patterns DuckDB matches against a whole value, and what the message says was expected. The
# digits are capped so that a value that matches always fits the column's type.
_NUMBER = {
    pl.Int32: (r"\s*[+-]?\d{1,9}\s*", "an integer"),
    pl.Decimal: (r"\s*[+-]?\d{1,16}(\.\d{1,2})?\s*", "a decimal number with at most 2 decimals, like 1234.50"),
}
DATE_FORMAT = "%Y-%m-%d"
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The literal a database export writes for a missing value (PostgreSQL, MySQL, SQL Server and SQLite
# all write it in upper case). Matched in upper case only: `null` or `Null` is a value someone typed
# (a client may be called "null"), and refusing it would refuse a row the source system holds.
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


@dataclass(frozen=True)
class Scan:
    """A delivery as DuckDB reads it: `relation` (SQL after `from`, with its `parameters`) holds
    the file's columns and `position`, the 1-based number of the row in the file. Every contract
    column is text, except those in `typed` (a Parquet column already of the contract's type)."""

    relation: str
    parameters: list[object]
    position: str
    typed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Rule:
    column: Column
    bad: str  # SQL, true for a value that breaks the rule
    expected: str


def _blank(column: str) -> str:
    """SQL: the value is missing, empty or only spaces."""
    return f"({column} is null or regexp_full_match({column}, '\\s*'))"


def _rules(column: Column, typed: frozenset[str]) -> list[_Rule]:
    """The rules on one column's values, in the order problems are reported: a missing value
    first, then a UUID's shape, then the type."""
    name = quote_identifier(column.name)
    if column.name in typed:
        return [] if column.nullable else [_Rule(column, f"{name} is null", "a value (the column is not nullable)")]
    rules = []
    blank = _blank(name)
    if not column.nullable:
        missing = f"({blank} or regexp_full_match({name}, '\\s*{NULL_TEXT}\\s*'))"
        rules.append(_Rule(column, missing, "a value (the column is not nullable)"))
    present = f"not {blank}"
    if column.uuid:
        shape = f"{present} and not regexp_full_match({name}, '{UUID_PATTERN}')"
        rules.append(_Rule(column, shape, "a UUID like 6f1c0f4e-0000-4000-8000-000000000001"))
    if column.dtype == pl.Date:
        rules.append(
            _Rule(column, f"{present} and try_strptime(trim({name}), '{DATE_FORMAT}') is null", "a date formatted YYYY-MM-DD")
        )
    elif column.dtype != pl.String:
        pattern, expected = _NUMBER[type(column.dtype)]
        rules.append(_Rule(column, f"{present} and not regexp_full_match({name}, '{pattern}')", expected))
    return rules


def _valid(column: Column, typed: frozenset[str]) -> str | None:
    """SQL true exactly for a value that breaks none of the column's rules, in as few calls as
    possible (what the scan of every row evaluates); None if every value is valid."""
    name = quote_identifier(column.name)
    if column.name in typed:
        return None if column.nullable else f"{name} is not null"
    if column.uuid:
        # A UUID is neither blank nor NULL: one match says the value is right.
        check = f"regexp_full_match({name}, '{UUID_PATTERN}')"
    elif column.dtype == pl.Date:
        check = f"try_strptime(trim({name}), '{DATE_FORMAT}') is not null"
    elif column.dtype != pl.String:
        check = f"regexp_full_match({name}, '{_NUMBER[type(column.dtype)][0]}')"
    elif column.nullable:
        return None
    else:
        check = f"not regexp_full_match({name}, '\\s*({NULL_TEXT})?\\s*')"
    if column.nullable:
        check = f"{_blank(name)} or {check}"
    return f"coalesce({check}, false)"


@dataclass(frozen=True)
class Verdict:
    """What one scan of a delivery found: its rows, and per contract column the rows with a value
    that breaks one of its rules."""

    rows: int
    invalid: dict[str, int]

    @property
    def passed(self) -> bool:
        return not any(self.invalid.values())


def judge(con: duckdb.DuckDBPyConnection, scan: Scan, contract: TableContract) -> Verdict:
    """Judge every value of the delivery, in one scan: for each column, how many values are invalid."""
    checked = [(c.name, valid) for c in contract.columns if (valid := _valid(c, scan.typed)) is not None]
    aggregates = ["count(*)", *(f"count(*) filter (where not ({valid}))" for _, valid in checked)]
    [(rows, *invalid)] = con.execute(f"select {', '.join(aggregates)} from {scan.relation}", scan.parameters).fetchall()
    return Verdict(rows, dict(zip((name for name, _ in checked), invalid, strict=True)))


def refuse_first_problem(
    con: duckdb.DuckDBPyConnection, scan: Scan, contract: TableContract, verdict: Verdict, source: str, word: str
) -> None:
    """Raise ExtractError naming the first problem found, if any: `word` (line or row) and its
    number, the column, what was expected and what was found. An empty row comes first, then the
    columns in the contract's order, each with its rules in order (so a missing value is named
    before a malformed one). A CSV's line is its row's position plus one (line 1 is the header).

    Runs only when the scan found a problem: it scans the delivery once more, for details.
    """
    if verdict.passed:
        return
    offset = 1 if word == "line" else 0
    position = quote_identifier(scan.position)
    column = next(c for c in contract.columns if verdict.invalid.get(c.name))
    rules = _rules(column, scan.typed)
    empty = " and ".join(_blank(quote_identifier(c.name)) for c in contract.columns if c.name not in scan.typed)
    aggregates = [f"min({position}) filter (where {empty or 'false'})"]
    aggregates += [f"min({position}) filter (where {rule.bad})" for rule in rules]
    [(first_empty, *firsts)] = con.execute(f"select {', '.join(aggregates)} from {scan.relation}", scan.parameters).fetchall()
    if first_empty is not None:
        names = ", ".join(contract.column_names)
        raise ExtractError(
            source, f"{word} {first_empty + offset}: an empty {word}; expected values for {names} (remove empty {word}s)"
        )
    rule, first = next((rule, first) for rule, first in zip(rules, firsts, strict=True) if first is not None)
    [(value,)] = con.execute(
        f"select {quote_identifier(column.name)} from {scan.relation} where {position} = ?", [*scan.parameters, first]
    ).fetchall()
    shown = "an empty value" if value is None or not str(value).strip() else short_repr(value)
    count = verdict.invalid[column.name]
    more = f" ({count - 1} more bad value(s) in this column)" if count > 1 else ""
    raise ExtractError(source, f"{word} {first + offset}, column {column.name}: expected {rule.expected}, found {shown}{more}")


def typed_columns(contract: TableContract, typed: frozenset[str] = frozenset(), extras: tuple[str, ...] = ()) -> list[str]:
    """The select list that types a validated delivery by its contract: text is kept as it is
    (UUIDs in lower case), dates, numbers and amounts are trimmed and cast, empty values become
    null; extra columns stay text."""
    selected = []
    for column in contract.columns:
        name = quote_identifier(column.name)
        if column.uuid:
            # A UUID's case means nothing (RFC 9562): written lower case, as every system of the
            # platform writes them, so that an id delivered in upper case still matches its rows.
            selected.append(f"lower({name}) as {name}")
        elif column.name in typed or column.dtype == pl.String:
            selected.append(name)
        elif column.dtype == pl.Date:
            selected.append(f"cast(strptime(nullif(trim({name}), ''), '{DATE_FORMAT}') as date) as {name}")
        else:
            selected.append(f"cast(nullif(trim({name}), '') as {column.sql_type}) as {name}")
    return selected + [quote_identifier(name) for name in extras]
