"""PostgreSQL: the four layers are four schemas of one database, written through write-audit-publish.

- **Write.** Runs write the build's schemas, `sources__build`, `staging__build`, `intermediate__build`,
  `marts__build`, `exports__build` (and `_lakehouse__build`, the snapshot's record): the loader
  through `PostgresIOManager`, dbt through the `postgres` target (dbt_project/macros/
  generate_schema_name.sql). The loader's tables travel as Arrow through ADBC's PostgreSQL driver,
  which writes them with the binary COPY protocol (`adbc_ingest`), never row by row, each table in
  one transaction.
- **Audit.** The checks judge the build's schemas.
- **Publish.** `PostgresSchemas.switch` renames, in one transaction, the published schemas to
  `<layer>__previous` and the build's to `sources`, `staging`... PostgreSQL's DDL is
  transactional: a reader sees the previous lakehouse or the new one, whole, never a mix; one that
  is reading keeps its snapshot of the tables it opened (MVCC; but a REPEATABLE READ transaction
  begun before a publish reads the new tables through its older snapshot, as empty: DDL is not
  MVCC-safe in PostgreSQL). Views follow the tables they read
  (PostgreSQL binds them by object, not by name). A failed audit publishes nothing: the published
  schemas are not touched. `make rollback` swaps `<layer>__previous` back the same way.
- The next run makes its build again from the published schemas (`PostgresSchemas.reset_build`):
  a copy of every table, and of every view made to read the copies.

The schemas' side of write-audit-publish is in `postgres_schemas.py`; this module writes and reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
from pydantic import Field

from jump_platform import settings
from jump_platform.exports import export_csv
from jump_platform.io_manager import APPEND, SchemaChangeError, TableBatches, TableParts, markdown_preview, write_mode
from jump_platform.lakehouse.stores import SNAPSHOT_SCHEMA
from jump_platform.sql import qualified, quote_identifier, short_repr
from jump_platform.warehouses.base import Warehouse, arrow_parts, facts

if TYPE_CHECKING:
    # ADBC's driver loads pyarrow.dataset and pandas (~0.8 s): imported when a connection opens,
    # not when the definitions load (a DuckDB or Spark lakehouse never needs it).
    import adbc_driver_postgresql.dbapi as adbc

# The published schemas; `<layer>__build` are the build's, `<layer>__previous` the ones before the
# last publish (for `make rollback`).
LAYERS = ("sources", "staging", "intermediate", "marts", "exports", SNAPSHOT_SCHEMA)
BUILD, PREVIOUS, EXPIRED = "__build", "__previous", "__expired"
# Where the published schemas step aside while a reset makes the build's views (one transaction).
ASIDE = "__aside"
SCRATCH_PREFIX = "_loading__"
NUMERIC_PLACES = 10


def libpq_env(url: str) -> dict[str, str]:
    """The libpq variables (`PGHOST`...) that say the same as `url`, for dbt's postgres profile."""
    parts = urlsplit(url)
    return {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or ""),
        "PGPASSWORD": unquote(parts.password or ""),
        "PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
    }


def connect(url: str) -> adbc.Connection:
    """An ADBC connection (autocommit off: every statement until `commit` is one transaction)."""
    import adbc_driver_postgresql.dbapi as adbc

    return adbc.connect(url)


def from_arrow(table: pa.Table) -> pl.DataFrame:
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


