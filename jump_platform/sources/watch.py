"""What the landing-zone sensor sees: the files waiting to be loaded, known by their content.

Plain functions on files, so the sensor stays a thin shell and the tests call them directly. None
of them opens the lakehouse, and none moves a file: the load run claims, archives and rejects.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from jump_platform.sources import landing
from jump_platform.sources.contracts import CONTRACTS

CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content, read in bounded chunks whatever its size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(root: Path) -> dict[str, str]:
    """`{path relative to root: sha256}` of every file waiting in the landing zone.

    Files modified in the last seconds may still be being copied: `landing.pending_files` leaves
    them for the next pass. A file claimed by a load while we read it is simply not there.
    """
    found: dict[str, str] = {}
    for path in landing.pending_files(root):
        try:
            found[path.relative_to(root).as_posix()] = file_sha256(path)
        except FileNotFoundError:
            continue
    return found


def changed_files(previous: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Files that are new, or whose content changed, since the previous pass (a touch is no change)."""
    return sorted(path for path, digest in current.items() if previous.get(path) != digest)


def tables_delivered(root: Path, relative_paths: Iterable[str]) -> set[str]:
    """The source tables (`app__invoices`...) the files deliver, by their place in the layout.

    A SQLite file is opened read-only to list its tables; one that cannot be read is taken to
    deliver every table of its system (the load will refuse it with the reason).
    """
    tables: set[str] = set()
    for relative in relative_paths:
        path = root / relative
        try:
            tables.update(d.contract.table for d in landing.deliveries_in(root, [path]))
        except (sqlite3.Error, FileNotFoundError):
            system = path.name.removesuffix(landing.SQLITE_SUFFIX)
            tables.update(table for table, contract in CONTRACTS.items() if contract.system == system)
    return tables


def tables_waiting(root: Path) -> set[str]:
    """The source tables that the files waiting in the landing zone now deliver (settled or not,
    as a load takes them)."""
    waiting = landing.pending_files(root, settle_seconds=None)
    return tables_delivered(root, [path.relative_to(root).as_posix() for path in waiting])


def run_key(root: Path, relative_paths: Iterable[str], current: Mapping[str, str]) -> str:
    """A run key for loading these files: the same files in the same state give the same key.

    It hashes each file's path, content hash and modification time: the same content delivered
    again after the first copy was loaded is a new delivery, and Dagster never reuses a run key.
    """
    digest = hashlib.sha256()
    for relative in sorted(relative_paths):
        try:
            mtime_ns = (root / relative).stat().st_mtime_ns
        except FileNotFoundError:
            mtime_ns = 0
        digest.update(f"{relative}\t{current[relative]}\t{mtime_ns}\n".encode())
    return f"landing-{digest.hexdigest()[:20]}"
