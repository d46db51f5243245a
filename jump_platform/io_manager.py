"""An IO manager that writes polars DataFrames into the lakehouse atomically.

`DuckDBPolarsIOManager` deletes a table's rows and then inserts the new ones in two autocommitted
statements: if the insert fails (a new column, a full disk), the table is left empty. Here every
write runs in one transaction, so a failed write leaves the previous table intact, and:
- an unpartitioned output replaces the table (`create or replace`, so its columns may change);
- a partitioned output replaces only its partitions' rows;
- an output whose runtime metadata says `write_mode: append` appends its rows (incremental
  deliveries of the landing zone); an append never changes the table's columns: a column the
  table does not have is refused.
An output may be a polars DataFrame, `TableBatches` (DataFrames written one after the other in
the same transaction, for tables larger than memory) or `TableParts`: parts DuckDB reads itself
(`FileScan`, a query over files of the landing zone, `read_csv` / `read_parquet`) or DataFrame
batches, written straight into the table in one transaction. Reading back is
`DuckDBPolarsIOManager`'s own.

Security: DataFrames reach DuckDB as Arrow; files are read by DuckDB under `readable_directories`
(the landing zone) only. The writing connection has external access off otherwise and its
configuration locked (`LOCKED_DOWN`): SQL that slipped through could neither read nor write
another file, nor turn that back on. Every schema, table and column name is quoted
(`jump_platform.sql`).
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
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler
from pydantic import Field

from jump_platform import settings
from jump_platform.compat import DbIOManager, DbTypeHandler, TableSlice, backoff
from jump_platform.sql import qualified, quote_identifier, short_repr

# An output's `write_mode` metadata: append its rows, or replace the table (the default).
APPEND = "append"
REPLACE = "replace"
# Settings of the connection that writes, applied once it is open (`allowed_directories` cannot
# be set before): no file access beyond the database, its spill files and the directories it may
# read (`readable_directories`), then the configuration locked, so no statement can turn it back on.
LOCKED_DOWN: dict[str, Any] = {"enable_external_access": False, "lock_configuration": True}


@dataclass(frozen=True)
class TableBatches:
    """A table delivered as DataFrame batches, so it never has to fit in memory at once.

    The batches are iterated once, inside the write's transaction.
    """

    batches: Iterable[pl.DataFrame]


@dataclass(frozen=True)
class FileScan:
    """A query DuckDB runs itself on files (`read_csv`, `read_parquet`), with its parameters; the
    writing connection may read files under the IO manager's `readable_directories` only."""

    query: str
    parameters: Sequence[object] = ()


@dataclass(frozen=True)
class TableParts:
    """A table written from parts, one after the other in one transaction: `FileScan`s, which
    DuckDB reads straight into the table, or iterables of DataFrames (as Arrow). No row of a file
    passes through Python. The parts are iterated once, inside the write's transaction."""

    parts: Iterable[FileScan | Iterable[pl.DataFrame]]