def plain_arrow(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`reader` with PostgreSQL's `numeric` (an opaque Arrow type, the value's text) as plain text."""
    if not any(isinstance(field.type, pa.ExtensionType) for field in reader.schema):
        return reader
    schema = pa.schema(
        [pa.field(f.name, f.type.storage_type) if isinstance(f.type, pa.ExtensionType) else f for f in reader.schema]
    )
    batches = (
        pa.RecordBatch.from_arrays(
            [column.storage if isinstance(column, pa.ExtensionArray) else column for column in batch.columns], schema=schema
        )
        for batch in reader
    )
    return pa.RecordBatchReader.from_batches(schema, batches)


def column_types(cursor: adbc.Cursor, schema: str, table: str) -> list[tuple[str, str]]:
    """The columns of `schema.table` with their types, in order; none when there is no such table."""
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = $1 and table_name = $2 order by ordinal_position",
        parameters=(schema, table),
    )
    return [(name, kind) for name, kind in cursor.fetchall()]


def schema_names(cursor: adbc.Cursor) -> set[str]:
    """Every schema of the database."""
    cursor.execute("select nspname from pg_namespace")
    return {name for (name,) in cursor.fetchall()}


def _postgres_type(kind: pa.DataType) -> str:
    """The PostgreSQL type of an Arrow column, keeping a decimal's precision and scale (ADBC's own
    `create` would make any decimal a bare `numeric`)."""
    if pa.types.is_decimal(kind):
        return f"numeric({int(kind.precision)}, {int(kind.scale)})"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    names = {
        pa.string(): "text",
        pa.large_string(): "text",
        pa.bool_(): "boolean",
        pa.int16(): "smallint",
        pa.int32(): "integer",
        pa.int64(): "bigint",
        pa.float32(): "real",
        pa.float64(): "double precision",
        pa.date32(): "date",
    }
    if kind not in names:
        raise TypeError(f"no PostgreSQL type for the Arrow type {kind}")
    return names[kind]


def _create(cursor: adbc.Cursor, name: str, schema: pa.Schema) -> None:
    columns = ", ".join(f"{quote_identifier(field.name)} {_postgres_type(field.type)}" for field in schema)
    cursor.execute(f"create table {name} ({columns})")


def write_table(
    connection: adbc.Connection, schema: str, table: str, parts: Iterable[pa.RecordBatchReader], replace: bool
) -> int:
    """Write the Arrow streams `parts` to `schema.table` and commit, all or nothing; return the rows.

    `replace` empties the table and COPYs the new rows in (the views that read it stay); a table
    whose columns change is dropped with its views, which dbt builds again. Otherwise the rows are
    appended by column name, and a column the table does not have is refused (`SchemaChangeError`).
    Every statement runs in the connection's one transaction.
    """
    name, scratch = qualified(schema, table), qualified(schema, SCRATCH_PREFIX + table)
    rows = 0
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"create schema if not exists {quote_identifier(schema)}")
            existing = [column for column, _ in column_types(cursor, schema, table)]
            emptied = not replace
            for reader in parts:
                incoming = reader.schema.names
                if not emptied and existing:
                    if sorted(existing) == sorted(incoming):
                        cursor.execute(f"truncate table {name}")
                    else:
                        cursor.execute(f"drop table {name} cascade")
                        existing = []
                emptied = True
                new = [column for column in incoming if existing and column not in existing]
                if new:
                    raise SchemaChangeError(
                        f"{name}: an append cannot add column(s) {', '.join(map(short_repr, new))}; "
                        f"the table has {', '.join(existing)}"
                    )
                if not existing:
                    _create(cursor, name, reader.schema)
                    existing = incoming
                if incoming == existing:
                    rows += cursor.adbc_ingest(table, reader, mode="append", db_schema_name=schema)
                else:
                    # other columns, or in another order: through a scratch table, inserted by name
                    cursor.execute(f"drop table if exists {scratch}")
                    _create(cursor, scratch, reader.schema)
                    rows += cursor.adbc_ingest(SCRATCH_PREFIX + table, reader, mode="append", db_schema_name=schema)
                    listed = ", ".join(quote_identifier(column) for column in incoming)
                    cursor.execute(f"insert into {name} ({listed}) select {listed} from {scratch}")
                    cursor.execute(f"drop table {scratch}")
            if not emptied and existing:
                # a replacement by nothing
                cursor.execute(f"truncate table {name}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return rows


def _facts(cursor: adbc.Cursor, schema: str, table: str) -> dict[str, Any]:
    columns = column_types(cursor, schema, table)
    if not columns:
        return {}
    cursor.execute(
        "select table_type from information_schema.tables where table_schema = $1 and table_name = $2",
        parameters=(schema, table),
    )
    [(kind,)] = cursor.fetchall()
    rows = None
    if kind == "BASE TABLE":
        cursor.execute(f"select count(*) from {qualified(schema, table)}")
        rows = cursor.fetchone()[0]
    return facts(columns, rows)


class PostgresIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames, `TableBatches` and `TableParts` (DuckDB's file scans of the landing
    zone, streamed as Arrow) as PostgreSQL tables of the build, one transaction per table."""

    url: str = Field(
        default="",
        description=(
            "postgresql:// URL of the database: dg.EnvVar('JUMP_POSTGRES_URL'), so the UI shows no password; "
            "empty: read when writing (the PG* variables, or the local cluster of `make postgres`)."
        ),
    )
    schema_suffix: str = Field(default=BUILD, description="What the build's schemas add to the layers' names.")
    landing: str = Field(description="The landing zone, the only folder DuckDB may read files from.")

    @property
    def database_url(self) -> str:
        return self.url or settings.postgres_warehouse_url()

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | TableBatches | TableParts) -> None:
        if context.has_asset_partitions:
            raise NotImplementedError("partitioned outputs are written to DuckDB only")
        layer, table = context.asset_key.path[-2:]
        schema = layer + self.schema_suffix
        mode = write_mode(context)
        with connect(self.database_url) as connection:
            written = write_table(connection, schema, table, arrow_parts(obj, self.landing), replace=mode != APPEND)
            with connection.cursor() as cursor:
                metadata = _facts(cursor, schema, table)
                cursor.execute(f"select * from {qualified(schema, table)} limit 5")
                preview = from_arrow(cursor.fetch_arrow_table())
            connection.rollback()
        context.add_output_metadata(
            {**metadata, "preview": dg.MetadataValue.md(markdown_preview(preview)), "rows_written": written, "write_mode": mode}
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        layer, table = context.asset_key.path[-2:]
        return PostgresWarehouse(url=self.database_url, schema_suffix=self.schema_suffix).query(
            f"select * from {qualified(layer + self.schema_suffix, table)}"
        )


class PostgresWarehouse(Warehouse):
    """Reads a PostgreSQL lakehouse through ADBC (Arrow all the way): the build's schemas
    (`schema_suffix="__build"`) or the published ones."""

    url: str = Field(description="postgresql:// URL of the database.")
    schema_suffix: str = Field(default="", description="What the schemas read add to the layers' names.")

    def query(self, sql: str) -> pl.DataFrame:
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return from_arrow(cursor.fetch_arrow_table())

    def relation(self, schema: str, table: str) -> str:
        """The layer's schema as this reader sees it: the build's (`marts__build`) or the published one."""
        return qualified(schema + self.schema_suffix, table)

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        with connect(self.url) as connection, connection.cursor() as cursor:
            return [_facts(cursor, schema + self.schema_suffix, table) for schema, table in relations]

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        """The view's rows stream from PostgreSQL (Arrow batches) through an in-memory DuckDB into
        the CSV; a `numeric` column, which the driver hands over as text, is read as a decimal of
        the column's declared scale."""
        relation = schema + self.schema_suffix
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
                "where table_schema = $1 and table_name = $2 order by ordinal_position",
                parameters=(relation, view),
            )
            columns = cursor.fetchall()
            cursor.execute(f"select * from {qualified(relation, view)}")
            reader = plain_arrow(cursor.fetch_record_batch())
            with duckdb.connect(":memory:", config=settings.duckdb_config()) as con:
                con.register("_rows", reader)
                # A bare `numeric` (no declared scale) is read to 10 places; the CSV shows 2.
                selected = ", ".join(
                    f"cast({quote_identifier(name)} as decimal({min(int(precision or 38), 38)}, "
                    f"{NUMERIC_PLACES if scale is None else int(scale)})) as {quote_identifier(name)}"
                    if kind == "numeric"
                    else quote_identifier(name)
                    for name, kind, precision, scale in columns
                )
                return export_csv(con, f"select {selected} from _rows", path)
