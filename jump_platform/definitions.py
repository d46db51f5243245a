"""The Jump lakehouse code location: every domain's definitions, merged.

Loaded by `workspace.yaml`, `dagster dev` and the `jump_platform.cli` runner. Building it opens no
database: resources connect only when a step runs.
"""

import dagster as dg

from jump_platform import settings
from jump_platform.defs.automation.schedules import schedules
from jump_platform.defs.automation.sensors import SENSORS
from jump_platform.defs.dashboard.assets import dashboard_marts
from jump_platform.defs.exports.assets import csv_exports
from jump_platform.defs.jobs import JOBS
from jump_platform.defs.lakehouse.assets import published_lakehouse
from jump_platform.defs.notifications.sensors import notify_on_run_failure, notify_on_run_success
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.reverse_etl.assets import reverse_etl_assets
from jump_platform.defs.sources.assets import demo_extracts, demo_invoices_by_month, load_sources
from jump_platform.defs.transform.assets import jump_dbt_models
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.runs import lakehouse_executor


def build_defs() -> dg.Definitions:
    """The definitions, with resources configured from the environment as it is now.

    A setting that cannot be used stops the code location from loading, with its one-line error:
    no run starts with it, whoever launches it.
    """
    settings.check()
    return dg.Definitions(
        assets=[
            demo_extracts,
            demo_invoices_by_month,
            load_sources,
            jump_dbt_models,
            csv_exports,
            published_lakehouse,
            dashboard_marts,
            *reverse_etl_assets,
        ],
        jobs=JOBS,
        schedules=schedules(),
        sensors=[*SENSORS, notify_on_run_failure, notify_on_run_success],
        resources={**lakehouse_resources(), "dbt": dbt_resource()},
        # Steps of a run execute one after the other, in one process, which holds the lakehouse from
        # the first step to the last (see jump_platform/runs.py): its checks judge what it builds.
        executor=lakehouse_executor,
    )


defs = build_defs()
