"""The build: the copy of the lakehouse that runs write and check, and what a run leaves in it.

`state.json` says where the build stands:
- `clean`: a copy of the published snapshot `base`, untouched;
- `open`: a run holds it and may be writing; found so by the next run, that run died;
- `ready`: runs wrote it and ended well, and it is not published yet (`make load` alone, a model
  rebuilt from the UI): the next run goes on from it;
- `failed`: a run's audit failed on it; kept for inspection (`make query LAKEHOUSE=build`) until
  the next run starts again from the published snapshot.

It also lists the batches loaded into the build since the last publish (their files wait in the
landing zone's `_batches/`), and which assets were written, in order, so that a publish can tell a
build whose every change went through its downstream models and checks from one halfway there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jump_platform.files import explaining_full_disk, human_size
from jump_platform.lakehouse import snapshots
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import NO_BUILD_YET, build_files, build_temporary
from jump_platform.sources import landing

CLEAN, OPEN, READY, FAILED = "clean", "open", "ready", "failed"


@dataclass
class BuildState:
    base: str | None
    status: str = CLEAN
    run_id: str | None = None
    # Asset key (`sources/app__users`) -> when it was written since the last publish (1, 2, ...).
    written: dict[str, int] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    failure: str | None = None
    # The failure was a full disk: the build was removed and its batches went back to the landing zone.
    disk_full: bool = False
    # `"<batch id>/<file>"` -> what failed rules found in that file, added to its reason if rejected.
    offending_rows: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, layout: Layout) -> BuildState | None:
        try:
            return cls(**json.loads(layout.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, layout: Layout) -> None:
        layout.build_folder.mkdir(parents=True, exist_ok=True)
        temporary = state_temporary(layout)
        try:
            with explaining_full_disk(layout.state_file):
                temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, layout.state_file)

    def record_written(self, keys: Iterable[str]) -> None:
        """Note that `keys` were just written, after everything written before."""
        step = max(self.written.values(), default=0) + 1
        self.written.update(dict.fromkeys(keys, step))


def state_temporary(layout: Layout) -> Path:
    return layout.state_file.with_name(f".{layout.state_file.name}.tmp")


@dataclass(frozen=True)
class Opened:
    """The build as a run found it: its state, and whether it was started again from the
    published snapshot (why, and which landing files went back to be loaded again)."""

    state: BuildState
    reset_because: str | None = None
    returned_files: list[Path] = field(default_factory=list)


def _reset_reason(layout: Layout, state: BuildState | None, current: str | None) -> str | None:
    if state is None:
        return NO_BUILD_YET
    if state.status == OPEN:
        return f"run {state.run_id} stopped before it finished"
    if state.status == FAILED and state.disk_full:
        return f"run {state.run_id} failed on a full disk ({state.failure})"
    if state.status == FAILED:
        return f"run {state.run_id} failed its audit ({state.failure})"
    if state.base != current:
        return f"the published snapshot changed (now {current}; the build was made from {state.base})"
    if current is not None:
        return layout.store.build_missing(layout)
    return None


def reset_build(layout: Layout, current: str | None) -> None:
    """Make the build a fresh copy of the published lakehouse (or empty when nothing is published):
    its tables (`layout.store`: a copy of the file on DuckDB) and no exports of its own (the CSV
    files runs export there; anything else in the folder is not the build's and stays)."""
    for path in _build_exports(layout):
        path.unlink()
    layout.build_folder.mkdir(parents=True, exist_ok=True)
    layout.store.reset_build(layout, current)


def _build_exports(layout: Layout) -> list[Path]:
    """The exports a run wrote into the build (`<name>.csv`) and those it was writing (`.<name>.csv.tmp`)."""
    if not layout.build_exports.is_dir():
        return []
    return sorted(
        path
        for path in layout.build_exports.iterdir()
        if path.is_file()
        and not path.is_symlink()
        and (
            (path.suffix == ".csv" and not path.name.startswith("."))
            or (path.name.startswith(".") and path.name.endswith(".csv.tmp"))
        )
    )


def free_leftovers(layout: Layout) -> list[str]:
    """Free what a run that died (or failed on a full disk) left, when it is provably its own; return
    what was freed, one line each. Called first by every run, holding the lakehouse, so that a run
    after a full disk starts by making room rather than failing again before it frees anything.

    Always the platform's own temporaries (`.state.json.tmp`, the build's `.lakehouse.duckdb.tmp`,
    a snapshot removal stopped halfway). When the state says a run died holding the build (`open`),
    also that run's half-written snapshot (`.<id>-<its run id>`), and the build's file and
    write-ahead log, which the next run to open the build makes again from the published snapshot
    anyway (its batches' files wait in `_batches/` and go back to the landing zone then).
    """
    freed: list[str] = []

    def free(path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
            shutil.rmtree(path)
        elif path.is_file() or path.is_symlink():
            size = path.lstat().st_size
            path.unlink()
        else:
            return
        freed.append(f"{path} ({human_size(size)})")

    for path in (state_temporary(layout), build_temporary(layout), *snapshots.removals_left(layout)):
        free(path)
    state = BuildState.load(layout)
    if state is not None and state.status == OPEN:
        for path in snapshots.partial_snapshots_of(layout, state.run_id or ""):
            free(path)
        if layout.store.has_file:
            for path in build_files(layout):
                free(path)
    return freed


def open_build(layout: Layout, run_id: str) -> Opened:
    """Prepare the build for a run that holds the lock, and mark it open.

    First whatever a publish left halfway is finished (`settle_published`). Then the build is kept
    if it is clean or ready on top of the published snapshot; otherwise (a run died holding it, an
    audit failed, a rollback happened) it starts again from the published snapshot, and the files
    of the batches it held go back to the landing zone, to be loaded again.
    """
    free_leftovers(layout)
    snapshots.settle_published(layout)
    current = snapshots.current_snapshot_id(layout)
    state = BuildState.load(layout)
    reason = _reset_reason(layout, state, current)
    if state is None and layout.state_file.exists():
        # Unreadable (a disk error, a hand edit): kept aside for whoever wants to see it, not deleted.
        aside = layout.state_file.with_name(f"{layout.state_file.name}.unreadable")
        os.replace(layout.state_file, aside)
        reason = f"the build's state file was unreadable (kept as {aside})"
    if reason:
        reset_build(layout, current)
        state = BuildState(base=current)
    # Newest first: where two batches hold the same file, the newer delivery takes its place again
    # and the older one goes to `_rejected/` as superseded (batch ids sort by time).
    returned = [
        path
        for batch_id in reversed(landing.batches_waiting(layout.landing))
        if batch_id not in state.batches
        for path in landing.return_batch(layout.landing, batch_id)
    ]
    state.status, state.run_id, state.failure, state.disk_full = OPEN, run_id, None, False
    state.save(layout)
    return Opened(state, reason, returned)


def close_build(layout: Layout, state: BuildState, failure: str | None, disk_full: bool = False) -> list[Path]:
    """What a run leaves when it ends (its process alive): the build `failed` with the reason if
    its audit failed, and the files of the build's batches then go to `_rejected/` with it; else
    `ready` when something is waiting to be published, `clean` when not. Returns rejected files.

    A failure on a full disk (`disk_full`) says nothing about the data: the batches' files go back
    to the landing zone, to be loaded again once there is room, and the build's file and
    write-ahead log (a partial build, of no use to inspect) are removed to free the space."""
    rejected: list[Path] = []
    if failure and disk_full:
        if layout.store.has_file:
            for path in build_files(layout):
                path.unlink(missing_ok=True)
        for batch_id in reversed(state.batches):  # newest first: a newer delivery keeps its place
            landing.return_batch(layout.landing, batch_id)
        state.status, state.failure, state.batches, state.disk_full, state.offending_rows = FAILED, failure, [], True, {}
    elif failure:
        state.disk_full = False
        reason = f"not published: {failure}"
        for batch_id in state.batches:
            details = {
                file.removeprefix(f"{batch_id}/"): rows
                for file, rows in state.offending_rows.items()
                if file.startswith(f"{batch_id}/")
            }
            rejected += landing.reject_batch(layout.landing, batch_id, reason, details)
        state.status, state.failure, state.batches, state.offending_rows = FAILED, failure, [], {}
    else:
        state.status = READY if state.written else CLEAN
    state.save(layout)
    return rejected


def unpublishable(state: BuildState, downstream: Mapping[str, Iterable[str]]) -> list[str]:
    """Why the build cannot be published as it is, empty when it can: each asset written since the
    last publish whose downstream assets (`downstream[key]`) were not all rebuilt after it, so
    that no table reaches readers before the models and checks that follow it."""
    problems = []
    for key, step in sorted(state.written.items(), key=lambda item: (item[1], item[0])):
        behind = sorted(other for other in downstream.get(key, ()) if state.written.get(other, 0) < step)
        if behind:
            shown = ", ".join(behind[:5]) + (f" and {len(behind) - 5} more" if len(behind) > 5 else "")
            problems.append(f"{key} changed but {shown} {'was' if len(behind) == 1 else 'were'} not rebuilt since")
    return problems
