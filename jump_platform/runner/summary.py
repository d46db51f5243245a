"""What `make run` prints when a run is over: the assets it materialized (by layer), the checks
that failed, the steps that failed, what it published, and where things are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jump_platform import engines, published, settings

if TYPE_CHECKING:
    import dagster as dg


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
    # The date the run described (its `jump/as_of` tag).
    as_of: dt.date | None = None
    # That failure was a full disk: the build was removed, its files went back to the landing zone.
    disk_full: bool = False

    @classmethod
    def from_events(cls, events: list[dg.DagsterEvent]) -> RunSummary:
        import dagster as dg

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

    def render(
        self, job_name: str, by_layer: bool = False, logs: dict[str, Path] | None = None, next_commands: bool = False
    ) -> str:
        """The summary; `by_layer` gives one line per layer (sources, staging, marts...) instead of
        one per asset (the progress lines above it gave each step's rows); `logs` names the log
        files where the run's full output went; `next_commands` ends it with what to do next."""
        lines = [f"Job `{job_name}`: {'succeeded' if self.ok else 'FAILED'}", ""]
        lines.append(f"Assets materialized: {len(self.materialized)}")
        lines += self._layer_lines() if by_layer else self._asset_lines()
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
        lines += [f"Lakehouse: {published.location()}", f"Exports:   {settings.exports_dir()}"]
        lines += [f"{what + ':':<10} {path}" for what, path in (logs or {}).items()]
        if self.as_of:
            lines.append(f"{'As of:':<10} {self.as_of:%Y-%m-%d} (the date the lakehouse describes; JUMP_AS_OF changes it)")
        return "\n".join([*lines, NEXT_COMMANDS] if next_commands else lines)

    def _asset_lines(self) -> list[str]:
        return [f"  {key:<55} {'' if rows is None else f'{rows:>12,} rows'}" for key, rows in sorted(self.materialized.items())]

    def _layer_lines(self) -> list[str]:
        """One line per layer (the first part of the asset keys): how many assets, how many rows."""
        layers: dict[str, list[int | None]] = {}
        for key, rows in self.materialized.items():
            layers.setdefault(key.split("/", 1)[0], []).append(rows)
        lines = []
        for layer, counts in sorted(layers.items()):
            rows = sum(count for count in counts if count is not None)
            shown = f"{rows:>12,} rows" if any(count is not None for count in counts) else ""
            lines.append(f"  {layer:<16} {len(counts):>3} asset(s) {shown}".rstrip())
        return lines

    def _publish_lines(self) -> list[str]:
        if self.published:
            p = self.published
            return [
                (
                    f"Published snapshot {p['snapshot_id']} ({p['size_mib']} MiB, {p['table_count']} tables, "
                    f"in {p['publish_seconds']} s): readers see it from their next connection."
                ),
                "",
            ]
        if not self.publishes:
            return []
        if not self.ok:
            lines = ["Nothing was published: the lakehouse and the exports people read are as they were."]
            if self.build_failure and self.disk_full:
                lines += [
                    f"The run failed on a full disk: {self.build_failure}.",
                    f"Its build was removed to free space; the files loaded into it went back to {settings.landing_dir()}/.",
                    "They are loaded again once there is room.",
                ]
            elif self.build_failure:
                lines += [
                    f"The build failed its audit: {self.build_failure}.",
                    failed_build_hint(),
                    f"The files loaded into it are in {settings.landing_dir() / '_rejected'}/, with that reason.",
                ]
            return [*lines, ""]
        if self.not_published:
            lines = [f"Not published: {self.not_published}."]
            if "not rebuilt" in self.not_published:
                lines.append(
                    "The build keeps it; a run rebuilding what follows publishes it (make transform export, or make run)."
                )
            return [*lines, ""]
        return []


NEXT_COMMANDS = (
    "Next:      make dev (the Dagster UI, http://127.0.0.1:3000) · make dashboard (http://127.0.0.1:8501) "
    "· make query (a SQL shell)"
)


def failed_build_hint() -> str:
    """Where a person finds the build a failed run left, on the engine of `JUMP_WAREHOUSE`."""
    return engines.current().failed_build_hint
