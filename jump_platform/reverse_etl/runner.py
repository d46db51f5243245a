"""Running a sync: plan the changes, load them with dlt, remember what the target now holds.

A sync keeps, in `<state dir>/<sync name>/`:
- `synced.parquet`: the rows the target holds after the last load that completed (see `plan`);
- `pending/<load id>.parquet` and `.json`: what the target will hold, and the counts, once the load
  package `<load id>` completes;
- `dlt/`: dlt's pipeline folder, with its pending load packages.

A load that fails part-way stays pending in dlt: the next sync finishes it first (dlt resumes at the
first job, or batch, not yet delivered), then promotes its `pending` record to `synced`. A package
that failed for good (a terminal error) is dropped by dlt, and so is its record: its changes are
planned and sent again by the next sync.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from jump_platform.reverse_etl.plan import DELETED, DeleteMode, SyncPlan, plan_sync

if TYPE_CHECKING:
    # dlt is imported by the sync that runs (`run_sync`), not by whoever loads the definitions
    # (~0.35 s on every run's start).
    import dlt
    from dlt.common.destination import Destination
    from dlt.common.pipeline import LoadInfo


@dataclass(frozen=True)
class SyncSpec:
    """One sync: a mart, its key in the target, and where it lands."""

    name: str
    """The sync's name: its dlt pipeline and state folder."""
    table: str
    """The table (or, for HTTP, the `table` field of each batch) in the target."""
    keys: tuple[str, ...]
    """The target's own key, unique in the mart."""
    dataset: str | None = None
    """The schema in a SQL target."""


@dataclass
class SyncResult:
    """What one sync did, for the asset's metadata."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    resumed: int = 0
    """Rows of a load a previous sync left unfinished, delivered by this one (counted above too)."""
    target_rows: int = 0
    load_ids: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        self.inserted += counts["inserted"]
        self.updated += counts["updated"]
        self.deleted += counts["deleted"]


class SyncFailedError(RuntimeError):
    """A load failed after its retries; `result.failed` counts the rows it left undelivered."""

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class SyncRetries:
    """How a failing load step is retried: `attempts` tries, exponential waits from `wait` seconds."""

    attempts: int = 3
    wait: float = 1.0


class SyncRecord:
    """The files in which a sync remembers what its target holds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.synced_file = folder / "synced.parquet"
        self.pending_dir = folder / "pending"

    def synced(self) -> pl.DataFrame | None:
        return pl.read_parquet(self.synced_file) if self.synced_file.exists() else None

    def pending_load_ids(self) -> list[str]:
        return sorted(path.stem for path in self.pending_dir.glob("*.json")) if self.pending_dir.exists() else []

    def add_pending(self, load_id: str, plan: SyncPlan) -> None:
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.pending_dir / f"{load_id}.parquet", plan.target.write_parquet)
        counts = {"inserted": plan.inserted, "updated": plan.updated, "deleted": plan.deleted, "rows": plan.changes.height}
        _write_atomically(self.pending_dir / f"{load_id}.json", lambda path: Path(path).write_text(json.dumps(counts)))

    def pending_counts(self, load_id: str) -> dict[str, int]:
        return json.loads((self.pending_dir / f"{load_id}.json").read_text())

    def promote(self, load_id: str) -> dict[str, int]:
        """The package `load_id` is in the target: its rows become what the target holds."""
        counts = self.pending_counts(load_id)
        os.replace(self.pending_dir / f"{load_id}.parquet", self.synced_file)
        (self.pending_dir / f"{load_id}.json").unlink()
        return counts

    def drop(self, load_id: str) -> None:
        for suffix in (".parquet", ".json"):
            (self.pending_dir / f"{load_id}{suffix}").unlink(missing_ok=True)


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)


