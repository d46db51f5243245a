"""The resources every domain shares: the lakehouse IO manager and a DuckDB resource."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from jump_platform import settings
from jump_platform.io_manager import LakehouseIOManager


def lakehouse_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]:
    """Configured from the environment when the code location loads; nothing connects yet."""
    database, config = str(settings.duckdb_path()), settings.duckdb_config()
    return {
        # The load lets DuckDB read the claimed files of the landing zone (its default readable
        # directory) straight into the tables.
        "io_manager": LakehouseIOManager(database=database, connection_config=config),
        "duckdb": DuckDBResource(database=database, connection_config=config),
    }
