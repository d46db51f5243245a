"""An IO manager that writes polars DataFrames into the lakehouse atomically.

`DuckDBPolarsIOManager` deletes a table's rows and then inserts the new ones in two autocommitted
statements: if the insert fails (a new column, a full disk), the table is left empty. Here every
write runs in one transaction, so a failed write leaves the previous table intact, and:
- an unpartitioned output replaces the table (`create or replace`, so its columns may change);
- a partitioned output replaces only its partitions' rows;
- an output whose runtime metadata says `write_mode: append` appends its rows (incremental
  deliveries of the landing zone); an append never changes the table's columns: a column the
  table does not have is refused.
An output may be a polars DataFrame or `TableBatches`, DataFrames written one after the other in
the same transaction, for tables larger than memory. Reading back is `DuckDBPolarsIOManager`'s own.

Security: the data reaches DuckDB as Arrow, so the writing connection needs no file access. It is
opened with external access off and its configuration locked (`LOCKED_DOWN`): SQL that slipped
through could neither read nor write a file, nor turn that back on. Every schema, table and
column name is quoted (`jump_platform.sql`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster._utils.backoff import backoff
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler

from jump_platform.sql import qualified, quote_identifier, short_repr
from jump_platform.warehouses.base import markdown_preview

APPEND = "append"
# Settings of the connection that writes: no file access beyond the database (and its spill
# files), then the configuration locked, so no statement can turn it back on.
# NOTE: a loader that reads the landing zone with DuckDB itself (read_csv) would need file access:
# use `allowed_directories` limited to the claimed batch folder instead of switching it off, and
# keep `lock_configuration` last.
LOCKED_DOWN: dict[str, Any] = {"enable_external_access": False, "lock_configuration": True}


@dataclass(frozen=True)
class TableBatches:
    """A table delivered as DataFrame batches, so it never has to fit in memory at once.

    The batches are iterated once, inside the write's transaction.
    """

    batches: Iterable[pl.DataFrame]


def table_metadata(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, preview_rows: int = 5
) -> dict[str, Any]:
    """What a user looks for on a table's materialization: row count, column schema, a preview."""
    name = qualified(schema, table)
    columns = connection.execute(f"describe {name}").fetchall()
    return {
        "dagster/row_count": connection.execute(f"select count(*) from {name}").fetchone()[0],
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(row[0], row[1]) for row in columns]),
        "preview": dg.MetadataValue.md(
            markdown_preview(connection.execute(f"select * from {name} limit ?", [int(preview_rows)]).pl())
        ),
    }


class SchemaChangeError(ValueError):
    """An append that would change a table's columns."""


def _columns(connection: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in connection.execute(f"describe {relation}").fetchall()]


def _replace_or_append(connection: duckdb.DuckDBPyConnection, name: str, source: str, replace: bool) -> None:
    """Fill table `name` from relation `source` (both already quoted): replace it, or insert by
    column name. An append never adds a column: one the table does not have is refused."""
    if replace:
        connection.execute(f"create or replace table {name} as select * from {source}")
        return
    connection.execute(f"create table if not exists {name} as select * from {source} limit 0")
    existing = _columns(connection, name)
    new = [column for column in _columns(connection, source) if column not in existing]
    if new:
        raise SchemaChangeError(
            f"{name}: an append cannot add column(s) {', '.join(map(short_repr, new))}; "
            f"the table has {', '.join(existing)}"
        )
    connection.execute(f"insert into {name} by name select * from {source}")


def write_batches(connection: duckdb.DuckDBPyConnection, name: str, batches: Iterable[pl.DataFrame], replace: bool) -> int:
    """Write batches to table `name` (quoted, see `qualified`) in the open transaction; `replace`
    replaces it with the first one."""
    rows = 0
    for index, batch in enumerate(batches):
        connection.register("_incoming", batch.to_arrow())
        _replace_or_append(connection, name, quote_identifier("_incoming"), replace=replace and index == 0)
        connection.unregister("_incoming")
        rows += batch.height
    return rows


SCRATCH_SCHEMA = "_loading"


def write_batches_bounded(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, batches: Iterable[pl.DataFrame], replace: bool
) -> int:
    """Write batches with bounded memory, and still all or nothing.

    DuckDB keeps a transaction's new rows in memory, so one transaction over 10M rows grows with
    them. Instead each batch commits on its own into a scratch table (`_loading.<schema>__<table>`);
    then one short transaction swaps or appends it into the table. If anything fails before the
    swap, the table is untouched and the scratch table is dropped. Expects an open transaction, as
    `AtomicDuckDbClient` gives, and leaves one open for it to commit.
    """
    name, scratch = qualified(schema, table), qualified(SCRATCH_SCHEMA, f"{schema}__{table}")
    connection.commit()
    connection.execute(f"create schema if not exists {quote_identifier(SCRATCH_SCHEMA)}")
    rows, in_transaction = 0, False
    try:
        for index, batch in enumerate(batches):
            connection.begin()
            in_transaction = True
            rows += write_batches(connection, scratch, [batch], replace=index == 0)
            connection.commit()
            in_transaction = False
    except BaseException:
        if in_transaction:
            connection.rollback()
        connection.execute(f"drop table if exists {scratch}")
        connection.begin()
        raise
    connection.begin()
    if rows:
        _replace_or_append(connection, name, scratch, replace=replace)
    connection.execute(f"drop table if exists {scratch}")
    return rows


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
            kwargs={
                "database": database,
                "read_only": False,
                "config": {**context.resource_config["connection_config"], **LOCKED_DOWN},
            },
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


def _write_mode(context: dg.OutputContext) -> str:
    mode = context.output_metadata.get("write_mode")
    return getattr(mode, "value", mode) or "replace"


class AtomicPolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection
    ) -> Mapping[str, Any]:  # noqa: ANN001
        name = qualified(table_slice.schema, table_slice.table)
        append = _write_mode(context) == APPEND
        # A partitioned output's old rows were deleted by the client: insert the slice.
        written = write_batches(connection, name, [obj], replace=not (append or table_slice.partition_dimensions))
        metadata = table_metadata(connection, table_slice.schema, table_slice.table)
        return {**metadata, "rows_written": written, "write_mode": _write_mode(context)}


class AtomicBatchesTypeHandler(DbTypeHandler[TableBatches]):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: TableBatches, connection
    ) -> Mapping[str, Any]:  # noqa: ANN001
        replace = _write_mode(context) != APPEND
        written = write_batches_bounded(connection, table_slice.schema, table_slice.table, obj.batches, replace)
        metadata = table_metadata(connection, table_slice.schema, table_slice.table)
        return {**metadata, "rows_written": written, "write_mode": _write_mode(context)}

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> TableBatches:  # noqa: ANN001
        frame = DuckDBPolarsTypeHandler().load_input(context, table_slice, connection)
        return TableBatches([frame])

    @property
    def supported_types(self) -> Sequence[type]:
        return [TableBatches]


class LakehouseIOManager(DuckDBPolarsIOManager):
    """Stores polars DataFrames in the lakehouse, one transaction per write."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [AtomicPolarsTypeHandler(), AtomicBatchesTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:  # noqa: ANN001
        return DbIOManager(
            db_client=AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="LakehouseIOManager",
        )
