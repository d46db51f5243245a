"""Spark: the tables are Parquet folders written in place, with a Hive metastore as the catalog."""

from __future__ import annotations

from jump_platform import settings
from jump_platform.engines.base import Engine, QueryShell, duckdb_cli
from jump_platform.lakehouse.stores import InPlace, TableStore
from jump_platform.warehouses import Warehouse
from jump_platform.warehouses.spark import SparkParquetIOManager, SparkWarehouse


class Spark(Engine):
    name = "spark"
    dbt_target = "spark"
    failed_build_hint = (
        "Spark writes its tables in place: the sources loaded by this run stay until the next delivery; "
        "no model was rebuilt from them."
    )

    def io_manager(self, landing: str) -> SparkParquetIOManager:
        return SparkParquetIOManager(spark_dir=str(settings.spark_dir()), landing=landing)

    def build_warehouse(self, database: str, connection_config: dict[str, str]) -> Warehouse:
        return SparkWarehouse(spark_dir=str(settings.spark_dir()))

    def published_warehouse(self) -> Warehouse:
        return SparkWarehouse(spark_dir=str(settings.spark_dir()))

    def table_store(self) -> TableStore:
        return InPlace(settings.spark_dir())

    def location(self) -> str:
        return f"Spark, {settings.spark_dir()}"

    def dbt_env(self) -> dict[str, str]:
        return {"JUMP_SPARK_DIR": str(settings.spark_dir())}

    def query_shell(self, schema: str, build: bool) -> QueryShell:
        """No shell of its own: how to read the Parquet folders with DuckDB."""
        spark = settings.spark_dir()
        example = f"{duckdb_cli()} -c \"from '{spark}/warehouse/{schema}.db/<table>/*.parquet'\""
        return QueryShell(
            None,
            note=(
                f"Spark's tables are Parquet folders under {spark}/ (sources/<table>/, warehouse/<schema>.db/<table>/): "
                f"read them with DuckDB, e.g. {example}"
            ),
        )
