"""The resources every domain shares, for the engine `JUMP_WAREHOUSE` picks (DuckDB by default,
see `jump_platform/engines/`): the IO manager that writes the `sources` tables and the `warehouse`
the steps read, both on the build of the lakehouse (see `defs/lakehouse/resources.py`), dbt's CLI,
and the executor."""

import dagster as dg

from jump_platform import engines, settings
from jump_platform.defs.lakehouse.resources import lakehouse_build
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.runner.launcher import lakehouse_executor


def lakehouse_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManagerFactory]:
    """Configured from the environment when the code location loads; nothing connects yet.

    Runs write the build, never the published lakehouse: the IO manager writes the tables
    `load_sources` hands it there, once that step holds the build (`warehouse.open`)."""
    io_manager = engines.current().io_manager(str(settings.landing_dir()))
    return {"io_manager": io_manager, "warehouse": lakehouse_build()}


@dg.definitions
def resources() -> dg.Definitions:
    """Every resource, and the executor of every job: a run's steps execute one after the other, in
    one process, which holds the lakehouse from the first step to the last (see
    jump_platform/runner/launcher.py): its checks judge what it builds."""
    return dg.Definitions(resources={**lakehouse_resources(), "dbt": dbt_resource()}, executor=lakehouse_executor)
