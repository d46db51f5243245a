"""Run the reverse ETL syncs and print what each did: `python -m jump_platform.reverse_etl` (`make sync`).

The `sync` job runs in process on the Dagster instance of `DAGSTER_HOME`, like `make run`, so it
shows in the UI's run history. The exit status is non-zero when a sync failed.
"""

import os
import sys

import dagster as dg

COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_failed")


def main() -> int:
    from jump_platform.definitions import build_defs

    job = build_defs().resolve_job_def("sync")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet)
    synced = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        synced[materialization.asset_key.to_user_string()] = metadata
    print(f"Job `sync`: {'succeeded' if result.success else 'FAILED'}")
    for key in sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys):
        if key in synced:
            metadata = synced[key]
            figures = ", ".join(f"{metadata[name]} {name.removeprefix('rows_')}" for name in COUNTS)
            print(f"  {key:<40} {figures}; target holds {metadata['dagster/row_count']} rows ({metadata['target']})")
        else:
            print(f"  {key:<40} not run: see the warning above (target not configured) or the failure below")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            print(f"  step {event.step_key} failed: {error.cause.message.strip() if error and error.cause else error}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
