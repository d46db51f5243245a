"""Spark: tables are folders of Parquet files under one directory, the catalog a Hive metastore.

- The loader writes each `sources` table as a Parquet folder, `<spark dir>/sources/<table>/`,
  from Arrow streams (DuckDB's scans of the landing zone), with pyarrow. A replacement is written
  beside the folder, then swapped in by two renames; an append adds files, moved into the folder
  once all are written. dbt's `on-run-start` hook
  (macros/spark_sources.sql) registers the folders as the Spark tables `sources.<table>`.
- dbt-spark builds staging, intermediate and marts in Spark (`session` method, `local[2]`), as
  Parquet folders `<spark dir>/warehouse/<schema>.db/<table>/`.
- The assets read what dbt built without a JVM where they can: row counts, column schemas and the
  tables the Python rules judge come from the Parquet folders, through DuckDB. The exports' queries
  (Spark SQL) run in Spark, in a child process (`python -m jump_platform.warehouses.spark`), so
  that the embedded metastore is never held by two processes.
- Write-audit-publish: runs write the folders above, the build; a publish keeps hard links to its
  Parquet files in the snapshot folder, `<state>/snapshots/<id>/tables/<schema>/<table>/`, and the
  rename of `current` publishes them with the exports (`spark_tables.py`). Readers of the published
  tables (`SparkWarehouse`, `make query`, the dashboard) go through the link `<spark dir>/published
  -> <state>/current/tables`; their Spark SQL runs in a session of its own whose in-memory catalog
  names those folders (no metastore: a run holding it never locks a reader out).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from jump_platform import settings
from jump_platform.exports import export_csv
from jump_platform.io_manager import APPEND, SchemaChangeError, TableBatches, TableParts, markdown_preview, write_mode
from jump_platform.sql import short_repr
from jump_platform.warehouses.base import Warehouse, arrow_parts, facts
from jump_platform.warehouses.spark_tables import PUBLISHED, build_table_folder, parquet_files, snapshot_tables

TABLE_NAME = r"[a-z0-9_]+"


def spark_conf(
    spark_dir: Path, master: str = "local[2]", driver_memory: str = "1g", driver_host: str = "127.0.0.1"
) -> dict[str, str]:
    """The session's settings; dbt's `spark` profile target (dbt_project/profiles.yml) says the same."""
    return {
        "spark.master": master,
        "spark.driver.memory": driver_memory,
        "spark.driver.host": driver_host,
        "spark.sql.warehouse.dir": f"{spark_dir}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # as dbt-spark sets it
        "spark.sql.ansi.enabled": "false",
    }


def table_dir(spark_dir: Path, schema: str, table: str) -> Path:
    """Where a build table's Parquet files are: the loader's folders for `sources`, Spark's for the rest."""
    return build_table_folder(spark_dir, schema, table)


