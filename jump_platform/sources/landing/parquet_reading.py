"""Reading a Parquet delivery with DuckDB's `read_parquet`: validated in one scan, then written as is."""

from __future__ import annotations

import duckdb
import polars as pl

from jump_platform.sources.landing.scanning import numbered, position_column
from jump_platform.sources.landing.validation import ExtractError, Scan, check_columns, judge, refuse_first_problem
from jump_platform.sources.landing.zone import Delivery
from jump_platform.sql import quote_identifier, short_repr


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
        quote_identifier(c) if c in typed else f"cast({quote_identifier(c)} as varchar) as {quote_identifier(c)}" for c in columns
    )


def check_parquet(con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str) -> tuple[tuple[str, ...], int]:
    columns, typed, extras = _parquet_columns(con, delivery, source)
    position = position_column(columns)
    relation = (
        f"(select {_as_text(columns, typed)}, {quote_identifier(position)} "
        f"from read_parquet(?) {numbered(columns, position)}) as delivery"
    )
    scan = Scan(relation, [str(delivery.path)], position, typed)
    try:
        verdict = judge(con, scan, delivery.contract)
    except duckdb.Error as error:
        raise ExtractError(source, f"not a readable Parquet file: {short_repr(str(error), 200)}") from None
    refuse_first_problem(con, scan, delivery.contract, verdict, source, "row")
    return extras, verdict.rows


def parquet_source(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, source: str
) -> tuple[str, list[object], frozenset[str], tuple[str, ...], str]:
    """The relation a validated Parquet file is written from, its parameters, its typed and extra
    columns, and the column numbering its rows (from 1)."""
    columns, typed, extras = _parquet_columns(con, delivery, source)
    position = position_column(columns)
    relation = (
        f"(select {_as_text(columns, typed)}, {quote_identifier(position)} "
        f"from read_parquet(?) {numbered(columns, position)}) as delivery"
    )
    return relation, [str(delivery.path)], typed, extras, position