def run_sync(
    spec: SyncSpec,
    current: pl.DataFrame,
    destination: Destination,
    state_dir: Path,
    delete_mode: DeleteMode,
    retries: SyncRetries = SyncRetries(),
) -> SyncResult:
    """Send the changes of `current` (the mart as published) to `destination`; see the module doc."""
    import dlt

    record = SyncRecord(state_dir / spec.name)
    pipeline = dlt.pipeline(
        pipeline_name=spec.name,
        destination=destination,
        dataset_name=spec.dataset,
        pipelines_dir=str(record.folder / "dlt"),
    )
    result = SyncResult()

    if pipeline.has_pending_data:
        # a previous sync stopped before its load completed: deliver the rest first
        unfinished = sum(record.pending_counts(load_id)["rows"] for load_id in record.pending_load_ids())
        _load(pipeline, retries, result, unfinished)
    for load_id in record.pending_load_ids():
        if _delivered(pipeline, load_id):
            counts = record.promote(load_id)
            result.add(counts)
            result.resumed += counts["rows"]
            result.load_ids.append(load_id)
        else:
            record.drop(load_id)

    plan = plan_sync(current, record.synced(), list(spec.keys), delete_mode)
    if plan.is_empty:
        result.target_rows = _held_rows(record.synced())
        return result

    hints = {DELETED: {"hard_delete": True}} if delete_mode == "delete" else {}
    resource = dlt.resource(
        _arrow(plan.changes, spec.keys),
        name=spec.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(spec.keys),
        columns=hints,
    )
    [load_id] = pipeline.extract(resource).loads_ids
    record.add_pending(load_id, plan)
    pipeline.normalize()
    _load(pipeline, retries, result, plan.changes.height)
    if not _delivered(pipeline, load_id):
        record.drop(load_id)
        result.failed += plan.changes.height
        raise SyncFailedError(f"Sync {spec.name}: load package {load_id} has failed jobs.", result)
    result.add(record.promote(load_id))
    result.load_ids.append(load_id)
    result.target_rows = _held_rows(plan.target)
    return result


def _arrow(frame: pl.DataFrame, keys: tuple[str, ...]) -> pa.Table:
    """`frame` as Arrow, its key columns declared not null as dlt declares primary keys."""
    table = frame.to_arrow()
    schema = pa.schema([field.with_nullable(field.name not in keys) for field in table.schema])
    return table.cast(schema)


def _held_rows(synced: pl.DataFrame | None) -> int:
    """Rows the target holds, flagged ones included."""
    return 0 if synced is None else synced.height


def _load(pipeline: dlt.Pipeline, retries: SyncRetries, result: SyncResult, rows: int) -> LoadInfo:
    """Run dlt's load step, retried on transient errors (dlt's `retry_load` tells which are)."""
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed
    from dlt.pipeline.helpers import retry_load

    try:
        for attempt in Retrying(
            stop=stop_after_attempt(retries.attempts),
            wait=wait_exponential(multiplier=retries.wait, max=max(retries.wait * 16, retries.wait)),
            retry=retry_if_exception(retry_load(("load",))),
            reraise=True,
        ):
            with attempt, dlt.config.values({"load.raise_on_max_retries": 1}):
                # the loader gives up on a job at its first transient failure: tenacity paces the retries
                return pipeline.load()
    except PipelineStepFailed as error:
        result.failed += rows
        raise SyncFailedError(f"Sync {pipeline.pipeline_name}: {error}", result) from error
    raise AssertionError("unreachable: tenacity returns or re-raises")


def _delivered(pipeline: dlt.Pipeline, load_id: str) -> bool:
    """Whether the package `load_id` was loaded in full (no failed job)."""
    try:
        package = pipeline.get_load_package_info(load_id)
    except Exception:  # dlt no longer knows the package (its folder was removed): not delivered
        return False
    return package.state == "loaded" and not package.jobs["failed_jobs"]


def result_metadata(result: SyncResult) -> dict[str, int | str]:
    """The counts as asset metadata."""
    counts = asdict(result)
    return {
        "rows_inserted": counts["inserted"],
        "rows_updated": counts["updated"],
        "rows_deleted": counts["deleted"],
        "rows_failed": counts["failed"],
        "rows_resumed": counts["resumed"],
        "dagster/row_count": counts["target_rows"],
        "load_ids": ", ".join(result.load_ids) or "none (no change)",
    }
