"""Where extracts sit in the landing zone, and how a load claims, archives or rejects them.

Anything else found there is a stray (`stray_entries`): an unknown file (`app/foo.csv`), a
directory where a file is expected (`app/invoices.csv/`), a symbolic link. A load moves strays to
`_rejected/<batch>/` with the reason; a link is moved as a link, never followed, and nothing of
its target is read or shown. Hidden entries (names starting with a dot, as copy tools use for
files in flight) and entries modified in the last `SETTLE_SECONDS` are left alone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jump_platform.sources.contracts import CONTRACTS, TableContract
from jump_platform.sql import short_repr

FORMATS = ("csv", "parquet")
SQLITE_SUFFIX = ".sqlite"
# A file modified more recently than this may still be being copied: leave it for the next pass.
SETTLE_SECONDS = 2.0
RESERVED = ("_batches", "_archive", "_rejected")
# A name in progress (see the delivery protocol above) is reported when it is older than this.
IN_PROGRESS_REPORT_SECONDS = 15 * 60
IN_PROGRESS_SUFFIX = ".tmp"
# What a load recorded of each file it claimed, beside them in `_batches/<batch>/` (then moved with them).
MANIFEST = ".claimed.json"
CHANGED = "changed while it was being loaded"
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


def in_progress(name: str) -> bool:
    """Whether a name is a delivery still being written, by the protocol: a dot first or `.tmp` last."""
    return name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIX)


def _through_no_link(root: Path, path: Path) -> bool:
    """Whether neither `path` nor any folder between `root` and it is a symbolic link."""
    parts = path.relative_to(root).parts
    return not any(root.joinpath(*parts[:n]).is_symlink() for n in range(1, len(parts) + 1))


def _is_pending_file(path: Path, settle_before: float | None, root: Path) -> bool:
    if in_progress(path.name) or not _through_no_link(root, path) or not path.is_file():
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
        return sorted(path for path in folder.iterdir() if not in_progress(path.name))

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


def stale_in_progress(root: Path, older_than: float = IN_PROGRESS_REPORT_SECONDS) -> dict[Path, float]:
    """`{entry: age in seconds}` of the names in progress (a dot first, `.tmp` last) left unchanged
    for more than `older_than` seconds: a copy that died halfway, or a file that is no delivery.
    The reserved folders are not looked into, nor is any link followed or folder in progress entered."""
    if not root.is_dir():
        return {}
    now = dt.datetime.now().timestamp()
    found: dict[Path, float] = {}
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        if here == root:
            subfolders[:] = [name for name in subfolders if name not in RESERVED]
        for name in [*subfolders, *names]:
            if in_progress(name):
                age = now - (here / name).lstat().st_mtime
                if age > older_than:
                    found[here / name] = age
        subfolders[:] = sorted(name for name in subfolders if not in_progress(name))
    return dict(sorted(found.items()))


def sqlite_tables(path: Path) -> set[str]:
    """The tables of a SQLite file (read-only; SQLite's own `sqlite_*` tables left out)."""
    con = sqlite3.connect(sqlite_uri(path), uri=True)
    try:
        names = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
    finally:
        con.close()
    return {name for name in names if not name.startswith("sqlite_")}


def incomplete_sqlite_files(root: Path, settle_seconds: float | None = SETTLE_SECONDS) -> dict[Path, str]:
    """`{<system>.sqlite: why it is refused}` for the SQLite files that are not a whole snapshot of
    their system: a snapshot holds every table of its system (a missing table would otherwise keep
    its old rows beside new ones of the tables delivered), and an unknown table is refused like an
    unknown CSV file. One that cannot be read is left to the load, which refuses it with the reason."""
    found: dict[Path, str] = {}
    for system in sorted({c.system for c in CONTRACTS.values()}):
        path = root / f"{system}{SQLITE_SUFFIX}"
        if not _is_pending_file(path, None if settle_seconds is None else dt.datetime.now().timestamp() - settle_seconds, root):
            continue
        try:
            names = sqlite_tables(path)
        except sqlite3.Error:
            continue
        expected = sorted(c.name for c in CONTRACTS.values() if c.system == system)
        missing = [name for name in expected if name not in names]
        unknown = sorted(names - set(expected))
        problems = []
        if missing:
            problems.append(f"missing table(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown table(s) {', '.join(short_repr(name) for name in unknown)}")
        if problems:
            found[path] = (
                f"{'; '.join(problems)}: a SQLite snapshot of {system} holds exactly its tables "
                f"({', '.join(expected)}); deliver the others as CSV or Parquet files (increments in {system}/<table>/)"
            )
    return found


def deliveries_in(root: Path, files: Iterable[Path]) -> list[Delivery]:
    """What each file delivers, by its place in the layout (paths relative to `root`)."""
    by_place = {(c.system, c.name): c for c in CONTRACTS.values()}
    deliveries: list[Delivery] = []
    for path in files:
        parts = path.relative_to(root).parts
        if len(parts) == 1 and path.suffix == SQLITE_SUFFIX:
            system = path.stem
            # The table names are compared with the contracts', never put in SQL.
            names = sqlite_tables(path)
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


def _fingerprint(path: Path) -> list[int]:
    """What says a file changed: its size, modification time (ns) and inode (not following links)."""
    found = path.lstat()
    return [found.st_size, found.st_mtime_ns, found.st_ino]


def _read_manifest(batch_root: Path) -> dict[str, list[int]]:
    try:
        return json.loads((batch_root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(batch_root: Path, manifest: dict[str, list[int]]) -> None:
    temporary = batch_root / f"{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, batch_root / MANIFEST)


def claim(root: Path, files: Iterable[Path], batch_id: str) -> tuple[Path, list[Path]]:
    """Move pending files into `_batches/<batch_id>/`, keeping their layout, and record each one's
    fingerprint as claimed (taken before the move: a rename keeps it). Returns the batch root."""
    batch_root = root / "_batches" / batch_id
    claimed, manifest = [], {}
    for path in files:
        target = batch_root / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        before = _fingerprint(path)
        os.replace(path, target)
        manifest[target.relative_to(batch_root).as_posix()] = before
        claimed.append(target)
    batch_root.mkdir(parents=True, exist_ok=True)
    _write_manifest(batch_root, manifest)
    return batch_root, claimed


def _change(before: list[int], path: Path) -> str | None:
    """How a file differs from its fingerprint `before`, or None."""
    try:
        now = _fingerprint(path)
    except FileNotFoundError:
        return "it disappeared"
    if now == before:
        return None
    size = f"{before[0]} bytes when claimed, {now[0]} bytes now" if now[0] != before[0] else "same size, rewritten"
    return size if now[2] == before[2] else f"{size}, a different file (replaced)"


def changed_since_claimed(batch_root: Path) -> dict[Path, str]:
    """`{file: why it is refused}` for the files of a claimed batch that changed since the claim."""
    found = {}
    for relative, before in _read_manifest(batch_root).items():
        change = _change(before, batch_root / relative)
        if change:
            found[batch_root / relative] = (
                f"{relative}: {CHANGED} ({change}); a writer may still be writing it. Write a delivery under a "
                f"temporary name (a dot first or {IN_PROGRESS_SUFFIX} last) and rename it into place once complete"
            )
    return found


def late_writes(root: Path) -> dict[Path, str]:
    """Files of `_archive/` and `_rejected/` written to after they were settled there (a writer that
    went on appending to a file the load had claimed). Each is noted once: `<file>.error.txt` says
    what happened, and its fingerprint is taken again. Returns `{file: what happened}`."""
    found: dict[Path, str] = {}
    for manifest in sorted([*root.glob(f"_archive/*/{MANIFEST}"), *root.glob(f"_rejected/*/{MANIFEST}")]):
        settled_root = manifest.parent
        fingerprints = _read_manifest(settled_root)
        noted = False
        for relative, before in fingerprints.items():
            path = settled_root / relative
            change = _change(before, path)
            if change is None or change == "it disappeared":
                continue
            note = (
                f"written to after it was {'archived' if settled_root.parent.name == '_archive' else 'rejected'} "
                f"({change}): what was written since was never loaded; a writer was still writing it. "
                f"Deliver the missing rows again, under a temporary name renamed into place once complete"
            )
            with path.with_name(path.name + ".error.txt").open("a", encoding="utf-8") as handle:
                handle.write(note + "\n")
            fingerprints[relative] = _fingerprint(path)
            found[path], noted = note, True
        if noted:
            _write_manifest(settled_root, fingerprints)
    return found


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
    claimed = _read_manifest(batch_root)
    for path, reason in (errors or {}).items():
        _move_with_reason(path, target_root / path.relative_to(batch_root), reason)
    if errors is None:
        for path in _batch_files(batch_root):
            relative = path.relative_to(batch_root).as_posix()
            change = _change(claimed[relative], path) if relative in claimed else None
            # Changed after its last check (the publish): its rows past the claim were not loaded.
            reason = None if change is None else f"{CHANGED} ({change}): only its rows as claimed were loaded"
            _move_with_reason(path, target_root / relative, reason)
    # The settled files' fingerprints go with them, for `late_writes` to notice a writer still at it.
    settled = {relative: _fingerprint(target_root / relative) for relative in claimed if (target_root / relative).is_file()}
    (batch_root / MANIFEST).unlink(missing_ok=True)
    if settled:
        previous = _read_manifest(target_root)
        _write_manifest(target_root, {**previous, **settled})
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
    """The delivered files of a batch (not its manifest)."""
    if not batch_root.is_dir():
        return []
    return sorted(path for path in batch_root.rglob("*") if path.is_file() and path != batch_root / MANIFEST)


def _tidy(root: Path, batch_root: Path) -> None:
    remove_empty_dirs(batch_root)
    remove_empty_dirs(root / "_batches")


def archive_batch(root: Path, batch_id: str) -> None:
    """A batch whose data was published: its files go to `_archive/<batch>/`."""
    batch_root = root / "_batches" / batch_id
    if batch_root.is_dir():
        settle(batch_root, root, "_archive")
        _tidy(root, batch_root)


def reject_batch(root: Path, batch_id: str, reason: str, details: Mapping[str, list[str]] | None = None) -> list[Path]:
    """A batch whose data will not be published (it failed the audit): every file goes to
    `_rejected/<batch>/` with the reason beside it, and under it what concerns that file alone
    (`details`, by the file's label: `app/invoices.csv`, `app.sqlite#invoices`: the offending rows a
    rule found in it, with their lines). Returns the files' new places."""
    batch_root = root / "_batches" / batch_id
    files = _batch_files(batch_root)
    by_file: dict[str, list[str]] = {}
    for label, lines in (details or {}).items():
        file, _, table = label.partition("#")
        by_file.setdefault(file, []).extend(f"{table}: {line}" if table else line for line in lines)
    reasons = {
        path: "\n".join([reason, *(f"- {line}" for line in by_file.get(path.relative_to(batch_root).as_posix(), []))])
        for path in files
    }
    target = settle(batch_root, root, "_rejected", reasons)
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
    # The claim's record of files no longer claimed: a fingerprint of what this batch held, nothing else.
    (batch_root / MANIFEST).unlink(missing_ok=True)
    _tidy(root, batch_root)
    return returned


def batch_id_for(now: dt.datetime, run_id: str) -> str:
    """A batch id that sorts by time and never repeats: `20261121T060000Z-<run id prefix>`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{run_id[:8]}"
