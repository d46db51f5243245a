"""Where extracts sit in the landing zone, and how a load claims, archives or rejects them."""

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
# Files are read, validated and written this many rows at a time, so memory stays bounded.

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



def _is_pending_file(path: Path, settle_before: float | None) -> bool:
    if not path.is_file() or path.name.startswith("."):
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
        if _is_pending_file(sqlite_file, settle_before):
            found.append(sqlite_file)
        for contract in (c for c in CONTRACTS.values() if c.system == system):
            for fmt in FORMATS:
                snapshot = root / system / f"{contract.name}.{fmt}"
                if _is_pending_file(snapshot, settle_before):
                    found.append(snapshot)
            folder = root / system / contract.name
            if folder.is_dir():
                found.extend(
                    sorted(
                        path
                        for path in folder.iterdir()
                        if path.suffix.lstrip(".") in FORMATS and _is_pending_file(path, settle_before)
                    )
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
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                names = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
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


def settle(batch_root: Path, root: Path, outcome: str, errors: dict[Path, str] | None = None) -> Path:
    """Move a claimed file (or a whole batch) to `_archive/` or `_rejected/`, with the reasons."""
    if outcome not in ("_archive", "_rejected"):
        raise ValueError(f"outcome must be _archive or _rejected, not {outcome!r}")
    target_root = root / outcome / batch_root.name
    for path, reason in (errors or {}).items():
        destination = target_root / path.relative_to(batch_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
        destination.with_name(destination.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")
    if errors is None:
        for path in sorted(p for p in batch_root.rglob("*") if p.is_file()):
            destination = target_root / path.relative_to(batch_root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)
    return target_root


def remove_empty_dirs(folder: Path) -> None:
    if folder.is_dir():
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()



def batch_id_for(now: dt.datetime, run_id: str) -> str:
    """A batch id that sorts by time and never repeats: `20261121T060000Z-<run id prefix>`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{run_id[:8]}"
