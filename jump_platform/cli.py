"""Run a job of the lakehouse from the command line and print what it did.

    python -m jump_platform.cli run refresh      # make run
    python -m jump_platform.cli run load         # make load
    python -m jump_platform.cli rollback         # make rollback

Runs execute in process on the Dagster instance of `DAGSTER_HOME`, so they show in the UI's run
history too. The exit status is 1 when a step or a blocking check failed, or when the run gave up
waiting for another run to finish with the lakehouse; 2 when a setting is invalid (nothing runs).

A run first takes its turn on the lakehouse (see `jump_platform.runs`): it waits, saying so on
stderr, while another run holds it (up to `JUMP_LOCK_TIMEOUT`), then marks failed the runs of this
instance whose process is gone and frees their pool slots, so a run killed earlier never blocks it.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from dataclasses import dataclass, field

import dagster as dg

from jump_platform import run_processes, runs, settings


@dataclass
class RunSummary:
    """The facts a person wants after a run, gathered from its event log."""

    materialized: dict[str, int | None] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    skipped_steps: list[str] = field(default_factory=list)
    # Why the run failed, when it failed outside any step (a resource, the executor).
    run_failure: str | None = None
    # The publish of the run's build, when its job has one: what it published, or why it did not.
    publishes: bool = False
    published: dict[str, object] | None = None
    not_published: str | None = None
    # Why the run's build failed its audit (then kept for inspection), from the build's state.
    build_failure: str | None = None

    @classmethod
    def from_events(cls, events: list[dg.DagsterEvent]) -> RunSummary:
        from jump_platform.defs.lakehouse.assets import PUBLISHED

        summary = cls()
        for event in events:
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                if materialization.asset_key == PUBLISHED:
                    summary.published = {key: value.value for key, value in materialization.metadata.items()}
                row_count = materialization.metadata.get("dagster/row_count")
                summary.materialized[materialization.asset_key.to_user_string()] = (
                    row_count.value if row_count is not None else None
                )
            elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                metadata = {key: value.value for key, value in evaluation.metadata.items()}
                summary.checks.append(
                    {
                        "asset": evaluation.asset_key.to_user_string(),
                        "check": evaluation.check_name,
                        "passed": evaluation.passed,
                        "severity": evaluation.severity.value,
                        "blocking": bool(evaluation.blocking),
                        "offending_rows": metadata.get("offending_rows"),
                        "sample_ids": metadata.get("sample_ids"),
                    }
                )
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                message = error.message.strip().splitlines()[-1] if error else "unknown error"
                if error and error.cause:
                    message = error.cause.message.strip().splitlines()[0]
                failure = event.step_failure_data.user_failure_data
                if failure is not None and failure.description:
                    # A `dg.Failure` raised on purpose: its description is written for people.
                    message = failure.description.strip().replace("\n", "\n    ")
                summary.failed_steps[event.step_key or "?"] = message
            elif event.event_type == dg.DagsterEventType.STEP_SKIPPED:
                summary.skipped_steps.append(event.step_key or "?")
            elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
                summary.run_failure = event.message or "the run failed"
            elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
                observation = event.asset_observation_data.asset_observation
                if observation.asset_key == PUBLISHED and "not_published" in observation.metadata:
                    summary.not_published = observation.metadata["not_published"].value
        return summary

    @property
    def blocking_failures(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"] and c["severity"] == "ERROR"]

    @property
    def ok(self) -> bool:
        return not self.failed_steps and not self.blocking_failures and self.run_failure is None

    def render(self, job_name: str) -> str:
        lines = [f"Job `{job_name}`: {'succeeded' if self.ok else 'FAILED'}", ""]
        lines.append(f"Assets materialized: {len(self.materialized)}")
        for key, rows in sorted(self.materialized.items()):
            lines.append(f"  {key:<55} {'' if rows is None else f'{rows:>12,} rows'}")
        if self.checks:
            passed = sum(c["passed"] for c in self.checks)
            lines += ["", f"Checks: {passed} passed, {len(self.checks) - passed} failed"]
            for check in (c for c in self.checks if not c["passed"]):
                kind = "BLOCKING" if check["severity"] == "ERROR" else "warning"
                detail = f"{check['offending_rows']} offending row(s)" if check["offending_rows"] is not None else ""
                sample = f", e.g. {check['sample_ids']}" if check["sample_ids"] else ""
                lines.append(f"  [{kind}] {check['asset']} / {check['check']}: {detail}{sample}")
        for step, message in self.failed_steps.items():
            lines.append(f"  step {step} failed: {message}")
        if self.run_failure and not self.failed_steps:
            lines.append(f"  run failed: {self.run_failure}")
        if self.skipped_steps:
            lines.append(f"  skipped because upstream failed: {', '.join(sorted(self.skipped_steps))}")
        lines += ["", *self._publish_lines()]
        lines += [f"Lakehouse: {settings.duckdb_path()}", f"Exports:   {settings.exports_dir()}"]
        return "\n".join(lines)

    def _publish_lines(self) -> list[str]:
        if self.published:
            p = self.published
            return [
                f"Published snapshot {p['snapshot_id']} ({p['size_mib']} MiB, {p['table_count']} tables, "
                f"in {p['publish_seconds']} s): readers see it from their next connection.",
                "",
            ]
        if not self.publishes:
            return []
        if not self.ok:
            lines = ["Nothing was published: the lakehouse and the exports people read are as they were."]
            if self.build_failure:
                lines += [
                    f"The build failed its audit: {self.build_failure}.",
                    "It stays as it is until the next run, to inspect: make query LAKEHOUSE=build",
                    f"The files loaded into it are in {settings.landing_dir() / '_rejected'}/, with that reason.",
                ]
            return [*lines, ""]
        if self.not_published:
            lines = [f"Not published: {self.not_published}."]
            if "not rebuilt" in self.not_published:
                lines.append("The build keeps it; a run rebuilding what follows publishes it (make transform export, or make run).")
            return [*lines, ""]
        return []


def say(message: str) -> None:
    """Tell the person at the terminal what the run is doing (waiting, cleaning up)."""
    print(message, file=sys.stderr, flush=True)


def run_job(job_name: str, run_config: dict | None = None, instance: dg.DagsterInstance | None = None) -> RunSummary:
    """Run a job in this process, in its turn on the lakehouse, and summarize what it did.

    Raises `runs.LakehouseBusy` when another run kept the lakehouse past `JUMP_LOCK_TIMEOUT`.
    """
    from jump_platform.definitions import defs
    from jump_platform.defs.lakehouse.assets import PUBLISHED
    from jump_platform.lakehouse import Layout
    from jump_platform.lakehouse.build import FAILED, BuildState

    job = defs().resolve_job_def(job_name)
    instance = instance or (dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral())
    # Dagster's console log is for debugging; people read the summary. Warnings and errors still show.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    run_id = str(uuid.uuid4())
    # execute_in_process ignores the job's executor (`runs.lakehouse_executor`): take the turn here.
    with runs.lakehouse_turn(instance, run_id, job_name, say=say):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            # Which process runs it: a later run can tell whether it died (see jump_platform.runs).
            tags=run_processes.this_process_tags(),
            run_config={**quiet, **(run_config or {})},
        )
    summary = RunSummary.from_events(result.all_events)
    summary.publishes = PUBLISHED in job.asset_layer.executable_asset_keys
    state = BuildState.load(Layout.from_settings())
    if state and state.status == FAILED and state.run_id == result.run_id:
        summary.build_failure = state.failure
    return summary


def rollback() -> int:
    """Put the previously published snapshot back (`make rollback`), in a turn on the lakehouse:
    never in the middle of a run's publish."""
    from jump_platform.lakehouse import Layout, snapshots

    layout = Layout.from_settings()
    try:
        with runs.lakehouse_turn(None, "make-rollback", "rollback", say=say):
            left, back = snapshots.rollback(layout)
    except (runs.LakehouseBusy, LookupError) as error:
        say(f"Not rolled back: {error}")
        return 1
    snapshot = snapshots.read_snapshot(layout, back)
    when = f", published {snapshot.published_at} by run {snapshot.run_id}" if snapshot else ""
    print(f"Rolled back: {layout.published} is snapshot {back} again{when}, and {layout.exports} holds its exports.")
    print(f"Snapshot {left} was dropped; the next run starts its build from {back}.")
    return 0


def _has_dagster_home() -> bool:
    return bool(os.environ.get("DAGSTER_HOME"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a job and print its summary")
    run.add_argument("job", choices=["extract", "load", "transform", "export", "refresh"])
    commands.add_parser("rollback", help="put the previously published snapshot back")
    args = parser.parse_args(argv)
    # Settings first: a bad value stops here, in one line each, before anything is loaded or written.
    errors = settings.validate()
    if errors:
        print("\n".join(str(error) for error in errors), file=sys.stderr)
        return 2
    if args.command == "rollback":
        return rollback()
    try:
        summary = run_job(args.job)
    except runs.LakehouseBusy as busy:
        say(f"Job `{args.job}`: not run. {busy}")
        return 1
    print(summary.render(args.job))
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
