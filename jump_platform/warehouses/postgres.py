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
  is reading keeps its snapshot of the tables it opened (MVCC). Views follow the tables they read
  (PostgreSQL binds them by object, not by name). A failed audit publishes nothing: the published
  schemas are not touched. `make rollback` swaps `<layer>__previous` back the same way.
- The next run makes its build again from the published schemas (`PostgresSchemas.reset_build`):
  a copy of every table, and of every view made to read the copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import adbc_driver_postgresql.dbapi as adbc
import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
from pydantic import Field

from jump_platform import settings
from jump_platform.exports import export_csv
from jump_platform.io_manager import APPEND, SchemaChangeError, TableBatches, TableParts, _markdown_preview
from jump_platform.lakehouse.stores import SNAPSHOT_SCHEMA, NO_BUILD_YET
from jump_platform.sql import qualified, quote_identifier, short_repr
from jump_platform.warehouses.base import Warehouse, arrow_parts, facts

if TYPE_CHECKING:
    from jump_platform.lakehouse.layout import Layout
    from jump_platform.lakehouse.snapshots import Snapshot

# The published schemas; `<layer>__build` are the build's, `<layer>__previous` the ones before the
# last publish (for `make rollback`).
LAYERS = ("sources", "staging", "intermediate", "marts", "exports", SNAPSHOT_SCHEMA)
BUILD, PREVIOUS, EXPIRED = "__build", "__previous", "__expired"
# Where the published schemas step aside while a reset makes the build's views (one transaction).
ASIDE = "__aside"
SCRATCH_PREFIX = "_loading__"
NUMERIC_PLACES = 10


def connect(url: str) -> adbc.Connection:
    """An ADBC connection (autocommit off: every statement until `commit` is one transaction)."""
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


def _names(names: Iterable[str]) -> str:
    """Names as one parameter, for `= any(string_to_array($1, ','))` (no name holds a comma)."""
    return ",".join(names)


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


def _columns(cursor: adbc.Cursor, schema: str, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = $1 and table_name = $2 order by ordinal_position",
        parameters=(schema, table),
    )
    return [(name, kind) for name, kind in cursor.fetchall()]


