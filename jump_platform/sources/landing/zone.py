"""Where extracts sit in the landing zone, and how a load claims, archives or rejects them.

Anything else found there is a stray (`stray_entries`): an unknown file (`app/foo.csv`), a
directory where a file is expected (`app/invoices.csv/`), a symbolic link. A load moves strays to
`_rejected/<batch>/` with the reason; a link is moved as a link, never followed, and nothing of
its target is read or shown. Hidden entries (names starting with a dot, as copy tools use for
files in flight) and entries modified in the last `SETTLE_SECONDS` are left alone.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jump_platform.sources.contracts import CONTRACTS, TableContract

FORMATS = ("csv", "parquet")
SQLITE_SUFFIX = ".sqlite"
# A file modified more recently than this may still be being copied: leave it for the next pass.
SETTLE_SECONDS = 2.0
RESERVED = ("_batches", "_archive", "_rejected")
SYMLINK_REASON = "a symbolic link; the landing zone never follows links (its target was not read): deliver the file itself"


def sqlite_uri(path: Path) -> str:
    """A read-only SQLite URI for `path`, percent-encoded: a `?` or `#` in a name stays in the name."""
    return path.resolve().as_uri() + "?mode=ro"


@dataclass(frozen=True)
class Delivery:
    """One file (or one table of a SQLite file) for one source table."""

    contract: TableContract
    path: Path
    incremental: bool
    sqlite_table: str | None = None

    def label(self, root: Path) -> str:
        relative = self.path.relative_to(root).as_posix()
        return f"{relative}#{self.sqlite_table}" if self.sqlite_table else relative


def _through_no_link(root: Path, path: Path) -> bool:
    """Whether neither `path` nor any folder between `root` and it is a symbolic link."""
    parts = path.relative_to(root).parts
    return not any(root.joinpath(*parts[:n]).is_symlink() for n in range(1, len(parts) + 1))


def _is_pending_file(path: Path, settle_before: float | None, root: Path) -> bool:
    if path.name.startswith(".") or not _through_no_link(root, path) or not path.is_file():
        return False
    return settle_before is None or path.stat().st_mtime <= settle_before


def pending_files(root: Path, settle_seconds: float | None = SETTLE_SECONDS) -> list[Path]:
    """Files waiting in the landing zone that belong to a known table, in a stable order."""
    if not root.is_dir():
        return []
    settle_before = None if settle_seconds is None else dt.datetime.now().timestamp() - settle_seconds
    systems = {contract.system for contract in CONTRACTS.values()}
    found: list[Path] = []
    for system in sorted(systems):
        sqlite_file = root / f"{system}{SQLITE_SUFFIX}"
        if _is_pending_file(sqlite_file, settle_before, root):
            found.append(sqlite_file)
        for contract in (c for c in CONTRACTS.values() if c.system == system):
            for fmt in FORMATS:
                snapshot = root / system / f"{contract.name}.{fmt}"
                if _is_pending_file(snapshot, settle_before, root):
                    found.append(snapshot)
            folder = root / system / contract.name
            if _through_no_link(root, folder) and folder.is_dir():
                found.extend(
                    sorted(
                        path
                        for path in folder.iterdir()
                        if path.suffix.lstrip(".") in FORMATS and _is_pending_file(path, settle_before, root)
                    )
                )
    return found


def stray_entries(root: Path, settle_seconds: float | None = SETTLE_SECONDS) -> dict[Path, str]:
    """`{entry: why it is refused}` for everything in the landing zone that is not a delivery.

    Looks at names and entry types only (`lstat`): no file is opened, no link followed.
    """
    if not root.is_dir():
        return {}
    settle_before = None if settle_seconds is None else dt.datetime.now().timestamp() - settle_seconds
    systems = sorted({c.system for c in CONTRACTS.values()})
    tables = {s: sorted(c.name for c in CONTRACTS.values() if c.system == s) for s in systems}
    found: dict[Path, str] = {}

    def entries(folder: Path) -> list[Path]:
        return sorted(path for path in folder.iterdir() if not path.name.startswith("."))

    root_expected = f"expected a folder per system ({', '.join(systems)}) or <system>{SQLITE_SUFFIX}"
    for entry in entries(root):
        if entry.is_symlink():
            found[entry] = SYMLINK_REASON
        elif entry.name in RESERVED and entry.is_dir():
            continue
        elif entry.name in (f"{s}{SQLITE_SUFFIX}" for s in systems):
            if not entry.is_file():
                found[entry] = f"not a file; expected a SQLite database file at {entry.name}"
        elif entry.name not in systems or not entry.is_dir():
            found[entry] = f"not a delivery the landing zone knows; {root_expected}"
    for system in systems:
        folder = root / system
        if folder.is_symlink() or not folder.is_dir():
            continue
        expected = (
            f"expected <table>.csv, <table>.parquet or a folder <table>/ of increments, "
            f"the table one of {', '.join(tables[system])}"
        )
        for entry in entries(folder):
            stem, suffix = entry.stem, entry.suffix.lstrip(".")
            if entry.is_symlink():
                found[entry] = SYMLINK_REASON
            elif stem in tables[system] and suffix in FORMATS:
                if not entry.is_file():
                    found[entry] = f"a directory; expected the file {system}/{entry.name}"
            elif entry.name in tables[system] and entry.is_dir():
                for increment in entries(entry):
                    if increment.is_symlink():
                        found[increment] = SYMLINK_REASON
                    elif increment.suffix.lstrip(".") not in FORMATS or not increment.is_file():
                        found[increment] = (
                            f"not a delivery the landing zone knows; expected {system}/{entry.name}/<batch>.csv "
                            f"or <batch>.parquet files"
                        )
            else:
                found[entry] = f"not a delivery the landing zone knows; {expected}"
    # An entry modified in the last seconds may still be being copied: it waits for the next load.
    return {path: reason for path, reason in found.items() if settle_before is None or path.lstat().st_mtime <= settle_before}


def deliveries_in(root: Path, files: Iterable[Path]) -> list[Delivery]:
    """What each file delivers, by its place in the layout (paths relative to `root`)."""
    by_place = {(c.system, c.name): c for c in CONTRACTS.values()}
    deliveries: list[Delivery] = []
    for path in files:
        parts = path.relative_to(root).parts
        if len(parts) == 1 and path.suffix == SQLITE_SUFFIX:
            system = path.stem
            # The table names are compared with the contracts', never put in SQL.
            con = sqlite3.connect(sqlite_uri(path), uri=True)
            try:
                names = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
            finally:
                con.close()
            deliveries.extend(
                Delivery(contract, path, incremental=False, sqlite_table=contract.name)
                for (sys_name, _), contract in sorted(by_place.items())
                if sys_name == system and contract.name in names
            )
        elif len(parts) == 2:
            deliveries.append(Delivery(by_place[(parts[0], path.stem)], path, incremental=False))
        elif len(parts) == 3:
            deliveries.append(Delivery(by_place[(parts[0], parts[1])], path, incremental=True))
    return deliveries


def claim(root: Path, files: Iterable[Path], batch_id: str) -> tuple[Path, list[Path]]:
    """Move pending files into `_batches/<batch_id>/`, keeping their layout. Returns the batch root."""
    batch_root = root / "_batches" / batch_id
    claimed = []
    for path in files:
        target = batch_root / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        claimed.append(target)
    return batch_root, claimed


def _move_with_reason(path: Path, destination: Path, reason: str | None) -> None:
    """Move a file, a link (as a link) or a directory, writing `<name>.error.txt` beside it. An
    entry already at `destination` is never replaced: the moved one takes `<name>.2`, `<name>.3`..."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    number, free = 1, destination
    while free.exists() or free.is_symlink():
        number += 1
        free = destination.with_name(f"{destination.name}.{number}")
    destination = free
    os.replace(path, destination)
    if reason is not None:
        destination.with_name(destination.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")


def settle(batch_root: Path, root: Path, outcome: str, errors: dict[Path, str] | None = None) -> Path:
    """Move a claimed file (or a whole batch) to `_archive/` or `_rejected/`, with the reasons."""
    if outcome not in ("_archive", "_rejected"):
        raise ValueError(f"outcome must be _archive or _rejected, not {outcome!r}")
    target_root = root / outcome / batch_root.name
    for path, reason in (errors or {}).items():
        _move_with_reason(path, target_root / path.relative_to(batch_root), reason)
    if errors is None:
        for path in sorted(p for p in batch_root.rglob("*") if p.is_file()):
            _move_with_reason(path, target_root / path.relative_to(batch_root), None)
    return target_root


def reject_strays(root: Path, batch_id: str, strays: dict[Path, str]) -> Path:
    """Move strays (see `stray_entries`) to `_rejected/<batch_id>/`, keeping their place, each with
    its reason in `<name>.error.txt`."""
    target_root = root / "_rejected" / batch_id
    for path, reason in strays.items():
        _move_with_reason(path, target_root / path.relative_to(root), reason)
    return target_root


def refuse_whole_batch(labels: dict[Path, str], errors: dict[Path, str], also_refused: Iterable[str] = ()) -> dict[Path, str]:
    """A batch lands whole or not at all: when some files are refused (`errors`, or strays refused
    before the batch was claimed: `also_refused`), every file of the batch (`labels`: path -> name
    to show) is, the refused ones with their error and the others saying which file was refused."""
    names = sorted(labels[path] for path in errors) + sorted(also_refused)
    refused = ", ".join(names)
    verb = "was" if len(names) == 1 else "were"
    return {path: errors.get(path, f"not loaded: {refused} {verb} refused") for path in labels}


def remove_empty_dirs(folder: Path) -> None:
    if folder.is_dir():
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()


# --- a batch after its load: published, refused by the audit, or interrupted -----------------------


def batches_waiting(root: Path) -> list[str]:
    """Ids of the batches whose files wait in `_batches/`: loaded into the build, not published yet."""
    folder = root / "_batches"
    return sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []


def _batch_files(batch_root: Path) -> list[Path]:
    return sorted(path for path in batch_root.rglob("*") if path.is_file()) if batch_root.is_dir() else []


def _tidy(root: Path, batch_root: Path) -> None:
    remove_empty_dirs(batch_root)
    remove_empty_dirs(root / "_batches")


def archive_batch(root: Path, batch_id: str) -> None:
    """A batch whose data was published: its files go to `_archive/<batch>/`."""
    batch_root = root / "_batches" / batch_id
    if batch_root.is_dir():
        settle(batch_root, root, "_archive")
        _tidy(root, batch_root)


def reject_batch(root: Path, batch_id: str, reason: str) -> list[Path]:
    """A batch whose data will not be published (it failed the audit): every file goes to
    `_rejected/<batch>/` with the reason beside it. Returns the files' new places."""
    batch_root = root / "_batches" / batch_id
    files = _batch_files(batch_root)
    target = settle(batch_root, root, "_rejected", dict.fromkeys(files, reason))
    _tidy(root, batch_root)
    return [target / path.relative_to(batch_root) for path in files]


def return_batch(root: Path, batch_id: str) -> list[Path]:
    """A batch whose load was interrupted (its run died): its files go back to the landing zone, to
    be loaded again. A file delivered again at the same place since then is newer and stays; the
    older one goes to `_rejected/<batch>/`, saying so. Returns the files back in the landing zone."""
    batch_root = root / "_batches" / batch_id
    returned, superseded = [], {}
    for path in _batch_files(batch_root):
        place = root / path.relative_to(batch_root)
        if place.exists():
            superseded[path] = (
                f"not loaded: batch {batch_id} was interrupted and {place.relative_to(root).as_posix()} "
                "was delivered again since; the newer file is loaded instead"
            )
            continue
        place.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, place)
        returned.append(place)
    if superseded:
        settle(batch_root, root, "_rejected", superseded)
    _tidy(root, batch_root)
    return returned


def batch_id_for(now: dt.datetime, run_id: str) -> str:
    """A batch id that sorts by time and never repeats: `20261121T060000Z-<run id prefix>`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{run_id[:8]}"