def markdown_preview(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    rows = ("| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows())
    return header + "\n".join(rows)


def table_metadata(connection: duckdb.DuckDBPyConnection, schema: str, table: str, preview_rows: int = 5) -> dict[str, Any]:
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


def _columns(connection: duckdb.DuckDBPyConnection, relation: str, parameters: Sequence[object] = ()) -> list[str]:
    return [row[0] for row in connection.execute(f"describe select * from {relation}", list(parameters)).fetchall()]


def _replace_or_append(
    connection: duckdb.DuckDBPyConnection, name: str, source: str, replace: bool, parameters: Sequence[object] = ()
) -> None:
    """Fill table `name` from relation `source` (both already quoted; `source` may be a subquery
    with `parameters`): replace it, or insert by column name. An append never adds a column: one
    the table does not have is refused."""
    parameters = list(parameters)
    if replace:
        connection.execute(f"create or replace table {name} as select * from {source}", parameters)
        return
    connection.execute(f"create table if not exists {name} as select * from {source} limit 0", parameters)
    existing = _columns(connection, name)
    new = [column for column in _columns(connection, source, parameters) if column not in existing]
    if new:
        raise SchemaChangeError(
            f"{name}: an append cannot add column(s) {', '.join(map(short_repr, new))}; the table has {', '.join(existing)}"
        )
    connection.execute(f"insert into {name} by name select * from {source}", parameters)


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


def write_parts(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    parts: Iterable[FileScan | Iterable[pl.DataFrame]],
    replace: bool,
) -> int:
    """Write parts to a table in the open transaction, the first replacing it if `replace`; returns
    the rows written. A `FileScan` goes straight from the files into the table (DuckDB writes the
    row groups of a large insert to the database file as they fill, so memory stays bounded)."""
    name = qualified(schema, table)
    exists = _table_exists(connection, schema, table)
    before = 0 if replace or not exists else connection.execute(f"select count(*) from {name}").fetchone()[0]
    for index, part in enumerate(parts):
        first = replace and index == 0
        if isinstance(part, FileScan):
            # One statement from the files to the table: DuckDB streams it, nothing is materialized.
            _replace_or_append(connection, name, f"({part.query})", replace=first, parameters=part.parameters)
        else:
            write_batches(connection, name, part, replace=first)
    if not _table_exists(connection, schema, table):
        return 0
    return connection.execute(f"select count(*) from {name}").fetchone()[0] - before


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


def _table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


class AtomicDuckDbClient(DuckDbClient):
    """DuckDbClient whose connection wraps the whole write in one transaction, and may read files
    under `readable_directories` only."""

    def __init__(self, readable_directories: Sequence[str] = ()) -> None:
        self.readable_directories = [str(Path(directory).resolve()) for directory in readable_directories]

    @contextmanager
    def connect(self, context, table_slice) -> Iterator[duckdb.DuckDBPyConnection]:
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
            connection.execute("set allowed_directories = ?", [self.readable_directories])
            for setting, value in LOCKED_DOWN.items():
                # Names from the constant above; `lock_configuration` last.
                connection.execute(f"set {setting} = {str(value).lower()}")
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
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection) -> None:
        # Unpartitioned tables are replaced whole by the type handler; appends delete nothing.
        if table_slice.partition_dimensions and _table_exists(connection, table_slice.schema, table_slice.table):
            DuckDbClient.delete_table_slice(context, table_slice, connection)


def write_mode(context: dg.OutputContext) -> str:
    """The output's `write_mode` metadata: APPEND or REPLACE (the default), on every engine."""
    mode = context.output_metadata.get("write_mode")
    return getattr(mode, "value", mode) or REPLACE


def _written(context: dg.OutputContext, table_slice: TableSlice, connection, rows: int) -> Mapping[str, Any]:
    """The metadata of a write: the table's, the rows written and how."""
    metadata = table_metadata(connection, table_slice.schema, table_slice.table)
    return {**metadata, "rows_written": rows, "write_mode": write_mode(context)}


class AtomicPolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection
    ) -> Mapping[str, Any]:
        name = qualified(table_slice.schema, table_slice.table)
        append = write_mode(context) == APPEND
        # A partitioned output's old rows were deleted by the client: insert the slice.
        written = write_batches(connection, name, [obj], replace=not (append or table_slice.partition_dimensions))
        return _written(context, table_slice, connection, written)


class AtomicBatchesTypeHandler(DbTypeHandler[TableBatches]):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: TableBatches, connection
    ) -> Mapping[str, Any]:
        replace = write_mode(context) != APPEND
        written = write_batches_bounded(connection, table_slice.schema, table_slice.table, obj.batches, replace)
        return _written(context, table_slice, connection, written)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> TableBatches:
        frame = DuckDBPolarsTypeHandler().load_input(context, table_slice, connection)
        return TableBatches([frame])

    @property
    def supported_types(self) -> Sequence[type]:
        return [TableBatches]


class AtomicPartsTypeHandler(DbTypeHandler[TableParts]):
    def handle_output(self, context: dg.OutputContext, table_slice: TableSlice, obj: TableParts, connection) -> Mapping[str, Any]:
        replace = write_mode(context) != APPEND
        written = write_parts(connection, table_slice.schema, table_slice.table, obj.parts, replace)
        return _written(context, table_slice, connection, written)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection) -> TableParts:
        return TableParts([[DuckDBPolarsTypeHandler().load_input(context, table_slice, connection)]])

    @property
    def supported_types(self) -> Sequence[type]:
        return [TableParts]


class LakehouseIOManager(DuckDBPolarsIOManager):
    """Stores polars DataFrames and DuckDB file scans in the lakehouse, one transaction per write."""

    readable_directories: list[str] = Field(
        default_factory=lambda: [str(settings.landing_dir())],
        description="Directories whose files the writing connection may read: the landing zone (JUMP_DATA_DIR/sources).",
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [AtomicPolarsTypeHandler(), AtomicBatchesTypeHandler(), AtomicPartsTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=AtomicDuckDbClient(self.readable_directories),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="LakehouseIOManager",
        )
