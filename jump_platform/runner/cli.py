"""Run a job of the lakehouse from the command line and print what it did.

    python -m jump_platform.runner.cli run refresh      # make run
    python -m jump_platform.runner.cli run load         # make load
    python -m jump_platform.runner.cli rollback         # make rollback

Runs execute in process on the Dagster instance of `DAGSTER_HOME` (the project's `.dagster_home`
when it is not set), so they show in the UI's run history too. A run prints one line as each step
starts and ends (its time, and the rows it wrote), then a summary naming the run log and dbt's log,
where the libraries' full output went; `--verbose` (`make run VERBOSE=1`) prints that output
instead. The exit status is 1 when a step or a blocking check failed, or when the run gave up
waiting for another run to finish with the lakehouse; 2 when a setting is invalid (nothing runs).

A run first takes its turn on the lakehouse (see `jump_platform.runner.launcher`): it waits, saying so on
stderr, while another run holds it (up to `JUMP_LOCK_TIMEOUT`), then marks failed the runs of this
instance whose process is gone and frees their pool slots, so a run killed earlier never blocks it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

# Dagster and the definitions load lazily (seconds): the first line shows before them.
from jump_platform import settings
from jump_platform.sources.settings_checks import validate_settings

if TYPE_CHECKING:
    import dagster as dg

    from jump_platform.runner.summary import RunSummary


def say(message: str) -> None:
    """Tell the person at the terminal what the run is doing (waiting, cleaning up)."""
    print(message, file=sys.stderr, flush=True)


def run_job(
    job_name: str,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    progress: TextIO | None = None,
) -> RunSummary:
    """Run a job in this process, in its turn on the lakehouse, and summarize what it did.

    With `progress`, a line goes there as each step starts and ends, and what libraries print goes
    to the run log (`jump_platform.runner.progress`); without, Dagster's console shows warnings and errors.
    Raises `launcher.LakehouseBusyError` when another run kept the lakehouse past `JUMP_LOCK_TIMEOUT`.
    """
    import dagster as dg

    from jump_platform import engines
    from jump_platform.definitions import defs
    from jump_platform.defs.as_of import as_of_tags, resolve_as_of
    from jump_platform.defs.lakehouse.assets import PUBLISHED
    from jump_platform.lakehouse.build import FAILED, BuildState
    from jump_platform.runner import launcher, processes
    from jump_platform.runner import progress as progress_lines
    from jump_platform.runner.summary import RunSummary

    # The run's as-of date, resolved once, now, and pinned on the run (its tag, see
    # jump_platform.defs.as_of): every step reads it, and the summary names it.
    as_of = resolve_as_of()
    quiet = progress_lines.quiet(progress_lines.run_log_path(settings.data_dir())) if progress else contextlib.nullcontext()
    with quiet:
        job = defs().resolve_job_def(job_name)
        selection = (
            delivered_selection()
            if job_name == "load"
            else delivered_and_downstream()
            if job_name == "load_and_refresh"
            else None
        )
        if progress:
            job = job.with_logger_defs({"progress": progress_lines.progress_logger(progress)})
            loggers = {"loggers": {"progress": {}}}
        else:
            # Dagster's console log is for debugging; people read the summary. Warnings and errors still show.
            loggers = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        instance = instance or (dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral())
        run_id = str(uuid.uuid4())
        # execute_in_process ignores the job's executor (`launcher.lakehouse_executor`): take the turn here.
        with launcher.run_turn(instance, run_id, job_name, say=say):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_id=run_id,
                # Which process runs it: a later run can tell whether it died (see jump_platform.runner.launcher).
                tags={**processes.this_process_tags(), **as_of_tags(as_of)},
                run_config={**loggers, **(run_config or {})},
                asset_selection=selection,
            )
    summary = RunSummary.from_events(result.all_events)
    summary.as_of = as_of
    summary.publishes = PUBLISHED in job.asset_layer.executable_asset_keys
    state = BuildState.load(engines.current().layout())
    if state and state.status == FAILED and state.run_id == result.run_id:
        summary.build_failure, summary.disk_full = state.failure, state.disk_full
    return summary


def full_refresh_config() -> dict:
    """The run config that has the dbt step rebuild every incremental model whole (`--full-refresh`);
    in the UI, the same config on the `jump_dbt_models` op in the launchpad."""
    return {"ops": {"jump_dbt_models": {"config": {"full_refresh": True}}}}


def delivered_selection() -> list[dg.AssetKey] | None:
    """What `make load` runs: the `sources` tables the landing zone delivers now, their checks and
    the publish, as the landing-zone sensor does; the whole job when nothing waits (strays are
    still rejected).

    A source table's checks run in the dbt step, which Dagster skips when a source table it reads
    is selected but not loaded: selecting only the tables delivered lets an invoices-only delivery
    be judged at once (against the other tables as they are). Files that a recovered build gives
    back to the landing zone when the run starts are loaded by the next load, if not selected now.
    """
    from jump_platform.defs.lakehouse.assets import PUBLISHED
    from jump_platform.defs.sources.assets import source_key
    from jump_platform.sources import watch

    tables = watch.tables_waiting(settings.landing_dir())
    if not tables:
        return None
    return [*(source_key(table) for table in sorted(tables)), PUBLISHED]


def delivered_and_downstream() -> list[dg.AssetKey] | None:
    """What `run load_and_refresh` runs: the `sources` tables the landing zone delivers now and
    everything downstream of them, as the landing-zone sensor selects them (the dbt step is skipped
    when a source table it reads is selected but not loaded); the whole job when nothing waits."""
    import dagster as dg

    from jump_platform.definitions import defs
    from jump_platform.defs.sources.assets import source_key
    from jump_platform.sources import watch

    tables = watch.tables_waiting(settings.landing_dir())
    if not tables:
        return None
    selection = dg.AssetSelection.assets(*(source_key(table) for table in sorted(tables))).downstream()
    return sorted(selection.resolve(defs().resolve_asset_graph()))


def landing_zone_empty() -> bool:
    """Whether the landing zone holds nothing a load would take: no delivery, no batch of a run
    that died (which the load would give back), no stray (which it would reject)."""
    from jump_platform.sources import landing

    root = settings.landing_dir()
    return not (
        landing.pending_files(root, settle_seconds=None)
        or landing.batches_waiting(root)
        or landing.stray_entries(root, settle_seconds=None)
    )


def rollback() -> int:
    """Put the previously published snapshot back (`make rollback`), in a turn on the lakehouse:
    never in the middle of a run's publish."""
    from jump_platform import engines, published
    from jump_platform.lakehouse import snapshots
    from jump_platform.runner import launcher

    layout = engines.current().layout()
    try:
        with launcher.lakehouse_turn(None, "make-rollback", "rollback", say=say):
            left, back = snapshots.rollback(layout)
    except (launcher.LakehouseBusyError, LookupError) as error:
        say(f"Not rolled back: {error}")
        return 1
    snapshot = snapshots.read_snapshot(layout, back)
    when = f", published {snapshot.published_at} by run {snapshot.run_id}" if snapshot else ""
    if left is None:
        # The repair of a dangling or missing `current`: nothing was published before it to leave.
        print(f"Repaired: {layout.current} led to no snapshot; it now leads to {back}, the newest intact one{when}.")
        print(f"{published.location()} and {layout.exports} are that snapshot's; the next run starts its build from it.")
        return 0
    print(f"Rolled back: {published.location()} is snapshot {back} again{when}, and {layout.exports} holds its exports.")
    print(f"Snapshot {left} was dropped; the next run starts its build from {back}.")
    return 0


