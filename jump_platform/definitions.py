"""The Jump lakehouse code location: every domain's definitions, merged.

Loaded by `workspace.yaml`, `dagster dev` and the `jump_platform.cli` runner. Building it opens no
database: resources connect only when a step runs.
"""

import dagster as dg

from jump_platform.defs.automation.schedules import schedules
from jump_platform.defs.automation.sensors import SENSORS
from jump_platform.defs.exports.assets import csv_exports
from jump_platform.defs.jobs import JOBS
from jump_platform.defs.notifications.sensors import notify_on_run_failure, notify_on_run_success
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import demo_extracts, demo_invoices_by_month, load_sources
from jump_platform.defs.sources.checks import source_checks
from jump_platform.defs.transform.assets import jump_dbt_models
from jump_platform.defs.transform.checks import mart_checks
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.runs import lakehouse_executor


def build_defs() -> dg.Definitions:
    """The definitions, with resources configured from the environment as it is now."""
    return dg.Definitions(
        assets=[demo_extracts, demo_invoices_by_month, load_sources, jump_dbt_models, csv_exports],
        asset_checks=[*source_checks, *mart_checks],
        jobs=JOBS,
        schedules=schedules(),
        sensors=[*SENSORS, notify_on_run_failure, notify_on_run_success],
        resources={**lakehouse_resources(), "dbt": dbt_resource()},
        # DuckDB has one writer: steps of a run execute one after the other, in one process, which
        # holds the lakehouse from the first step to the last (see jump_platform/runs.py).
        executor=lakehouse_executor,
    )


defs = build_defs()
