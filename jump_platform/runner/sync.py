"""Run the reverse ETL syncs and print what each did: `python -m jump_platform.runner.sync` (`make sync`).

The `sync` job runs like `make run` (`jump_platform.runner.cli.run_job`: in process, in its turn on the
lakehouse, on the Dagster instance of `DAGSTER_HOME`), so it shows in the UI's run history. The exit
status is non-zero when a sync failed.
"""

import os
import sys

import dagster as dg

COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_failed")


def main() -> int:
    from jump_platform.defs.reverse_etl.assets import crm__freelancer_health, finance__monthly_kpis
    from jump_platform.runner.cli import run_job

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    summary = run_job("sync", instance=instance)
    print(f"Job `sync`: {'succeeded' if summary.ok else 'FAILED'}")
    for key in sorted(key for asset in (crm__freelancer_health, finance__monthly_kpis) for key in asset.keys):
        name = key.to_user_string()
        if name not in summary.materialized:
            print(f"  {name:<40} not run: its target is not configured (see the warning above), or it failed")
            continue
        event = instance.get_latest_materialization_event(key)
        metadata = {label: value.value for label, value in event.asset_materialization.metadata.items()}
        figures = ", ".join(f"{metadata[label]} {label.removeprefix('rows_')}" for label in COUNTS)
        print(f"  {name:<40} {figures}; target holds {metadata['dagster/row_count']} rows ({metadata['target']})")
    for step, message in summary.failed_steps.items():
        print(f"  step {step} failed: {message}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
