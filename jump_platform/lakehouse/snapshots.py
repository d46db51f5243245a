"""Published snapshots: publishing the build, rolling back, and finishing an interrupted publish.

A publish copies the build into a new snapshot folder (with its exports), then renames a hard link
of it onto the published path: that rename is the moment of publishing, atomic, and the published
path never disappears. Readers that opened the previous file keep reading it (a rename does not
disturb an open file) until they reconnect. Then `data/exports/` is pointed at the snapshot's
exports and the snapshot's batches are archived: `settle_published` does that, and redoes it at the
start of the next run if the publish was interrupted, so both always end at the published snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from jump_platform.files import copy_durably, fsync_dir, link_or_copy
from jump_platform.lakehouse.layout import Layout
from jump_platform.sources import landing

# The snapshot's own record, inside the published file: `select * from _lakehouse.snapshot`.
SNAPSHOT_SCHEMA = "_lakehouse"
SNAPSHOT_TABLE = f"{SNAPSHOT_SCHEMA}.snapshot"
# The id of a published file that has no snapshot record (one published before write-audit-publish).
UNVERSIONED = "unversioned"
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

    The published file is a hard link to its snapshot's file, so it is found without opening it.
    A copy of it (a restored backup) is read, read-only, for its own record.
    """
    if not layout.published.exists():
        return None
    for snapshot_id in reversed(snapshot_ids(layout)):
        snapshot_file = layout.snapshot_file(snapshot_id)
        if snapshot_file.exists() and os.path.samefile(snapshot_file, layout.published):
            return snapshot_id
    try:
        with duckdb.connect(str(layout.published), read_only=True) as con:
            return con.execute(f"select snapshot_id from {SNAPSHOT_TABLE}").fetchone()[0]
    except duckdb.Error:
        return UNVERSIONED


def _stamp(build: Path, snapshot: Snapshot) -> list[str]:
    """Record the snapshot in the build file itself, and return its tables. Closing the connection
    checkpoints: the file then holds everything, with no write-ahead log beside it."""
    with duckdb.connect(str(build)) as con:
        con.execute(f"create schema if not exists {SNAPSHOT_SCHEMA}")
        con.execute(
            f"create or replace table {SNAPSHOT_TABLE} as select ? as snapshot_id, ? as run_id, "
            "cast(? as timestamptz) as published_at, cast(? as date) as as_of",
            [snapshot.snapshot_id, snapshot.run_id, snapshot.published_at, snapshot.as_of],
        )
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema not like '\\_%' escape '\\' "
                "order by 1, 2"
            ).fetchall()
        ]
        con.execute("checkpoint")
    wal = build.with_name(build.name + ".wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{build} still has a write-ahead log after closing; refusing to publish a partial copy")
    return tables


def _current_exports(layout: Layout) -> Path | None:
    current = current_snapshot_id(layout)
    if current in snapshot_ids(layout):
        return layout.snapshot_exports(current)
    # Nothing published yet, or a lakehouse published before snapshots existed: what readers see now.
    return layout.exports if layout.exports.is_dir() else None


def publish(layout: Layout, snapshot: Snapshot, export_names: list[str]) -> Published:
    """Publish the build as `snapshot`. The build must be closed (no connection open on it).

    `export_names` are the exports a snapshot holds: each comes from the build's exports if the
    run wrote it, else from the published snapshot.
    """
    started = dt.datetime.now()
    tables = _stamp(layout.build, snapshot)
    layout.snapshots.mkdir(parents=True, exist_ok=True)
    staging = layout.snapshots / f".{snapshot.snapshot_id}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    target = staging / layout.published.name
    copied_by = copy_durably(layout.build, target)
    # Nobody writes a snapshot again: read-only, so that a reader opening it read-write fails.
    target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    previous_exports = _current_exports(layout)
    for name in export_names:
        for folder in (layout.build_exports, previous_exports):
            source = folder / f"{name}.csv" if folder else None
            if source and source.exists():
                link_or_copy(source, staging / "exports" / source.name)
                break
    (staging / "snapshot.json").write_text(json.dumps(snapshot.as_dict(), indent=2) + "\n", encoding="utf-8")
    fsync_dir(staging)
    os.replace(staging, layout.snapshot_folder(snapshot.snapshot_id))
    fsync_dir(layout.snapshots)
    _point_published_at(layout, snapshot.snapshot_id)
    settle_published(layout)
    # The build's exports are published: the build holds none of its own until the next export.
    for path in layout.build_exports.glob("*") if layout.build_exports.is_dir() else []:
        path.unlink()
    seconds = (dt.datetime.now() - started).total_seconds()
    size = layout.published.stat().st_size
    return Published(snapshot, layout.published, size, tables, copied_by, seconds)


def _point_published_at(layout: Layout, snapshot_id: str) -> None:
    """The moment of publishing: one rename puts the snapshot's file at the published path."""
    link_or_copy(layout.snapshot_file(snapshot_id), layout.published)
    fsync_dir(layout.folder)


def settle_published(layout: Layout) -> None:
    """Bring everything around the published file in line with it, whatever stopped halfway:
    `data/exports/` holds the published snapshot's exports, its batches are archived, and only the
    snapshots to keep remain. Doing it twice changes nothing."""
    current = current_snapshot_id(layout)
    ids = snapshot_ids(layout)
    for leftover in layout.folder.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    if current in ids:
        _point_exports_at(layout, current)
        snapshot = read_snapshot(layout, current)
        for batch_id in snapshot.batches if snapshot else []:
            landing.archive_batch(layout.landing, batch_id)
    # Keep the current snapshot and the one before it; a snapshot never published (a publish that
    # stopped before its rename) or left behind by a rollback goes.
    keep = {current} | ({max(i for i in ids if i < current)} if current in ids and ids[0] < current else set())
    if layout.snapshots.is_dir():
        for folder in layout.snapshots.iterdir():
            if folder.name not in keep:
                _remove(folder)


def _point_exports_at(layout: Layout, snapshot_id: str) -> None:
    for leftover in layout.exports.glob(".*.tmp") if layout.exports.is_dir() else []:
        leftover.unlink(missing_ok=True)
    exports = layout.snapshot_exports(snapshot_id)
    wanted = {path.name: path for path in exports.glob("*.csv")} if exports.is_dir() else {}
    for name, source in sorted(wanted.items()):
        target = layout.exports / name
        if not (target.exists() and os.path.samefile(source, target)):
            link_or_copy(source, target)
    for stale in layout.exports.glob("*.csv") if layout.exports.is_dir() else []:
        if stale.name not in wanted:
            stale.unlink()


def _remove(folder: Path) -> None:
    # Snapshot files are read-only: make them writable so that they can be removed.
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
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
    _point_published_at(layout, back)
    settle_published(layout)
    return str(current), back
