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
- There is no build: runs write the tables readers see (`jump_platform.lakehouse.stores.InPlace`).
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
    """Where a table's Parquet files are: the loader's folders for `sources`, Spark's for the rest."""
    if schema == "sources":
        return spark_dir / "sources" / table
    return spark_dir / "warehouse" / f"{schema}.db" / table


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.parquet") if path.is_file()) if folder.is_dir() else []


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
        existing = _parquet_files(folder)
        if replace or not existing:
            old = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.replaced"
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
            return rows
        new_files = _parquet_files(staging)
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
    files = _parquet_files(folder)
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
        files = _parquet_files(folder)
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
    """Reads the Spark lakehouse: Parquet folders through DuckDB, queries in a Spark child process."""

    spark_dir: str = Field(description="The Spark lakehouse's folder (JUMP_DATA_DIR/spark).")

    def query(self, sql: str) -> pl.DataFrame:
        return run_in_spark(Path(self.spark_dir), [sql])[0]

    def relation(self, schema: str, table: str) -> str:
        """Spark SQL quotes names with backticks; ours are checked against `TABLE_NAME` first."""
        for name in (schema, table):
            if not re.fullmatch(TABLE_NAME, name):
                raise ValueError(f"unexpected table name {short_repr(name)}")
        return f"`{schema}`.`{table}`"

    def read_table(self, schema: str, table: str) -> pl.DataFrame:
        """A table's Parquet folder, read without a JVM (a view goes through Spark)."""
        files = _parquet_files(table_dir(Path(self.spark_dir), schema, table))
        if not files:
            return super().read_table(schema, table)
        return pl.read_parquet([str(path) for path in files])

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return [parquet_table_facts(table_dir(Path(self.spark_dir), schema, table)) for schema, table in relations]

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        """The view's rows, computed by Spark into a Parquet file, streamed by DuckDB into the CSV."""
        with tempfile.TemporaryDirectory(prefix="jump-spark-export-") as folder:
            [result] = spark_to_parquet(Path(self.spark_dir), [f"select * from {self.relation(schema, view)}"], Path(folder))
            with duckdb.connect(":memory:", config=settings.duckdb_config()) as con:
                con.read_parquet(str(result)).create_view("_rows")
                return export_csv(con, "select * from _rows", path)


def spark_to_parquet(spark_dir: Path, queries: list[str], folder: Path) -> list[Path]:
    """Run Spark SQL queries in a child process with the lakehouse's session; each result is
    written as a Parquet file in `folder`, whose paths are returned."""
    request = folder / "request.json"
    request.write_text(json.dumps({"spark_dir": str(spark_dir), "queries": queries}))
    done = subprocess.run(
        [sys.executable, "-m", "jump_platform.warehouses.spark", str(request)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    if done.returncode != 0:
        raise RuntimeError(f"Spark query failed: {done.stderr.strip()[-3000:]}")
    return [folder / f"result-{index}.parquet" for index in range(len(queries))]


def run_in_spark(spark_dir: Path, queries: list[str]) -> list[pl.DataFrame]:
    """Run Spark SQL queries in one child process (one Spark session); return their rows."""
    with tempfile.TemporaryDirectory(prefix="jump-spark-") as folder:
        return [pl.read_parquet(path) for path in spark_to_parquet(spark_dir, queries, Path(folder))]


def _serve(request_path: Path) -> None:
    """The child's side of `spark_to_parquet`."""
    from pyspark.sql import SparkSession

    request = json.loads(request_path.read_text())
    builder = SparkSession.builder.enableHiveSupport()
    conf = spark_conf(
        Path(request["spark_dir"]),
        master=settings.spark_master(),
        driver_memory=settings.spark_driver_memory(),
        driver_host=settings.spark_driver_host(),
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        for index, sql in enumerate(request["queries"]):
            pq.write_table(session.sql(sql).toArrow(), request_path.parent / f"result-{index}.parquet")
    finally:
        session.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
