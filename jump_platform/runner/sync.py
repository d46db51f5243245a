"""Run the reverse ETL syncs and print what each did: `python -m jump_platform.runner.sync` (`make sync`).

The `sync` job runs like `make run` (`jump_platform.runner.cli.run_job`: in process, in its turn on the
lakehouse, on the Dagster instance of `DAGSTER_HOME`), so it shows in the UI's run history. The exit
status is non-zero when a sync failed.
"""

import io
import os
import sys

import dagster as dg

from jump_platform import settings

COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_failed")

# Why a sync that ran no step of its own did nothing, when its target is not configured: the same
# settings its asset reads (`defs/reverse_etl/assets.py`), and how to give it one.
NOT_CONFIGURED = {
    "reverse_etl/crm__freelancer_health": (
        settings.crm_postgres_url,
        "skipped: no CRM database configured (set JUMP_CRM_POSTGRES_URL, or `make postgres` starts a local one)",
    ),
    "reverse_etl/finance__monthly_kpis": (
        settings.kpi_endpoint_url,
        "skipped: no finance endpoint configured (set JUMP_KPI_ENDPOINT_URL)",
    ),
}


def _step_of(name: str, steps: dict[str, str] | list[str]) -> str | None:
    """The step of asset `name` (`reverse_etl/x` runs as step `reverse_etl__x`) among `steps`."""
    step = name.replace("/", "__")
    return step if step in steps else None


def not_run_reason(name: str, failed_steps: dict[str, str], skipped_steps: list[str]) -> str:
    """Why the sync of asset `name` materialized nothing: it failed (and with what), a step it
    needs failed, or its target is not configured."""
    step = _step_of(name, failed_steps)
    if step:
        return f"FAILED: {failed_steps[step]}"
    if _step_of(name, skipped_steps):
        return "not run: a step it needs failed (see above)"
    configured, why = NOT_CONFIGURED.get(name, (lambda: True, ""))
    if not configured():
        return why
    return "not run: it ended without syncing anything (see the run in `make dev`)"


def main() -> int:
    from jump_platform.defs.reverse_etl.assets import crm__freelancer_health, finance__monthly_kpis
    from jump_platform.runner.cli import run_job

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    # Step lines and Dagster's warnings are kept out of the terminal (the run log and the UI keep
    # them): each sync gets one line below, saying what it did or why it did nothing.
    summary = run_job("sync", instance=instance, progress=io.StringIO())
    print(f"Job `sync`: {'succeeded' if summary.ok else 'FAILED'}")
    for key in sorted(key for asset in (crm__freelancer_health, finance__monthly_kpis) for key in asset.keys):
        name = key.to_user_string()
        if name not in summary.materialized:
            print(f"  {name:<40} {not_run_reason(name, summary.failed_steps, summary.skipped_steps)}")
            continue
        event = instance.get_latest_materialization_event(key)
        metadata = {label: value.value for label, value in event.asset_materialization.metadata.items()}
        figures = ", ".join(f"{metadata[label]} {label.removeprefix('rows_')}" for label in COUNTS)
        print(f"  {name:<40} {figures}; target holds {metadata['dagster/row_count']} rows ({metadata['target']})")
    described = {step for name in NOT_CONFIGURED if (step := _step_of(name, summary.failed_steps))}
    for step, message in summary.failed_steps.items():
        if step not in described:
            print(f"  step {step} failed: {message}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
