"""Sensors: files dropped in the landing zone are loaded, and models follow their upstream assets.

Both run in the daemon of the Docker image, on by default; `make dev` starts them stopped
(`JUMP_AUTOMATION=off` unless set: nothing runs that nobody asked for). Neither opens the
lakehouse: the landing-zone sensor reads files only, and the runs they launch queue one at a time
(see `instance/dagster.yaml`), so two writers never race for DuckDB.
"""

import json

import dagster as dg

from jump_platform import settings
from jump_platform.defs.as_of import as_of_tags
from jump_platform.defs.jobs import load_and_refresh_job
from jump_platform.defs.sources.assets import source_key
from jump_platform.sources import watch

DELIVERED_TABLES_TAG = "jump/delivered_tables"


def _default_status() -> dg.DefaultSensorStatus:
    """Running unless `JUMP_AUTOMATION=off`, read when the code location loads (a UI toggle wins)."""
    return dg.DefaultSensorStatus.RUNNING if settings.automation_on() else dg.DefaultSensorStatus.STOPPED


@dg.sensor(
    job=load_and_refresh_job,
    minimum_interval_seconds=15,
    default_status=_default_status(),
    description="Loads new or changed files of the landing zone (data/sources/), then refreshes what "
    "depends on the tables they deliver. Remembers each file by the hash of its content.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run for the files that are new or changed since the last tick, none otherwise.

    The cursor is `{path relative to the landing zone: sha256}` of the files waiting now. A loaded
    file leaves the landing zone (the run archives or rejects it), so it leaves the cursor too, and
    the same content delivered again later is loaded again. The run selects the `sources` tables the
    files deliver and everything downstream of them: a model reading a table that was not delivered
    is left alone.
    """
    root = settings.landing_dir()
    previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = watch.fingerprint(root)
    cursor = json.dumps(current, sort_keys=True)
    changed = watch.changed_files(previous, current)
    tables = watch.tables_delivered(root, changed) if changed else set()
    if not tables:
        return dg.SensorResult(skip_reason=f"No new or changed file in {root}.", cursor=cursor)
    context.log.info(f"New or changed in {root}: {', '.join(changed)}")
    selection = dg.AssetSelection.assets(*(source_key(table) for table in sorted(tables))).downstream()
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=watch.run_key(root, changed, current),
                asset_selection=sorted(selection.resolve(context.repository_def.asset_graph)),
                tags={DELIVERED_TABLES_TAG: ",".join(sorted(tables)), **as_of_tags()},
            )
        ],
        cursor=cursor,
    )


automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=_default_status(),
    minimum_interval_seconds=30,
    description="Brings the dbt models and exports up to date when an asset they read changes "
    "(their `eager` automation condition): re-materialize a source table in the UI and its "
    "dependents follow.",
)