def _schemas(cursor: adbc.Cursor) -> set[str]:
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
            existing = [column for column, _ in _columns(cursor, schema, table)]
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
    columns = _columns(cursor, schema, table)
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

    url: str = Field(description="postgresql:// URL of the database.")
    schema_suffix: str = Field(default=BUILD, description="What the build's schemas add to the layers' names.")
    landing: str = Field(description="The landing zone, the only folder DuckDB may read files from.")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | TableBatches | TableParts) -> None:
        if context.has_asset_partitions:
            raise NotImplementedError("partitioned outputs are written to DuckDB only")
        layer, table = context.asset_key.path[-2:]
        schema = layer + self.schema_suffix
        mode = context.output_metadata.get("write_mode")
        mode = getattr(mode, "value", mode) or "replace"
        with connect(self.url) as connection:
            written = write_table(connection, schema, table, arrow_parts(obj, self.landing), replace=mode != APPEND)
            with connection.cursor() as cursor:
                metadata = _facts(cursor, schema, table)
                cursor.execute(f"select * from {qualified(schema, table)} limit 5")
                preview = from_arrow(cursor.fetch_arrow_table())
            connection.rollback()
        context.add_output_metadata(
            {**metadata, "preview": dg.MetadataValue.md(_markdown_preview(preview)), "rows_written": written, "write_mode": mode}
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        layer, table = context.asset_key.path[-2:]
        return PostgresWarehouse(url=self.url, schema_suffix=self.schema_suffix).query(
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

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        with connect(self.url) as connection, connection.cursor() as cursor:
            return [_facts(cursor, schema + self.schema_suffix, table) for schema, table in relations]

    @contextmanager
    def rules_connection(self, relations: Sequence[tuple[str, str]]) -> Iterator[duckdb.DuckDBPyConnection]:
        """The relations copied, as of one snapshot of the database, into an in-memory DuckDB."""
        con = duckdb.connect(":memory:", config=settings.duckdb_config())
        try:
            with connect(self.url) as connection, connection.cursor() as cursor:
                cursor.execute("set transaction isolation level repeatable read")
                for schema, table in relations:
                    if not _columns(cursor, schema + self.schema_suffix, table):
                        continue
                    cursor.execute(f"select * from {qualified(schema + self.schema_suffix, table)}")
                    rows = from_arrow(cursor.fetch_arrow_table()).to_arrow()
                    con.execute(f"create schema if not exists {quote_identifier(schema)}")
                    con.register("_incoming", rows)
                    con.execute(f"create table {qualified(schema, table)} as select * from _incoming")
                    con.unregister("_incoming")
                connection.rollback()
            yield con
        finally:
            con.close()

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

    def store(self) -> PostgresSchemas:
        return PostgresSchemas(self.url)


# --- write-audit-publish ---------------------------------------------------------------------------


class PostgresSchemas:
    """The tables' side of write-audit-publish on PostgreSQL (see the module docstring); the
    snapshot folders hold the exports and `snapshot.json` only."""

    has_file = False

    def __init__(self, url: str) -> None:
        self.url = url

    def _snapshot_id(self, cursor: adbc.Cursor, schema: str) -> str | None:
        if not _columns(cursor, schema, "snapshot"):
            return None
        cursor.execute(f"select snapshot_id from {qualified(schema, 'snapshot')}")
        row = cursor.fetchone()
        return row[0] if row else None

    def current_snapshot_id(self, layout: Layout) -> str | None:
        """The record the published schemas hold: they, not the `current` link, say what is published."""
        with connect(self.url) as connection, connection.cursor() as cursor:
            return self._snapshot_id(cursor, SNAPSHOT_SCHEMA)

    def build_missing(self, layout: Layout) -> str | None:
        with connect(self.url) as connection, connection.cursor() as cursor:
            present = _schemas(cursor)
        # The last publish made the build the published schemas: the usual case, said to nobody.
        return None if all(layer + BUILD in present for layer in LAYERS) else NO_BUILD_YET

    def reset_build(self, layout: Layout, current: str | None) -> None:
        """Make the build's schemas a copy of the published ones, in one transaction.

        Tables are copied with their columns, types and constraints (`like ... including all`).
        A view is made again from its definition, which PostgreSQL gives with every name
        qualified by its schema (`search_path` empty): while the statement runs, the build's
        schemas carry the published names (renamed inside this transaction, which nobody else
        sees), so the same definition reads the build's copies.
        """
        with connect(self.url) as connection:
            try:
                with connection.cursor() as cursor:
                    present = _schemas(cursor)
                    for layer in LAYERS:
                        cursor.execute(f"drop schema if exists {quote_identifier(layer + BUILD)} cascade")
                        cursor.execute(f"create schema {quote_identifier(layer + BUILD)}")
                    published = [layer for layer in LAYERS if layer in present]
                    if current is not None and published:
                        self._copy_published(cursor, published)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def _copy_published(self, cursor: adbc.Cursor, layers: list[str]) -> None:
        cursor.execute(
            "select c.relnamespace::regnamespace::text, c.relname, c.relkind "
            "from pg_class c where c.relnamespace::regnamespace::text = any(string_to_array($1, ',')) "
            "and c.relkind in ('r', 'p', 'v') order by c.oid",
            parameters=(_names(layers),),
        )
        relations = cursor.fetchall()
        for schema, name, kind in relations:
            if kind != "v":
                source, target = qualified(schema, name), qualified(schema + BUILD, name)
                cursor.execute(f"create table {target} (like {source} including all)")
                cursor.execute(f"insert into {target} select * from {source}")
        views = [(schema, name) for schema, name, kind in relations if kind == "v"]
        if not views:
            return
        cursor.execute("set local search_path = ''")
        definitions = []
        for schema, name in views:
            cursor.execute("select pg_get_viewdef($1::regclass, true)", parameters=(qualified(schema, name),))
            definitions.append((schema, name, cursor.fetchone()[0]))
        # In creation order (oid), so that a view is made after the views it reads.
        for layer in layers:
            cursor.execute(f"drop schema if exists {quote_identifier(layer + ASIDE)} cascade")
            cursor.execute(f"alter schema {quote_identifier(layer)} rename to {quote_identifier(layer + ASIDE)}")
            cursor.execute(f"alter schema {quote_identifier(layer + BUILD)} rename to {quote_identifier(layer)}")
        for schema, name, definition in definitions:
            cursor.execute(f"create view {qualified(schema, name)} as {definition}")
        for layer in layers:
            cursor.execute(f"alter schema {quote_identifier(layer)} rename to {quote_identifier(layer + BUILD)}")
            cursor.execute(f"alter schema {quote_identifier(layer + ASIDE)} rename to {quote_identifier(layer)}")

    def stamp(self, layout: Layout, snapshot: Snapshot) -> list[str]:
        record = qualified(SNAPSHOT_SCHEMA + BUILD, "snapshot")
        with connect(self.url) as connection:
            with connection.cursor() as cursor:
                cursor.execute(f"create schema if not exists {quote_identifier(SNAPSHOT_SCHEMA + BUILD)}")
                cursor.execute(f"drop table if exists {record}")
                cursor.execute(
                    f"create table {record} as select $1::text as snapshot_id, $2::text as run_id, "
                    "$3::timestamptz as published_at, nullif($4, '')::date as as_of",
                    parameters=(snapshot.snapshot_id, snapshot.run_id, snapshot.published_at, snapshot.as_of or ""),
                )
                cursor.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema = any(string_to_array($1, ',')) order by 1, 2",
                    parameters=(_names(layer + BUILD for layer in LAYERS if layer != SNAPSHOT_SCHEMA),),
                )
                tables = [f"{schema.removesuffix(BUILD)}.{name}" for schema, name in cursor.fetchall()]
            connection.commit()
        return tables

    def copy_into(self, layout: Layout, folder: Path) -> str:
        return "schema rename (PostgreSQL)"

    def _swap(self, renames: Callable[[set[str]], list[tuple[str, str]]]) -> None:
        """Rename schemas in one transaction (`renames` lists them from the schemas present), then
        drop the expired ones in another: a drop waits for readers still reading them, the renames
        wait for nobody."""
        with connect(self.url) as connection:
            try:
                with connection.cursor() as cursor:
                    present = _schemas(cursor)
                    for layer in LAYERS:
                        if layer + EXPIRED in present:
                            cursor.execute(f"drop schema {quote_identifier(layer + EXPIRED)} cascade")
                    for old, new in renames(present):
                        cursor.execute(f"alter schema {quote_identifier(old)} rename to {quote_identifier(new)}")
                connection.commit()
                with connection.cursor() as cursor:
                    present = _schemas(cursor)
                    for layer in LAYERS:
                        if layer + EXPIRED in present:
                            cursor.execute(f"drop schema {quote_identifier(layer + EXPIRED)} cascade")
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def switch(self, layout: Layout, snapshot_id: str) -> None:
        """Publish: the published schemas become `<layer>__previous`, the build's the published ones."""

        def renames(present: set[str]) -> list[tuple[str, str]]:
            steps = []
            for layer in LAYERS:
                if layer + PREVIOUS in present:
                    steps.append((layer + PREVIOUS, layer + EXPIRED))
                if layer in present:
                    steps.append((layer, layer + PREVIOUS))
                steps.append((layer + BUILD, layer))
            return steps

        self._swap(renames)

    def roll_back(self, layout: Layout, snapshot_id: str) -> None:
        """The schemas published before (`<layer>__previous`, snapshot `snapshot_id`) again."""
        with connect(self.url) as connection, connection.cursor() as cursor:
            previous = self._snapshot_id(cursor, SNAPSHOT_SCHEMA + PREVIOUS)
        if previous != snapshot_id:
            raise LookupError(
                f"the schemas published before hold snapshot {previous}, not {snapshot_id}: nothing to roll back to"
            )

        def renames(present: set[str]) -> list[tuple[str, str]]:
            steps = []
            for layer in LAYERS:
                if layer in present:
                    steps.append((layer, layer + EXPIRED))
                if layer + PREVIOUS in present:
                    steps.append((layer + PREVIOUS, layer))
            return steps

        self._swap(renames)

    def size(self, layout: Layout, snapshot_id: str) -> int:
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_class c "
                "where c.relnamespace::regnamespace::text = any(string_to_array($1, ',')) and c.relkind in ('r', 'p')",
                parameters=(_names(LAYERS),),
            )
            return int(cursor.fetchone()[0])
