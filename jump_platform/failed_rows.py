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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

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
