"""What the assets need from a warehouse, whatever the engine, and what the engines' IO managers share."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa

from jump_platform.io_manager import FileScan, TableBatches, TableParts
from jump_platform.sql import qualified


def facts(columns: Sequence[tuple[str, str]], row_count: int | None) -> dict[str, Any]:
    """A table's column schema, and its row count unless it is None (a view's rows are not
    counted: counting them would run its query once more), as Dagster shows them."""
    result: dict[str, Any] = {
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, str(kind)) for name, kind in columns])
    }
    if row_count is not None:
        result["dagster/row_count"] = int(row_count)
    return result


class Warehouse(dg.ConfigurableResource):
    """Reads the lakehouse on one engine; each subclass implements these for its engine.

    Schema names are the published ones (`sources`, `marts`...), whatever the engine calls the
    build's schemas.
    """

    def query(self, sql: str) -> pl.DataFrame:
        """Run one query on the engine and return its rows (tests, small tables)."""
        raise NotImplementedError

    def relation(self, schema: str, table: str) -> str:
        """`schema.table` as the engine's SQL names it, quoted."""
        return qualified(schema, table)

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        """A whole table (a mart, for the dashboard and the syncs)."""
        return self.query(f"select * from {self.relation(schema, table)}")

    def head(self, schema: str, table: str, rows: int) -> pl.DataFrame:
        """The first `rows` rows of a table (a preview in the catalog)."""
        return self.query(f"select * from {self.relation(schema, table)} limit {int(rows)}")

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """For each `(schema, table)`, its column schema and, for a table, its row count (`facts`);
        {} when the engine does not hold it."""
        raise NotImplementedError

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        """Stream the rows of `schema.view` into a CSV at `path` (`jump_platform.exports.export_csv`:
        amounts with 2 decimals, a temporary file renamed); return the rows."""
        raise NotImplementedError


def arrow_parts(obj: pl.DataFrame | TableBatches | TableParts, landing: str) -> Iterator[pa.RecordBatchReader]:
    """What an asset hands the IO manager, as Arrow streams, one per part: a `FileScan` is read by
    an in-memory DuckDB that may read files under `landing` only (`landing.scanning.scanner`), a
    DataFrame or batches of them are handed over as Arrow. Nothing is held whole in memory. Each
    stream must be read before the next is asked for."""
    from jump_platform.sources.landing.scanning import BATCH_ROWS, scanner

    if isinstance(obj, pl.DataFrame):
        parts: Iterable[FileScan | Iterable[pl.DataFrame]] = [[obj]]
    elif isinstance(obj, TableBatches):
        parts = [obj.batches]
    else:
        parts = obj.parts
    for part in parts:
        if isinstance(part, FileScan):
            with scanner(Path(landing)) as con:
                yield con.execute(part.query, list(part.parameters)).to_arrow_reader(BATCH_ROWS)
            continue
        frames = iter(part)
        first = next(frames, None)
        if first is None:
            continue
        # Plain strings, as DuckDB hands them (PostgreSQL's COPY and Parquet take both the same).
        tables = (frame.to_arrow(compat_level=pl.CompatLevel.oldest()) for frame in itertools.chain([first], frames))
        head = next(tables)
        yield pa.RecordBatchReader.from_batches(
            head.schema, (batch for table in itertools.chain([head], tables) for batch in table.to_batches())
        )
