"""Published snapshots: publishing the build, rolling back, and finishing an interrupted publish.

A snapshot is a folder, `snapshots/<id>/`, holding a copy of the build (`lakehouse.duckdb`), its
exports and `snapshot.json`; nobody writes it again. Readers reach the published one through
symbolic links that never change: `lakehouse.duckdb -> current/lakehouse.duckdb` and `data/exports
-> .../current/exports`. Publishing renames one link, `current`, from the previous snapshot to the
new one: a single atomic step that switches the lakehouse and its exports together, so readers see
both from the same snapshot, never half of a publish. A reader that opened the previous file keeps
reading it until it reconnects (renaming does not disturb an open file). After the rename, the
snapshot's batches are archived and old snapshots dropped: `settle_published` does that, and does
it again at the start of the next run if a publish stopped halfway.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jump_platform.files import fsync_dir, link_or_copy
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import linked_snapshot_id
from jump_platform.sources import landing

# How many snapshots are kept: the current one and the one `make rollback` goes back to.
KEPT = 2


@dataclass(frozen=True)
class Snapshot:
    """What a publish records about a snapshot (also in its `snapshot.json`)."""

    snapshot_id: str
    run_id: str
    published_at: str
    as_of: str | None = None
    batches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "run_id": self.run_id,
            "published_at": self.published_at,
            "as_of": self.as_of,
            "batches": self.batches,
        }


@dataclass(frozen=True)
class Published:
    """The outcome of a publish: the snapshot, its file and how the build was copied."""

    snapshot: Snapshot
    path: Path
    size_bytes: int
    tables: list[str]
    copied_by: str
    seconds: float


def new_snapshot_id(now: dt.datetime, run_id: str) -> str:
    """An id that sorts by time and never repeats: `20261121T060000123456Z-<run id prefix>`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}-{run_id[:8]}"


