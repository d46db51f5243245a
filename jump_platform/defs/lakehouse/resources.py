"""The `warehouse` resource of every step that reads or writes the lakehouse: the build, owned by
one run at a time, on the engine `JUMP_WAREHOUSE` picks.

Steps read the build through it (`Warehouse`: the rules' tables, the models' row counts, the
exports), never the published lakehouse. The run holds the lakehouse from its first step to its
last (`jump_platform/runs.py`), so one run at a time owns the build, and its steps judge and build
the same data. The start of the run opens the build, recovering it if the run before died
(`setup_for_execution`); reading it (`query`, `table_facts`, `export_csv`) changes nothing. The end
of the run leaves it ready, clean or failed. See `jump_platform/lakehouse/` for the mechanism, and
`jump_platform/engines/` for what differs from one engine to another.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field, PrivateAttr

from jump_platform import engines, settings
from jump_platform.files import is_disk_full
from jump_platform.lakehouse import snapshots
from jump_platform.lakehouse.build import BuildState, close_build, open_build, unpublishable
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import NO_BUILD_YET
from jump_platform.sources import landing
from jump_platform.warehouses import Warehouse

# Errors of a run stopped from outside (Ctrl-C, SIGTERM): treated as a crash, not as a failed audit.
_INTERRUPTIONS = {"DagsterExecutionInterruptedError", "KeyboardInterrupt"}
# The publish asset (`assets.py`): when the publish itself fails, the build is intact and stays ready.
PUBLISHED = dg.AssetKey(["lakehouse", "published"])
PUBLISH_STEP = "__".join(PUBLISHED.path)


class LakehouseBuild(Warehouse):
    """The build of the lakehouse, for the run that owns it, on its engine (`engine`); and the
    publish that makes the build what readers see."""

    engine: str = Field(description="The engine (JUMP_WAREHOUSE), one of jump_platform.engines.ENGINES.")
    database: str = Field(description="DuckDB: the build file.")
    connection_config: dict[str, str] = Field(default_factory=dict, description="DuckDB settings (memory_limit).")
    published: str = Field(description="The published lakehouse file, which readers open read-only (DuckDB).")
    exports: str = Field(description="Where readers find the published exports.")
    landing: str = Field(description="The landing zone, whose loaded batches wait for the publish.")

    _run: dg.DagsterRun | None = PrivateAttr(default=None)
    _instance: dg.DagsterInstance | None = PrivateAttr(default=None)
    _log: dg.DagsterLogManager | None = PrivateAttr(default=None)
    _state: BuildState | None = PrivateAttr(default=None)
    _wrote: bool = PrivateAttr(default=False)
    _disk_full: bool = PrivateAttr(default=False)

    @property
    def build_warehouse(self) -> Warehouse:
        """The engine's reader of the build's tables."""
        return engines.get(self.engine).build_warehouse(self.database, self.connection_config)

    @property
    def layout(self) -> Layout:
        return engines.get(self.engine).layout(Path(self.published), Path(self.exports), Path(self.landing))

    @property
    def state(self) -> BuildState:
        if self._state is None:
            raise RuntimeError("the build is not open: call open() first")
        return self._state

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """The start of a run that uses the build: open it, recovering it if the run before died.
        Dagster sets the resource up once per run (the in-process executor), inside the run's turn
        on the lakehouse (`jump_platform.runner.launcher`)."""
        self._run, self._instance, self._log = context.run, context.instance, context.log
        self.open()

    def _say(self, message: str) -> None:
        (self._log or dg.get_dagster_logger()).warning(message)

    def open(self, writing: bool = False) -> Path:
        """Open the build for this run (once per run, at its start), recovering it if needed; return
        its path.

        `writing`: the step is about to change the build, so a failure from here on fails its audit.
        """
        if self._state is None:
            opened = open_build(self.layout, self._run.run_id if self._run else "outside-a-run")
            self._state = opened.state
            if opened.reset_because and opened.reset_because != NO_BUILD_YET:
                self._say(f"Started the build again from the published lakehouse: {opened.reset_because}.")
            if opened.returned_files:
                self._say(
                    f"{len(opened.returned_files)} file(s) of an unpublished batch went back to the landing zone "
                    "to be loaded again: "
                    + ", ".join(p.relative_to(self.layout.landing).as_posix() for p in opened.returned_files)
                )
        self._wrote = self._wrote or writing
        return Path(self.database)

    def query(self, sql: str) -> pl.DataFrame:
        """Read the build as it is (no recovery: that is the start of the run's)."""
        return self.build_warehouse.query(sql)

    def relation(self, schema: str, table: str) -> str:
        return self.build_warehouse.relation(schema, table)

    def head(self, schema: str, table: str, rows: int) -> pl.DataFrame:
        return self.build_warehouse.head(schema, table, rows)

    def table_facts(self, relations: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return self.build_warehouse.table_facts(relations)

    def export_csv(self, schema: str, view: str, path: Path) -> int:
        return self.build_warehouse.export_csv(schema, view, path)

    def record_written(self, keys: Iterable[dg.AssetKey]) -> None:
        """Note assets just written into the build (a publish checks their downstream followed)."""
        self.open(writing=True)
        self.state.record_written(key.to_user_string() for key in keys)
        self.state.save(self.layout)

    def add_batch(self, batch_id: str) -> None:
        """A batch claimed into the build: its files wait in `_batches/` until it is published."""
        self.open()
        self.state.batches.append(batch_id)
        self.state.save(self.layout)

    def note_offending_rows(self, rows_by_file: dict[str, str]) -> None:
        """What a failed rule found in each file (`"<batch id>/<file>"`), for the reason it carries
        if the audit rejects its batch."""
        if rows_by_file:
            for file, rows in rows_by_file.items():
                self.state.offending_rows.setdefault(file, []).append(rows)
            self.state.save(self.layout)

    def drop_batch(self, batch_id: str) -> None:
        """A batch refused before anything of it was written."""
        self.state.batches.remove(batch_id)
        self.state.save(self.layout)

    def publish(self, as_of: str | None, export_names: list[str], downstream: dict[str, set[str]]) -> snapshots.Published | str:
        """Publish the build if it can be, else say why not (see `build.unpublishable`)."""
        self.open()
        if not self.state.written:
            return "nothing changed in the build since the last publish"
        changed = [
            reason
            for batch_id in self.state.batches
            for reason in landing.changed_since_claimed(self.layout.landing / "_batches" / batch_id).values()
        ]
        if changed:
            # A delivery written to after it was read: what the build holds of it is partial. This
            # fails the run's audit (unlike a publish that fails on its own): the batch is rejected.
            self._wrote = True
            raise dg.Failure(description="; ".join(changed))
        problems = unpublishable(self.state, downstream)
        if problems:
            more = f" (and {len(problems) - 1} more change(s) like it)" if len(problems) > 1 else ""
            return f"{problems[0]}{more}"
        run_id = self._run.run_id if self._run else "outside-a-run"
        now = dt.datetime.now(dt.UTC)
        snapshot = snapshots.Snapshot(
            snapshot_id=snapshots.new_snapshot_id(now, run_id),
            run_id=run_id,
            published_at=now.isoformat(),
            as_of=as_of,
            batches=list(self.state.batches),
        )
        published = snapshots.publish(self.layout, snapshot, export_names)
        self._state = BuildState(base=snapshot.snapshot_id, status=self.state.status, run_id=run_id)
        self.state.save(self.layout)
        return published

    def _audit_failure(self) -> str | bool | None:
        """Why the run failed its audit: a blocking check failed, or a step failed after changing
        the build. None when it did not; False when the run was interrupted from outside."""
        if not (self._instance and self._run):
            return None
        reasons = []
        for record in self._instance.all_logs(
            self._run.run_id,
            of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION},
        ):
            event = record.get_dagster_event()
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                    reasons.append(f"blocking check {evaluation.asset_key.to_user_string()}/{evaluation.check_name} failed")
            else:
                error = event.step_failure_data.error
                if error and error.cls_name in _INTERRUPTIONS:
                    return False
                if error is None or error.cls_name == "DagsterAssetCheckFailedError":
                    continue
                if event.step_key == PUBLISH_STEP and landing.CHANGED not in (error.cause or error).message:
                    continue
                if self._wrote:
                    message = (error.cause or error).message.strip().splitlines()[0]
                    reasons.append(f"step {event.step_key} failed ({message})")
                    self._disk_full = self._disk_full or _mentions_full_disk(error)
        return "; ".join(reasons) or None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """At the end of the run (still holding the lakehouse): leave the build ready, clean or failed.
        A run interrupted from outside leaves it open, like a crash, for the next run to recover."""
        if self._state is None:
            return
        try:
            failure = self._audit_failure()
            if failure is not False:
                rejected = close_build(self.layout, self.state, failure or None, disk_full=self._disk_full)
                if failure and self._disk_full:
                    self._say(
                        f"Nothing published ({failure}): the disk is full. The build was removed to free space, and "
                        "the delivered files went back to the landing zone, to be loaded again once there is room."
                    )
                if rejected:
                    self._say(
                        f"Nothing published ({failure}): the {len(rejected)} delivered file(s) of the build went to "
                        "_rejected/ with that reason."
                    )
        finally:
            self._state, self._wrote, self._disk_full = None, False, False


def _mentions_full_disk(error: Any) -> bool:
    """Whether a step's error (Dagster's serialized error, its causes and context) is a full disk."""
    while error is not None:
        if is_disk_full(Exception(error.message)):
            return True
        error = error.cause or error.context
    return False


def lakehouse_build() -> LakehouseBuild:
    """The build resource, configured from the environment (nothing opens until a step asks)."""
    return LakehouseBuild(
        engine=engines.current().name,
        database=str(settings.build_duckdb_path()),
        connection_config=settings.duckdb_config(),
        published=str(settings.duckdb_path()),
        exports=str(settings.exports_dir()),
        landing=str(settings.landing_dir()),
    )
