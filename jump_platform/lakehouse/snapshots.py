"""Published snapshots: publishing the build, rolling back, and finishing an interrupted publish.

A snapshot is a folder, `snapshots/<id>/`, holding a copy of the build (`lakehouse.duckdb`, compacted:
see `stores.copy_compacted`), its exports and `snapshot.json`; nobody writes it again. Readers reach the published one through
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
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jump_platform import settings
from jump_platform.files import explaining_full_disk, fsync_dir, link_or_copy
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import block_usage, linked_snapshot_id
from jump_platform.sources import landing

# A snapshot folder's name, as `new_snapshot_id` makes it; a hidden one (`.<id>`) is being written.
SNAPSHOT_ID = re.compile(r"\d{8}T\d{12}Z-[^/]+")
REPAIR_COMMAND = "make rollback"


class PublishedStateError(RuntimeError):
    """The published state cannot be told for sure (`current` dangles or is missing): nothing may be
    deleted on a guess. The message names the link, where it points, and the command that repairs it."""


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
    # The share of the published file's blocks that are free (DuckDB; None where there is no file).
    free_block_share: float | None = None


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
        return Snapshot(**record)
    except (OSError, ValueError, TypeError):
        return None


def is_intact(layout: Layout, snapshot_id: str) -> bool:
    """Whether `snapshots/<snapshot_id>/` is a whole snapshot this platform wrote: a snapshot's name,
    a readable `snapshot.json` naming it, and the tables' file where the engine keeps one there."""
    if not SNAPSHOT_ID.fullmatch(snapshot_id) or not layout.snapshot_folder(snapshot_id).is_dir():
        return False
    record = read_snapshot(layout, snapshot_id)
    if record is None or record.snapshot_id != snapshot_id:
        return False
    return not layout.store.has_file or layout.snapshot_file(snapshot_id).is_file()


def intact_snapshot_ids(layout: Layout) -> list[str]:
    """The intact snapshots (`is_intact`), oldest first. Anything else in the folder (a foreign file,
    a half-written or hand-made copy, an unreadable `snapshot.json`) is not one, and is never removed."""
    return [snapshot_id for snapshot_id in snapshot_ids(layout) if is_intact(layout, snapshot_id)]


def current_snapshot_id(layout: Layout) -> str | None:
    """The id of the published snapshot; None when nothing was ever published.

    On DuckDB it is where `current` points (or, for a lakehouse copied without its links, the
    record the published file holds); on PostgreSQL, the record the published schemas hold: the
    tables are the truth there, and `current` follows them (`settle_published`).

    Raises `PublishedStateError` when that cannot be told: `current` dangles (a restore, a copy, a
    disk error, a hand edit), or is missing although snapshots are kept. Reading either as "nothing
    published" would start the build empty and drop every snapshot as unpublished.
    """
    found = layout.store.current_snapshot_id(layout)
    if found is None:
        problem = _unreadable_current(layout)
        if problem:
            raise PublishedStateError(problem)
    return found


def _unreadable_current(layout: Layout) -> str | None:
    """Why `current` cannot say which snapshot is published, with the repair; None when it can
    (or when nothing was ever published: no link, no snapshot)."""
    link, intact = layout.current, intact_snapshot_ids(layout)
    if link.is_symlink():
        if linked_snapshot_id(layout) is not None:
            return None
        target = os.readlink(link)
        what = f"{link} points at {target}, which {'is not a snapshot folder' if link.exists() else 'does not exist'}"
    elif link.exists():
        what = f"{link} is a {'folder' if link.is_dir() else 'file'}, not the link to the published snapshot"
    elif intact:
        what = f"{link} is missing, although {len(intact)} snapshot(s) are kept in {layout.snapshots}"
    else:
        return None
    if intact:
        repair = f"`{REPAIR_COMMAND}` points it at the newest intact snapshot, {intact[-1]}"
    else:
        repair = f"no intact snapshot is kept in {layout.snapshots}; remove {link} to start again from an empty lakehouse"
    return f"{what}. Nothing was deleted. To repair: {repair}."