def snapshot_ids(layout: Layout) -> list[str]:
    """The complete snapshot folders, oldest first (a folder being written starts with a dot)."""
    if not layout.snapshots.is_dir():
        return []
    return sorted(p.name for p in layout.snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_snapshot(layout: Layout, snapshot_id: str) -> Snapshot | None:
    try:
        record = json.loads((layout.snapshot_folder(snapshot_id) / "snapshot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Snapshot(**record)


def current_snapshot_id(layout: Layout) -> str | None:
    """The id of the published snapshot; None when nothing was ever published.

    On DuckDB it is where `current` points (or, for a lakehouse copied without its links, the
    record the published file holds); on PostgreSQL, the record the published schemas hold: the
    tables are the truth there, and `current` follows them (`settle_published`).
    """
    return layout.store.current_snapshot_id(layout)


def publish(layout: Layout, snapshot: Snapshot, export_names: list[str]) -> Published:
    """Publish the build as `snapshot`. The build must be closed (no connection open on it).

    `export_names` are the exports a snapshot holds: each comes from the build's exports if the
    run wrote it, else from the published snapshot.
    """
    started = dt.datetime.now()
    tables = layout.store.stamp(layout, snapshot)
    previous = current_snapshot_id(layout)
    layout.snapshots.mkdir(parents=True, exist_ok=True)
    staging = layout.snapshots / f".{snapshot.snapshot_id}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "exports").mkdir(parents=True)
    copied_by = layout.store.copy_into(layout, staging)
    previous_exports = layout.snapshot_exports(previous) if previous in snapshot_ids(layout) else layout.exports
    for name in export_names:
        for folder in (layout.build_exports, previous_exports):
            if (folder / f"{name}.csv").is_file():
                link_or_copy(folder / f"{name}.csv", staging / "exports" / f"{name}.csv")
                break
    (staging / "snapshot.json").write_text(json.dumps(snapshot.as_dict(), indent=2) + "\n", encoding="utf-8")
    fsync_dir(staging / "exports")
    fsync_dir(staging)
    os.replace(staging, layout.snapshot_folder(snapshot.snapshot_id))
    fsync_dir(layout.snapshots)
    # The tables first where they are not in the snapshot folder (PostgreSQL's schemas, in one
    # transaction), then the exports with them: a publish stopped in between is finished by the
    # next run (`settle_published`), since the tables say which snapshot is published.
    layout.store.switch(layout, snapshot.snapshot_id)
    _point_current_at(layout, snapshot.snapshot_id)
    settle_published(layout)
    # The build's exports are published: the build holds none of its own until the next export.
    for path in layout.build_exports.glob("*") if layout.build_exports.is_dir() else []:
        path.unlink()
    seconds = (dt.datetime.now() - started).total_seconds()
    size = layout.store.size(layout, snapshot.snapshot_id)
    return Published(snapshot, layout.published, size, tables, copied_by, seconds)


def _replace_with_link(path: Path, target: str, keep_folder_as: Path | None = None) -> None:
    """Make `path` a symbolic link to `target` in one rename. A file there (a copy of a published
    file) is replaced; a folder (a copy of a snapshot, or the exports folder of a version that
    published without links) is moved to `keep_folder_as` if given and free, else removed."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():
        if keep_folder_as is not None and not keep_folder_as.exists():
            os.rename(path, keep_folder_as)
        else:
            _remove(path)
    temporary = path.with_name(f".{path.name}.link.tmp")
    temporary.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, path)
    fsync_dir(path.parent)


def _point_current_at(layout: Layout, snapshot_id: str) -> None:
    """The moment of publishing: `current` now names this snapshot, for the lakehouse and its
    exports at once. Then the links readers open are made sure of (created at the first publish)."""
    _replace_with_link(layout.current, os.path.join(layout.snapshots.name, snapshot_id))
    _link_readers(layout)


def _link_readers(layout: Layout) -> None:
    current = layout.current
    if layout.store.has_file:
        _replace_with_link(layout.published, os.path.join(current.name, layout.published.name))
    # A real exports folder (from before snapshots) is kept aside once, in case it holds other files.
    kept = layout.exports.with_name(f"{layout.exports.name}.before-publish")
    _replace_with_link(layout.exports, os.path.relpath(current / "exports", layout.exports.parent), kept)


def settle_published(layout: Layout) -> None:
    """Finish whatever a publish left halfway: the links readers open point through `current`,
    the published snapshot's batches are archived, and only the snapshots to keep remain (the
    current one and the one before it). Doing it twice changes nothing."""
    for leftover in [*layout.folder.glob(".*.tmp"), *layout.exports.parent.glob(f".{layout.exports.name}.link.tmp")]:
        leftover.unlink(missing_ok=True)
    current = current_snapshot_id(layout)
    ids = snapshot_ids(layout)
    if current in ids:
        if linked_snapshot_id(layout) != current:
            # A copy of the lakehouse without its links, or tables published (or rolled back) by a
            # run that stopped before it renamed `current`: point `current` at their snapshot.
            _replace_with_link(layout.current, os.path.join(layout.snapshots.name, current))
        _link_readers(layout)
        snapshot = read_snapshot(layout, current)
        for batch_id in snapshot.batches if snapshot else []:
            landing.archive_batch(layout.landing, batch_id)
    # A snapshot never published (a publish stopped before its rename), or dropped by a rollback, goes.
    earlier = [i for i in ids if current in ids and i < current]
    keep = {current, *earlier[-(KEPT - 1) :]} if KEPT > 1 else {current}
    if layout.snapshots.is_dir():
        for folder in layout.snapshots.iterdir():
            if folder.name not in keep:
                _remove(folder)


def _remove(folder: Path) -> None:
    """Remove a snapshot folder (or a copy of one); readers that opened its file keep reading it."""
    shutil.rmtree(folder, ignore_errors=True)


def rollback(layout: Layout) -> tuple[str, str]:
    """Put the snapshot published before the current one back, atomically, with its exports.

    Returns (the snapshot left, the snapshot back). The snapshot left is then dropped: one level of
    rollback. Batches already archived stay archived; deliver them again to load them again.
    """
    current = current_snapshot_id(layout)
    earlier = [i for i in snapshot_ids(layout) if current is None or i < current]
    if not earlier:
        raise LookupError(f"no earlier snapshot is kept in {layout.snapshots}: nothing to roll back to")
    back = earlier[-1]
    layout.store.roll_back(layout, back)
    _point_current_at(layout, back)
    settle_published(layout)
    return str(current), back