def _has_dagster_home() -> bool:
    return bool(os.environ.get("DAGSTER_HOME"))


def use_project_instance() -> None:
    """Without DAGSTER_HOME, use the project's instance (`.dagster_home`, as `make` sets it), so
    that a run of the CLI shows in `make dev`'s run history and catalog."""
    if _has_dagster_home():
        return
    from jump_platform.runner.instance import write_instance

    home = settings.PROJECT_ROOT / ".dagster_home"
    write_instance(home)
    os.environ["DAGSTER_HOME"] = str(home)


def dbt_log() -> Path:
    """dbt's own log for this lakehouse (`--log-path`, which dagster-dbt sets to the target folder)."""
    from jump_platform.defs.transform.resources import dbt_target_path

    return dbt_target_path() / "dbt.log"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.runner.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a job and print its summary")
    # load_and_refresh: what the landing-zone sensor launches (make bench's daily refresh runs it).
    run.add_argument("job", choices=["extract", "load", "transform", "export", "refresh", "load_and_refresh"])
    run.add_argument("--verbose", action="store_true", help="Dagster's and dbt's full output instead of one line per step")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models whole (make run FULL_REFRESH=1)",
    )
    commands.add_parser("rollback", help="put the previously published snapshot back")
    commands.add_parser("init-instance", help="prepare the Dagster instance of DAGSTER_HOME for make dev")
    args = parser.parse_args(argv)
    # Settings first: a bad value stops here, in one line each, before anything is loaded or written.
    errors = validate_settings()
    if errors:
        print("\n".join(str(error) for error in errors), file=sys.stderr)
        return 2
    use_project_instance()
    if args.command == "rollback":
        return rollback()
    if args.command == "init-instance":
        from jump_platform.runner.instance import init_instance

        return init_instance()
    if args.job == "load" and landing_zone_empty():
        # One plain line, not a run whose every step is skipped.
        print(
            f"Nothing to load: the landing zone {settings.landing_dir()} holds no file. "
            "`make extract` writes demo extracts there (`make run` extracts and loads them)."
        )
        return 0
    print(f"Job `{args.job}`: loading the definitions...", flush=True)
    from jump_platform.runner import launcher

    try:
        summary = run_job(
            args.job,
            run_config=full_refresh_config() if args.full_refresh else None,
            progress=None if args.verbose else sys.stdout,
        )
    except launcher.LakehouseBusyError as busy:
        say(f"Job `{args.job}`: not run. {busy}")
        return 1
    logs = {} if args.verbose else {"Run log": progress_log(), "dbt log": dbt_log()}
    logs = {k: v for k, v in logs.items() if v.exists()}
    print("\n" + summary.render(args.job, by_layer=not args.verbose, logs=logs, next_commands=True))
    return 0 if summary.ok else 1


def progress_log() -> Path:
    from jump_platform.runner.progress import run_log_path

    return run_log_path(settings.data_dir())


if __name__ == "__main__":
    sys.exit(main())