def publish(layout: Layout, snapshot: Snapshot, export_names: list[str]) -> Published:
    """Publish the build as `snapshot`. The build must be closed (no connection open on it).

    `export_names` are the exports a snapshot holds: each comes from the build's exports if the
    run wrote it, else from the published snapshot.
    """
    started = dt.datetime.now()
    tables = layout.store.stamp(layout, snapshot)
    previous = current_snapshot_id(layout)
    layout.snapshots.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(layout, snapshot.snapshot_id)
    with explaining_full_disk(staging, needed=_size_or_zero(layout)):
        staging.mkdir()  # the id is new: a folder already there is not this publish's, and stays
    try:
        with explaining_full_disk(staging, needed=_size_or_zero(layout)):
            (staging / "exports").mkdir()
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
    except BaseException:
        # This publish's own half-written snapshot (its id is new, so nobody else's): freed at once,
        # above all when the disk is full.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.replace(staging, layout.snapshot_folder(snapshot.snapshot_id))
    fsync_dir(layout.snapshots)
    # The tables first where they are not in the snapshot folder (PostgreSQL's schemas, in one
    # transaction), then the exports with them: a publish stopped in between is finished by the
    # next run (`settle_published`), since the tables say which snapshot is published.
    layout.store.switch(layout, snapshot.snapshot_id)
    _point_current_at(layout, snapshot.snapshot_id)
    settle_published(layout)
    # The build's exports are published: the build holds none of its own until the next export.
    # Only those the snapshot took; anything else in the folder is not this publish's to remove.
    for name in export_names:
        (layout.build_exports / f"{name}.csv").unlink(missing_ok=True)
    seconds = (dt.datetime.now() - started).total_seconds()
    size = layout.store.size(layout, snapshot.snapshot_id)
    free = block_usage(layout.snapshot_file(snapshot.snapshot_id)).free_share if layout.store.has_file else None
    return Published(snapshot, layout.published, size, tables, copied_by, seconds, free)


def staging_folder(layout: Layout, snapshot_id: str) -> Path:
    """Where a publish writes snapshot `snapshot_id` before renaming it into place."""
    return layout.snapshots / f".{snapshot_id}"


def _size_or_zero(layout: Layout) -> int:
    """What a snapshot's compacted copy of the build needs: the blocks its content takes (0
    without a file)."""
    return block_usage(layout.build).used_bytes if layout.store.has_file and layout.build.is_file() else 0


def partial_snapshots_of(layout: Layout, run_id: str) -> list[Path]:
    """The half-written snapshots a publish of run `run_id` left (`.<time>-<run id prefix>`): that
    run's own, so expendable once it is known to be dead."""
    if not layout.snapshots.is_dir():
        return []
    return sorted(
        folder
        for folder in layout.snapshots.iterdir()
        if folder.is_dir()
        and not folder.is_symlink()
        and folder.name.startswith(".")
        and SNAPSHOT_ID.fullmatch(folder.name[1:])
        and folder.name.endswith(f"Z-{run_id[:8]}")
    )


