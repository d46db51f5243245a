"""The `dashboard` group: the dashboard's copy of the marts it shows (see `jump_platform/dashboard/`).

`make dashboard` serves the Streamlit app on that copy. The asset is downstream of
`lakehouse/published` (eager): it refreshes after each publish, and since only a build whose blocking
checks all passed is published, it shows only figures that passed their checks.
"""

import datetime as dt

import dagster as dg

from jump_platform import settings
from jump_platform.dashboard.snapshot import write_snapshot
from jump_platform.defs.catalog import OWNERS
from jump_platform.defs.lakehouse.resources import PUBLISHED
from jump_platform.published import published_warehouse


def last_published(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dt.datetime:
    """When the lakehouse was last published: the latest materialization of `keys` (the publish)."""
    stamps = [event.timestamp for event in (instance.get_latest_materialization_event(key) for key in keys) if event is not None]
    if not stamps:
        # copied without any recorded build (a lakehouse built elsewhere): the file's own time
        return dt.datetime.fromtimestamp(settings.duckdb_path().stat().st_mtime, dt.UTC)
    return dt.datetime.fromtimestamp(max(stamps), dt.UTC)


@dg.asset(
    key=dg.AssetKey(["dashboard", "marts"]),
    # The marts it shows reach it through the publish: it copies only what was published.
    deps=[PUBLISHED],
    group_name="dashboard",
    owners=OWNERS,
    kinds={"streamlit", "duckdb"},
    automation_condition=dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed(),
    # it reads the lakehouse file, which no writer may hold meanwhile
    pool="lakehouse",
)
def dashboard_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The marts the dashboard shows (monthly turnover, by entity, NPS, cohorts, movements, cumulative
    turnover per freelancer, the as-of date), copied from the published lakehouse into
    `data/dashboard/dashboard.duckdb`, which `make dashboard` serves. Written to a temporary file and
    renamed, so the dashboard never sees half a copy, and never opens the lakehouse itself."""
    published_at = last_published(context.instance, [PUBLISHED])
    rows = write_snapshot(published_warehouse() or settings.duckdb_path(), settings.dashboard_path(), published_at)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.dashboard_path())),
            "published_at": published_at.isoformat(),
            "rows_per_mart": dg.MetadataValue.json(rows),
            "serve": "make dashboard",
        }
    )