def write_table(folder: Path, parts: Iterable[pa.RecordBatchReader], replace: bool) -> int:
    """Write the Arrow streams `parts` as Parquet files of the table folder `folder`, one file per
    part, all or nothing; return the rows.

    The files are written in a hidden folder beside it first. `replace` then swaps the folders;
    otherwise the files move into the table's folder, after a check that they bring no new column
    (`SchemaChangeError`).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.writing"
    staging.mkdir()
    rows = 0
    try:
        for index, reader in enumerate(parts):
            with pq.ParquetWriter(staging / f"part-{uuid.uuid4().hex}-{index:05d}.parquet", reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        existing = parquet_files(folder)
        if replace or not existing:
            old = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.replaced"
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
            return rows
        new_files = parquet_files(staging)
        known = set(pq.read_schema(existing[0]).names)
        for path in new_files:
            new = [column for column in pq.read_schema(path).names if column not in known]
            if new:
                raise SchemaChangeError(
                    f"sources.{folder.name}: an append cannot add column(s) {', '.join(map(short_repr, new))}; "
                    f"the table has {', '.join(sorted(known))}"
                )
        for path in new_files:
            path.rename(folder / path.name)
        return rows
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def parquet_table_facts(folder: Path) -> dict[str, Any]:
    """Column schema and row count of a table's Parquet folder (from the files' footers); {} when
    it has no files (a view of Spark's catalog, or a table not written yet)."""
    files = parquet_files(folder)
    if not files:
        return {}
    schema = pq.read_schema(files[0])
    rows = sum(pq.ParquetFile(path).metadata.num_rows for path in files)
    return facts([(field.name, str(field.type)) for field in schema], rows)


class SparkParquetIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames, `TableBatches` and `TableParts` (DuckDB's file scans of the landing
    zone, streamed as Arrow) as the Parquet folders Spark reads."""

    spark_dir: str = Field(description="The Spark lakehouse's folder (JUMP_DATA_DIR/spark).")
    landing: str = Field(description="The landing zone, the only folder DuckDB may read files from.")

    def _folder(self, asset_key: dg.AssetKey) -> Path:
        schema, table = asset_key.path[-2:]
        if not (re.fullmatch(TABLE_NAME, schema) and re.fullmatch(TABLE_NAME, table)):
            raise ValueError(f"unexpected table name {short_repr('.'.join(asset_key.path))}")
        return table_dir(Path(self.spark_dir), schema, table)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | TableBatches | TableParts) -> None:
        if context.has_asset_partitions:
            raise NotImplementedError("partitioned outputs are written to DuckDB only")
        mode = write_mode(context)
        folder = self._folder(context.asset_key)
        written = write_table(folder, arrow_parts(obj, self.landing), replace=mode != APPEND)
        files = parquet_files(folder)
        preview = pl.scan_parquet([str(path) for path in files]).head(5).collect() if files else pl.DataFrame()
        context.add_output_metadata(
            {
                **parquet_table_facts(folder),
                "preview": dg.MetadataValue.md(markdown_preview(preview)),
                "rows_written": written,
                "write_mode": mode,
                "path": dg.MetadataValue.path(str(folder)),
            }
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        return pl.read_parquet(str(self._folder(context.asset_key) / "*.parquet"))


class SparkWarehouse(Warehouse):
    """Reads the Spark lakehouse: the published tables (by default) or the build's (`build`), as
    Parquet folders through DuckDB or polars, and Spark SQL in a child process."""

    spark_dir: str = Field(description="The Spark lakehouse's folder (JUMP_DATA_DIR/spark).")
    build: bool = Field(default=False, description="Read the build's tables (a run's), not the published ones.")
    tables_dir: str = Field(
        default="", description="The published tables' folder, pinned (`pinned`); empty: through <spark dir>/published."
    )

    def published_tables(self) -> Path:
        """The published snapshot's tables, the link resolved now: every read from the returned
        folder sees one snapshot, whatever is published meanwhile."""
        if self.tables_dir:
            return Path(self.tables_dir)
        link = Path(self.spark_dir) / PUBLISHED
        if not link.exists():
            raise LookupError(f"nothing is published on Spark yet ({link} leads to no tables): run 'make run' first")
        return link.resolve()

    def pinned(self) -> SparkWarehouse:
        """A reader of the snapshot published now, which stays on it: tables read one by one from
        it belong together (one snapshot), as a single query's do."""
        return SparkWarehouse(spark_dir=self.spark_dir, tables_dir=str(self.published_tables()))

    def _folder(self, schema: str, table: str) -> Path:
        if self.build:
            return table_dir(Path(self.spark_dir), schema, table)
        return self.published_tables() / schema / table

    def query(self, sql: str) -> pl.DataFrame:
        """Spark SQL on the build (the run's metastore) or on the published tables (their folders
        named in a catalog of the child's own; the published views, staging's and the exports',
        are not there: they have no files)."""
        if self.build:
            return run_in_spark(Path(self.spark_dir), [sql])[0]
        tables = snapshot_tables(self.published_tables().parent)
        return run_in_spark(Path(self.spark_dir), [sql], {f"{s}.{t}": str(path) for (s, t), path in tables.items()})[0]

    def relation(self, schema: str, table: str) -> str:
        """Spark SQL quotes names with backticks; ours are checked against `TABLE_NAME` first."""
        for name in (schema, table):
            if not re.fullmatch(TABLE_NAME, name):
                raise ValueError(f"unexpected table name {short_repr(name)}")
        return f"`{schema}`.`{table}`"

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        """A table's Parquet folder, read without a JVM (a view of the build goes through Spark)."""
        self.relation(schema, table)
        files = parquet_files(self._folder(schema, table))
        if not files:
            return super().read_table(schema, table)
        return pl.read_parquet([str(path) for path in files])

    def head(self, schema: str, table: str, rows: int) -> pl.DataFrame:
        """A table's first rows, read from its Parquet files without a JVM (a Spark application per
        preview cost a run on a cluster minutes: one application, executors on every worker, each)."""
        self.relation(schema, table)
        files = parquet_files(self._folder(schema, table))
        if not files:
            return super().head(schema, table, rows)
        return pl.scan_parquet([str(path) for path in files]).head(rows).collect()

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return [parquet_table_facts(self._folder(schema, table)) for schema, table in relations]

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        """The view's rows, computed by Spark into a Parquet file, streamed by DuckDB into the CSV."""
        with tempfile.TemporaryDirectory(prefix="jump-spark-export-") as folder:
            [result] = spark_to_parquet(Path(self.spark_dir), [f"select * from {self.relation(schema, view)}"], Path(folder))
            with duckdb.connect(":memory:", config=settings.duckdb_config()) as con:
                con.read_parquet(str(result)).create_view("_rows")
                return export_csv(con, "select * from _rows", path)


def spark_to_parquet(spark_dir: Path, queries: list[str], folder: Path, tables: dict[str, str] | None = None) -> list[Path]:
    """Run Spark SQL queries in a child process with the lakehouse's session; each result is
    written as a Parquet file in `folder`, whose paths are returned. With `tables`
    (`"schema.table"` -> Parquet folder) the session's catalog is its own, in memory, holding
    those tables only, and the metastore is not opened."""
    request = folder / "request.json"
    request.write_text(json.dumps({"spark_dir": str(spark_dir), "queries": queries, "tables": tables}))
    done = subprocess.run(
        [sys.executable, "-m", "jump_platform.warehouses.spark", str(request)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    if done.returncode != 0:
        raise RuntimeError(f"Spark query failed: {done.stderr.strip()[-3000:]}")
    return [folder / f"result-{index}.parquet" for index in range(len(queries))]


def run_in_spark(spark_dir: Path, queries: list[str], tables: dict[str, str] | None = None) -> list[pl.DataFrame]:
    """Run Spark SQL queries in one child process (one Spark session); return their rows."""
    with tempfile.TemporaryDirectory(prefix="jump-spark-") as folder:
        return [pl.read_parquet(path) for path in spark_to_parquet(spark_dir, queries, Path(folder), tables)]


def _serve(request_path: Path) -> None:
    """The child's side of `spark_to_parquet`."""
    from pyspark.sql import SparkSession

    request = json.loads(request_path.read_text())
    tables = request.get("tables")
    conf = spark_conf(
        Path(request["spark_dir"]),
        master=settings.spark_master(),
        driver_memory=settings.spark_driver_memory(),
        driver_host=settings.spark_driver_host(),
    )
    if tables is None:
        builder = SparkSession.builder.enableHiveSupport()
    else:
        # the published tables: a catalog of this session's own, its warehouse a scratch folder
        builder = SparkSession.builder.config("spark.sql.catalogImplementation", "in-memory")
        conf["spark.sql.warehouse.dir"] = str(request_path.parent / "warehouse")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        for name, location in sorted((tables or {}).items()):
            schema, table = name.split(".")
            session.sql(f"create database if not exists {_spark_identifier(schema)}")
            session.sql(
                f"create table {_spark_identifier(schema)}.{_spark_identifier(table)} "
                f"using parquet location '{_sql_string(location)}'"
            )
        for index, sql in enumerate(request["queries"]):
            pq.write_table(session.sql(sql).toArrow(), request_path.parent / f"result-{index}.parquet")
    finally:
        session.stop()


def _spark_identifier(name: str) -> str:
    """`name` as one Spark SQL identifier: in backticks, a backtick inside doubled."""
    return "`" + name.replace("`", "``") + "`"


def _sql_string(text: str) -> str:
    """`text` inside a Spark SQL string literal."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
