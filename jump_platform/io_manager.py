"""An IO manager that writes polars DataFrames into the lakehouse atomically.

`DuckDBPolarsIOManager` deletes a table's rows and then inserts the new ones in two autocommitted
statements: if the insert fails (a new column, a full disk), the table is left empty. Here every
write runs in one transaction, so a failed write leaves the previous table intact, and:
- an unpartitioned output replaces the table (`create or replace`, so its columns may change);
- a partitioned output replaces only its partitions' rows;
- an output whose runtime metadata says `write_mode: append` appends its rows, adding any new
  columns to the table first (incremental deliveries of the landing zone).
Reading back is `DuckDBPolarsIOManager`'s own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster._utils.backoff import backoff
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler

APPEND = "append"


def table_metadata(frame: pl.DataFrame, preview_rows: int = 5) -> dict[str, Any]:
    """What a user looks for on a table's materialization: row count, column schema, a preview."""
    return {
        "dagster/row_count": frame.height,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=str(dtype)) for name, dtype in frame.schema.items()]
        ),
        "preview": dg.MetadataValue.md(_markdown_preview(frame.head(preview_rows))),
    }


def _markdown_preview(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    rows = ("| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows())
    return header + "\n".join(rows)


def _table_exists(connection: duckdb.DuckDBPyConnection, table_slice: TableSlice) -> bool:
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()[0]
    )


class AtomicDuckDbClient(DuckDbClient):
    """DuckDbClient whose connection wraps the whole write in one transaction."""

    @staticmethod
    @contextmanager
    def connect(context, table_slice) -> Iterator[duckdb.DuckDBPyConnection]:  # noqa: ANN001 (Dagster's signature)
        database = context.resource_config["database"]
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Another process may hold the file: retry for a while, as DuckDbClient does.
        connection = backoff(
            fn=duckdb.connect,
            retry_on=(RuntimeError, duckdb.IOException),
            kwargs={"database": database, "read_only": False, "config": context.resource_config["connection_config"]},
            max_retries=10,
        )
        try:
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.close()

    @staticmethod
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection) -> None:  # noqa: ANN001
        # Unpartitioned tables are replaced whole by the type handler; appends delete nothing.
        if table_slice.partition_dimensions and _table_exists(connection, table_slice):
            DuckDbClient.delete_table_slice(context, table_slice, connection)


class AtomicPolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection
    ) -> Mapping[str, Any]:  # noqa: ANN001
        name = f"{table_slice.schema}.{table_slice.table}"
        arrow_table = obj.to_arrow()
        connection.register("_incoming", arrow_table)
        write_mode = context.output_metadata.get("write_mode")
        append = getattr(write_mode, "value", write_mode) == APPEND
        if table_slice.partition_dimensions or append:
            connection.execute(f"create table if not exists {name} as select * from _incoming limit 0")
            existing = {row[0] for row in connection.execute(f"describe {name}").fetchall()}
            for column in (c for c in obj.columns if c not in existing):
                column_type = connection.execute(f'select typeof("{column}") from _incoming limit 1').fetchone()
                connection.execute(f'alter table {name} add column "{column}" {column_type[0] if column_type else "varchar"}')
            connection.execute(f"insert into {name} by name select * from _incoming")
        else:
            connection.execute(f"create or replace table {name} as select * from _incoming")
        connection.unregister("_incoming")
        total = connection.execute(f"select count(*) from {name}").fetchone()[0]
        return {**table_metadata(obj), "dagster/row_count": total, "rows_written": obj.height, "write_mode": APPEND if append else "replace"}


class LakehouseIOManager(DuckDBPolarsIOManager):
    """Stores polars DataFrames in the lakehouse, one transaction per write."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [AtomicPolarsTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:  # noqa: ANN001
        return DbIOManager(
            db_client=AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="LakehouseIOManager",
        )
