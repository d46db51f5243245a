"""PostgreSQL: the four layers are four schemas of one database.

The loader's tables travel as Arrow through ADBC's PostgreSQL driver, which writes them with the
binary COPY protocol (`adbc_ingest`), never row by row. Each table is written in one transaction:
a replacement empties the table and copies the new rows in, an append copies them after the
others, and the commit comes last. PostgreSQL's DDL is transactional too, so readers see the old
rows until the commit, and a failed write leaves the table as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
from pydantic import Field

from jump_platform.io_manager import APPEND, SchemaChangeError, TableBatches
from jump_platform.sql import qualified, quote_identifier, short_repr
from jump_platform.warehouses.base import Warehouse, facts, markdown_preview

SCRATCH_PREFIX = "_loading__"


def connect(url: str) -> adbc.Connection:
    """An ADBC connection (autocommit off: every statement until `commit` is one transaction)."""
    return adbc.connect(url)


def _from_arrow(table: pa.Table) -> pl.DataFrame:
    """Rows read through ADBC as a polars DataFrame. The driver hands PostgreSQL's `numeric` over
    as its text (an opaque Arrow type): it becomes a decimal with as many places as the values
    have, so no cent is lost."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if isinstance(field.type, pa.OpaqueType):
            text = pl.Series(field.name, column.cast(field.type.storage_type))
            places = text.str.extract(r"\.(\d+)$").str.len_chars().max() or 0
            columns.append(text.str.to_decimal(scale=int(places)))
        else:
            columns.append(pl.Series(field.name, column))
    return pl.DataFrame(columns)


def _columns(cursor: adbc.Cursor, schema: str, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = $1 and table_name = $2 order by ordinal_position",
        parameters=(schema, table),
    )
    return [(name, kind) for name, kind in cursor.fetchall()]


def _arrow(batch: pl.DataFrame) -> pa.Table:
    # Plain (not large) strings: the driver's COPY writer maps both to text.
    return batch.to_arrow(compat_level=pl.CompatLevel.oldest())


def write_table(connection: adbc.Connection, schema: str, table: str, batches: Iterable[pl.DataFrame], replace: bool) -> int:
    """Write `batches` to `schema.table` and commit, all or nothing; return the rows written.

    `replace` empties the table and COPYs the new rows in (the staging views that read it stay);
    a table whose columns change is dropped with its views, which dbt builds again. Otherwise the
    rows are appended by column name, and a column the table does not have is refused
    (`SchemaChangeError`). Every statement runs in the connection's one transaction.
    """
    name, scratch = qualified(schema, table), qualified(schema, SCRATCH_PREFIX + table)
    batches = iter(batches)
    first = next(batches, None)
    rows = 0

    def ingest(target: str, mode: str, order: list[str] | None = None) -> None:
        nonlocal rows
        for index, batch in enumerate(itertools.chain([first], batches)):
            batch = batch.select(order) if order else batch
            cursor.adbc_ingest(target, _arrow(batch), mode=mode if index == 0 else "append", db_schema_name=schema)
            rows += batch.height

    try:
        with connection.cursor() as cursor:
            cursor.execute(f"create schema if not exists {quote_identifier(schema)}")
            existing = [column for column, _ in _columns(cursor, schema, table)]
            incoming = first.columns if first is not None else []
            if replace and existing:
                if sorted(existing) == sorted(incoming) or first is None:
                    cursor.execute(f"truncate table {name}")
                else:
                    cursor.execute(f"drop table {name} cascade")
                    existing = []
            if first is not None:
                new = [column for column in incoming if existing and column not in existing]
                if new:
                    raise SchemaChangeError(
                        f"{name}: an append cannot add column(s) {', '.join(map(short_repr, new))}; "
                        f"the table has {', '.join(existing)}"
                    )
                if not existing:
                    ingest(table, "create")
                elif sorted(existing) == sorted(incoming):
                    ingest(table, "append", order=existing)
                else:
                    # fewer columns than the table: through a scratch table, inserted by name
                    cursor.execute(f"drop table if exists {scratch}")
                    ingest(SCRATCH_PREFIX + table, "create")
                    listed = ", ".join(quote_identifier(column) for column in incoming)
                    cursor.execute(f"insert into {name} ({listed}) select {listed} from {scratch}")
                    cursor.execute(f"drop table {scratch}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return rows


def postgres_table_facts(cursor: adbc.Cursor, schema: str, table: str) -> dict[str, Any]:
    columns = _columns(cursor, schema, table)
    if not columns:
        return {}
    cursor.execute(f"select count(*) from {qualified(schema, table)}")
    return facts(cursor.fetchone()[0], columns)


class PostgresIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames (or `TableBatches`) as PostgreSQL tables, one transaction per table."""

    url: str = Field(description="postgresql:// URL of the database.")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | TableBatches) -> None:
        if context.has_asset_partitions:
            raise NotImplementedError("partitioned outputs are written to DuckDB only")
        schema, table = context.asset_key.path[-2:]
        mode = context.output_metadata.get("write_mode")
        mode = getattr(mode, "value", mode) or "replace"
        batches = obj.batches if isinstance(obj, TableBatches) else [obj]
        with connect(self.url) as connection:
            written = write_table(connection, schema, table, batches, replace=mode != APPEND)
            with connection.cursor() as cursor:
                metadata = postgres_table_facts(cursor, schema, table)
                cursor.execute(f"select * from {qualified(schema, table)} limit 5")
                preview = _from_arrow(cursor.fetch_arrow_table())
            connection.rollback()
        context.add_output_metadata(
            {**metadata, "preview": dg.MetadataValue.md(markdown_preview(preview)), "rows_written": written, "write_mode": mode}
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        schema, table = context.asset_key.path[-2:]
        return PostgresWarehouse(url=self.url).query(f"select * from {qualified(schema, table)}")


class PostgresWarehouse(Warehouse):
    """Reads the lakehouse's PostgreSQL database through ADBC (Arrow all the way to polars)."""

    url: str = Field(description="postgresql:// URL of the database.")

    def query(self, sql: str) -> pl.DataFrame:
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return _from_arrow(cursor.fetch_arrow_table())

    def table_facts(self, schema: str, table: str) -> dict[str, Any]:
        with connect(self.url) as connection, connection.cursor() as cursor:
            return postgres_table_facts(cursor, schema, table)

    @contextmanager
    def rules_connection(self, relations: Sequence[tuple[str, str]]) -> Iterator[duckdb.DuckDBPyConnection]:
        """The relations copied, as of one snapshot of the database, into an in-memory DuckDB."""
        con = duckdb.connect(":memory:")
        try:
            with connect(self.url) as connection, connection.cursor() as cursor:
                cursor.execute("set transaction isolation level repeatable read")
                for schema, table in relations:
                    if not _columns(cursor, schema, table):
                        continue
                    cursor.execute(f"select * from {qualified(schema, table)}")
                    rows = _from_arrow(cursor.fetch_arrow_table()).to_arrow()
                    con.execute(f"create schema if not exists {quote_identifier(schema)}")
                    con.register("_incoming", rows)
                    con.execute(f"create table {qualified(schema, table)} as select * from _incoming")
                    con.unregister("_incoming")
                connection.rollback()
            yield con
        finally:
            con.close()