def _replace_with_link(path: Path, target: str, keep_folder_as: Path | None = None) -> None:
    """Make `path` a symbolic link to `target` in one rename. A file there (a copy of a published
    file) is replaced; a folder (a copy of a snapshot, or the exports folder of a version that
    published without links) is moved aside, never removed: to `keep_folder_as` (default
    `<name>.before-publish`), or that name with a number if it is taken."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():
        os.rename(path, _free_name(keep_folder_as or path.with_name(f"{path.name}.before-publish")))
    temporary = _link_temporary(path)
    temporary.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, path)
    fsync_dir(path.parent)


def _free_name(path: Path) -> Path:
    """`path`, or `path.2`, `path.3`... the first that does not exist."""
    candidate, number = path, 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def _link_temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.link.tmp")


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


def settle_published(layout: Layout, kept: int | None = None) -> None:
    """Finish whatever a publish left halfway: the links readers open point through `current`,
    the published snapshot's batches are archived, and the expendable snapshots go
    (`expendable_snapshots`; `kept`: how many to keep, default `JUMP_SNAPSHOTS_KEPT`). Doing it
    twice changes nothing. Raises `PublishedStateError`, having deleted nothing, when it cannot
    tell which snapshot is published."""
    for leftover in (_link_temporary(layout.current), _link_temporary(layout.published), _link_temporary(layout.exports)):
        leftover.unlink(missing_ok=True)
    current = current_snapshot_id(layout)
    if current is not None and current in snapshot_ids(layout):
        if linked_snapshot_id(layout) != current:
            # A copy of the lakehouse without its links, or tables published (or rolled back) by a
            # run that stopped before it renamed `current`: point `current` at their snapshot.
            _replace_with_link(layout.current, os.path.join(layout.snapshots.name, current))
        _link_readers(layout)
        snapshot = read_snapshot(layout, current)
        for batch_id in snapshot.batches if snapshot else []:
            landing.archive_batch(layout.landing, batch_id)
    for snapshot_id in expendable_snapshots(layout, current, settings.snapshots_kept() if kept is None else kept):
        _remove(layout, snapshot_id)


def expendable_snapshots(layout: Layout, current: str | None, kept: int) -> list[str]:
    """The snapshots that can go, provably: intact ones (`is_intact`) newer than the published one
    (never published: a publish stopped before its rename; or left by a rollback), and intact ones
    older than the `kept - 1` that precede it (the first of which `make rollback` goes back to).

    Nothing when the published snapshot is not itself an intact snapshot folder: then nothing proves
    what the others are. Anything that is not an intact snapshot is never expendable."""
    intact = intact_snapshot_ids(layout)
    if current not in intact:
        return []
    newer = [i for i in intact if i > current]
    older = [i for i in intact if i < current]
    return newer + older[: max(len(older) - (max(kept, 2) - 1), 0)]


REMOVING = ".removing"


def _remove(layout: Layout, snapshot_id: str) -> None:
    """Remove a snapshot folder; readers that opened its file keep reading it. It is first renamed
    to `.<id>.removing`, in one step, so that a removal stopped halfway never leaves something that
    looks like a damaged snapshot: the next run finishes it (`removals_left`)."""
    trash = layout.snapshots / f".{snapshot_id}{REMOVING}"
    os.rename(layout.snapshot_folder(snapshot_id), trash)
    shutil.rmtree(trash)


def removals_left(layout: Layout) -> list[Path]:
    """Snapshot removals stopped halfway (`_remove`): expendable by their name."""
    if not layout.snapshots.is_dir():
        return []
    return sorted(
        folder
        for folder in layout.snapshots.iterdir()
        if folder.is_dir()
        and not folder.is_symlink()
        and folder.name.startswith(".")
        and folder.name.endswith(REMOVING)
        and SNAPSHOT_ID.fullmatch(folder.name[1 : -len(REMOVING)])
    )


def rollback(layout: Layout) -> tuple[str | None, str]:
    """Put the snapshot published before the current one back, atomically, with its exports.

    Returns (the snapshot left, the snapshot back). The snapshot left is then dropped: one level of
    rollback. Batches already archived stay archived; deliver them again to load them again.

    When `current` dangles or is missing (`PublishedStateError`), this is the repair: `current` is
    pointed at the newest intact snapshot, and nothing is left (the snapshot left is None).
    """
    try:
        current = current_snapshot_id(layout)
    except PublishedStateError:
        return None, _repair_current(layout)
    earlier = [i for i in intact_snapshot_ids(layout) if current is None or i < current]
    if not earlier:
        raise LookupError(f"no earlier snapshot is kept in {layout.snapshots}: nothing to roll back to")
    back = earlier[-1]
    layout.store.roll_back(layout, back)
    _point_current_at(layout, back)
    settle_published(layout)
    return str(current), back


def _repair_current(layout: Layout) -> str:
    """Point a dangling or missing `current` at the newest intact snapshot; return its id."""
    intact = intact_snapshot_ids(layout)
    if not intact:
        raise LookupError(f"{layout.current} leads to no snapshot and no intact snapshot is kept in {layout.snapshots}")
    if layout.current.exists() and not layout.current.is_symlink():
        os.rename(layout.current, _free_name(layout.current.with_name(f"{layout.current.name}.before-repair")))
    _point_current_at(layout, intact[-1])
    settle_published(layout)
    return intact[-1]
