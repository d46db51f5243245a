"""What a failed dbt test found: the first of the rows its query returns, for the Dagster check.

dagster-dbt reports how many rows a test failed on; this reads a sample of them back, after dbt has
exited, by running the test's own compiled query (from dbt's `run_results.json`) once more with a
limit. The contract tests on the sources (`dbt_project/tests/generic/`) return one row per offending
row, its key first (`offending_key`), then what is wrong with it: the first column gives the
`sample_ids`, the whole rows the `sample_rows` (a table). Any other test gives its own columns the same way.
The sample is ordered by its first column, so a rerun on the same data shows the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from jump_platform.sql import quote_identifier

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class FailedRows:
    """The first rows of a failed test's query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    @property
    def sample_ids(self) -> list[str]:
        """The first column of each row, as text (a null reads `<null>`)."""
        return [_text(row[0]) for row in self.rows]

    @property
    def records(self) -> list[dict[str, str | int | float | bool | None]]:
        """The rows as records of plain values (dates, decimals... as text), as Dagster's table
        metadata holds them."""
        return [{column: _plain(value) for column, value in zip(self.columns, row, strict=True)} for row in self.rows]


def _text(value: object) -> str:
    return "<null>" if value is None else str(value)


def _plain(value: object) -> str | int | float | bool | None:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def sample_query(compiled_sql: str, limit: int = SAMPLE_SIZE) -> str:
    """The test's query, cut to its first `limit` rows by its first column. The query keeps its
    own lines, so that a comment ending it cannot swallow what follows."""
    return f"select * from (\n{compiled_sql.strip().rstrip(';')}\n) as failed_rows order by 1 limit {int(limit)}"


def sample_failed_rows(query: Callable[[str], pl.DataFrame], compiled_sql: str, limit: int = SAMPLE_SIZE) -> FailedRows:
    """Run the test's query again through `query` (an engine's `Warehouse.query`), for its first
    `limit` rows."""
    frame = query(sample_query(compiled_sql, limit))
    return FailedRows(columns=frame.columns, rows=frame.rows())


# --- a failed build, said where the user looks: beside each rejected file -----------------------

# Offending rows read back per failed rule, and lines shown per file.
ORIGINS_LIMIT = 1000
LINES_SHOWN = 10
FAILED_STATUSES = ("error", "fail", "runtime error")


def one_line(text: str, limit: int = 400) -> str:
    """A message of dbt or the database on one line (a reason file's first line is what is shown)."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def failed_nodes(run_results: dict[str, Any], exclude: set[str] = frozenset()) -> list[str]:
    """Each dbt node that failed (but those in `exclude`), with the database's message: `model.jump_platform.x:
    Runtime Error in model x (models/…): Conversion Error: Casting value … out of range`."""
    return [
        f"{result['unique_id']}: {one_line(result.get('message') or result['status'])}"
        for result in run_results.get("results", [])
        if result["status"] in FAILED_STATUSES and result["unique_id"] not in exclude
    ]


def origins_query(relation: str, key_column: str, compiled_sql: str, limit: int = ORIGINS_LIMIT) -> str:
    """Where the rows a source rule's test found came from: the file and line of each row of the
    source table (`relation`, already quoted) whose key is one of the test's `offending_key`s."""
    key = quote_identifier(key_column)
    metadata = ", ".join(quote_identifier(name) for name in ("_batch_id", "_source_file", "_source_line"))
    return (
        f"select {metadata}, {key} as offending_key from {relation} "
        f"where {key} in (select offending_key from (\n{compiled_sql.strip().rstrip(';')}\n) as failed_rows) "
        f"order by {metadata} limit {int(limit)}"
    )


def offending_rows_by_file(origins: pl.DataFrame, batches: list[str], rule: str) -> dict[str, str]:
    """`{"<batch id>/<file>": what the rule found in it}` for the rows of `origins` (see
    `origins_query`) that came in one of `batches`: their lines and keys, the first LINES_SHOWN."""
    by_file = (
        origins.filter(pl.col("_batch_id").is_in(batches))
        .group_by("_batch_id", "_source_file", maintain_order=True)
        .agg(pl.col("_source_line"), pl.col("offending_key"))
    )
    found = {}
    for batch_id, source_file, lines, keys in by_file.iter_rows():
        shown = ", ".join(f"line {line} ({key})" for line, key in zip(lines[:LINES_SHOWN], keys[:LINES_SHOWN], strict=True))
        more = f" and {len(lines) - LINES_SHOWN} more" if len(lines) > LINES_SHOWN else ""
        found[f"{batch_id}/{source_file}"] = f"rule {rule}: {len(lines)} offending row(s) from this file: {shown}{more}"
    return found
