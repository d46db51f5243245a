"""Spark: the tables are Parquet folders, the build's catalogued in a Hive metastore, the published
ones hard links in the snapshot that `current` names (`warehouses/spark_tables.py`)."""

from __future__ import annotations

from jump_platform import settings
from jump_platform.engines.base import Engine, NoLakehouseError, QueryShell, duckdb_cli
from jump_platform.lakehouse.stores import TableStore
from jump_platform.sql import qualified, quote_identifier, string_literal
from jump_platform.warehouses import Warehouse
from jump_platform.warehouses.spark import SparkParquetIOManager, SparkWarehouse
from jump_platform.warehouses.spark_tables import PUBLISHED, SparkFolders, build_tables, snapshot_tables


class Spark(Engine):
    name = "spark"
    dbt_target = "spark"
    failed_build_hint = (
        "It stays as it is until the next run, to inspect: the build's Parquet folders under data/spark/ "
        "(make query LAKEHOUSE=build)."
    )

    def io_manager(self, landing: str) -> SparkParquetIOManager:
        return SparkParquetIOManager(spark_dir=str(settings.spark_dir()), landing=landing)

    def build_warehouse(self, database: str, connection_config: dict[str, str]) -> Warehouse:
        return SparkWarehouse(spark_dir=str(settings.spark_dir()), build=True)

    def published_warehouse(self) -> Warehouse:
        return SparkWarehouse(spark_dir=str(settings.spark_dir()))

    def table_store(self) -> TableStore:
        return SparkFolders(settings.spark_dir())

    def location(self) -> str:
        return f"Spark, {settings.spark_dir()}"

    def dbt_env(self) -> dict[str, str]:
        return {"JUMP_SPARK_DIR": str(settings.spark_dir())}

    def query_shell(self, schema: str, build: bool) -> QueryShell:
        """DuckDB's shell, in memory, with a view per table over its Parquet files: the published
        ones through `<spark dir>/published` (a view reads the snapshot published when it runs), or
        the build's. Views of Spark's own (staging, exports) have no files and are not there."""
        spark = settings.spark_dir()
        if build:
            tables = build_tables(spark)
        else:
            link = spark / PUBLISHED
            if not link.exists():
                raise NoLakehouseError(f"Nothing is published on Spark yet ({link}): run 'make run' first.")
            tables = {key: link / key[0] / key[1] for key in snapshot_tables(link.resolve().parent)}
        if not tables:
            raise NoLakehouseError(f"No Spark tables under {spark}: run 'make run' first.")
        statements = [f"create schema if not exists {quote_identifier(name)}" for name in sorted({key[0] for key in tables})]
        statements += [
            f"create view {qualified(*key)} as from read_parquet({string_literal(f'{folder}/*.parquet')})"
            for key, folder in sorted(tables.items())
        ]
        return QueryShell(
            [duckdb_cli(), "-cmd", "; ".join([*statements, f"use {quote_identifier(schema)}", "show tables"]) + ";"],
            note=f"Spark's tables as views over their Parquet folders under {spark} (Spark's own views are not there).",
        )
