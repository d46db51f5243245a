"""The resources every domain shares, for the engine `JUMP_WAREHOUSE` picks (DuckDB by default):
the IO manager that writes the `sources` tables and the `warehouse` the steps read, both on the
build of the lakehouse (see `defs/lakehouse/resources.py`), dbt's CLI, and the executor."""

import dagster as dg

from jump_platform import settings
from jump_platform.defs.lakehouse.resources import lakehouse_build
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.io_manager import LakehouseIOManager
from jump_platform.runner.launcher import lakehouse_executor
from jump_platform.warehouses.postgres import BUILD, PostgresIOManager
from jump_platform.warehouses.spark import SparkParquetIOManager


def lakehouse_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]:
    """Configured from the environment when the code location loads; nothing connects yet.

    Runs write the build, never the published lakehouse: the IO manager writes the tables
    `load_sources` hands it there, once that step holds the build (`warehouse.open`)."""
    engine, landing = settings.warehouse(), str(settings.landing_dir())
    if engine == "postgres":
        io_manager = PostgresIOManager(url=settings.postgres_warehouse_url(), schema_suffix=BUILD, landing=landing)
    elif engine == "spark":
        io_manager = SparkParquetIOManager(spark_dir=str(settings.spark_dir()), landing=landing)
    else:
        # The load lets DuckDB read the claimed files of the landing zone (its default readable
        # directory) straight into the tables.
        io_manager = LakehouseIOManager(database=str(settings.build_duckdb_path()), connection_config=settings.duckdb_config())
    return {"io_manager": io_manager, "warehouse": lakehouse_build()}


@dg.definitions
def resources() -> dg.Definitions:
    """Every resource, and the executor of every job: a run's steps execute one after the other, in
    one process, which holds the lakehouse from the first step to the last (see
    jump_platform/runs.py): its checks judge what it builds."""
    return dg.Definitions(resources={**lakehouse_resources(), "dbt": dbt_resource()}, executor=lakehouse_executor)
