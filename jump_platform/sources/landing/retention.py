"""How long delivered files stay in the landing zone once they are settled: `_archive/<batch>/`
(loaded and published) and `_rejected/<batch>/` (refused, with their reasons).

A batch folder goes when its batch id (`batch_id_for`: the time the load claimed it) is older than
the retention. Only folders named as a batch id are considered: anything else there (a folder an
operator made, a file) is not the platform's to remove. Deliveries still to load, in the landing
zone itself or loaded and waiting for their publish in `_batches/`, are never touched.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# `batch_id_for`: `20261121T060000Z-<run id prefix>`.
_BATCH_ID = re.compile(r"(\d{8}T\d{6}Z)-[^/]+")


def batch_time(batch_id: str) -> dt.datetime | None:
    """When a batch was claimed, read from its id; None when the name is not a batch id."""
    match = _BATCH_ID.fullmatch(batch_id)
    if not match:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Removed:
    folder: Path
    files: int
    size_bytes: int


def expired_batches(root: Path, outcome: str, days: int, now: dt.datetime) -> list[Path]:
    """The batch folders of `root/<outcome>/` (`_archive` or `_rejected`) older than `days` (0: none)."""
    if outcome not in ("_archive", "_rejected"):
        raise ValueError(f"outcome must be _archive or _rejected, not {outcome!r}")
    folder = root / outcome
    if days <= 0 or not folder.is_dir() or folder.is_symlink():
        return []
    limit = now - dt.timedelta(days=days)
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_dir() and not path.is_symlink() and (claimed := batch_time(path.name)) is not None and claimed < limit
    )


def apply_retention(root: Path, archive_days: int, rejected_days: int, now: dt.datetime) -> list[Removed]:
    """Remove the batches of `_archive/` older than `archive_days` and of `_rejected/` older than
    `rejected_days` (0 keeps them forever); return what went."""
    removed = []
    for outcome, days in (("_archive", archive_days), ("_rejected", rejected_days)):
        for folder in expired_batches(root, outcome, days, now):
            files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
            size = sum(p.stat().st_size for p in files)
            shutil.rmtree(folder)
            removed.append(Removed(folder, len(files), size))
    return removed
