"""The resources every domain shares: the IO manager that writes the `sources` tables and the
`warehouse` the assets read, both for the engine `JUMP_WAREHOUSE` picks (DuckDB by default)."""

import dagster as dg

from jump_platform import settings
from jump_platform.io_manager import LakehouseIOManager
from jump_platform.warehouses.duckdb import DuckDBWarehouse
from jump_platform.warehouses.postgres import PostgresIOManager, PostgresWarehouse
from jump_platform.warehouses.spark import SparkParquetIOManager, SparkWarehouse


def lakehouse_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]:
    """Configured from the environment when the code location loads; nothing connects yet."""
    engine = settings.warehouse()
    if engine == "postgres":
        url = settings.postgres_warehouse_url()
        return {"io_manager": PostgresIOManager(url=url), "warehouse": PostgresWarehouse(url=url)}
    if engine == "spark":
        spark_dir = str(settings.spark_dir())
        return {"io_manager": SparkParquetIOManager(spark_dir=spark_dir), "warehouse": SparkWarehouse(spark_dir=spark_dir)}
    database, config = str(settings.duckdb_path()), settings.duckdb_config()
    return {
        "io_manager": LakehouseIOManager(database=database, connection_config=config),
        "warehouse": DuckDBWarehouse(database=database, connection_config=config),
    }
