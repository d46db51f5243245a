"""Write-audit-publish on Spark: the build is the Spark folder runs write, a snapshot holds its
tables as hard links, and the rename of `current` publishes them (see `spark.py` for the whole).

- **Build.** Runs write `<spark dir>/sources/<table>/` (the loader) and
  `<spark dir>/warehouse/<schema>.db/<table>/` (dbt, catalogued in the run's Hive metastore):
  readers never read these folders.
- **Publish.** `copy_into` puts a hard link to every Parquet file of the build's tables in the
  snapshot folder, `tables/<schema>/<table>/` (a copy where the snapshot is on another file
  system): no data is copied, and neither Spark nor the loader ever writes an existing file again
  (a table rewritten gets new files, the old ones are unlinked), so the snapshot's files never
  change. Then the one rename of `current` publishes the tables with their exports. Readers reach
  them through the link `<spark dir>/published -> <state>/current/tables`, made once.
- **Audit.** A failed audit publishes nothing: `current` is untouched. The next run makes the
  build's table folders again from the published snapshot's (`reset_build`, hard links again).
- **Rollback** renames `current` back to the snapshot before; old snapshots go as on DuckDB
  (`JUMP_SNAPSHOTS_KEPT`, `snapshots.expendable_snapshots`): removing one removes its links only.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from jump_platform.files import copy_durably, fsync_dir
from jump_platform.lakehouse.stores import SNAPSHOT_SCHEMA, linked_snapshot_id

if TYPE_CHECKING:
    from jump_platform.lakehouse.layout import Layout
    from jump_platform.lakehouse.snapshots import Snapshot

TABLE_NAME = re.compile(r"[a-z0-9_]+")
# The folder of a snapshot that holds its tables, and the link readers open in the Spark folder.
TABLES = "tables"
PUBLISHED = "published"


def build_tables(root: Path) -> dict[tuple[str, str], Path]:
    """The build's tables, `(schema, table)` -> folder: the loader's `sources/<table>` and Spark's
    `warehouse/<schema>.db/<table>`. Only folders named as tables are; anything else is not the
    build's and is never touched."""
    tables = {}
    for folder in sorted((root / "sources").glob("*")):
        if folder.is_dir() and not folder.is_symlink() and TABLE_NAME.fullmatch(folder.name):
            tables["sources", folder.name] = folder
    for schema in sorted((root / "warehouse").glob("*.db")):
        name = schema.name.removesuffix(".db")
        if not (schema.is_dir() and TABLE_NAME.fullmatch(name)):
            continue
        for folder in sorted(schema.iterdir()):
            if folder.is_dir() and not folder.is_symlink() and TABLE_NAME.fullmatch(folder.name):
                tables[name, folder.name] = folder
    return tables


def build_table_folder(root: Path, schema: str, table: str) -> Path:
    return root / "sources" / table if schema == "sources" else root / "warehouse" / f"{schema}.db" / table


def snapshot_tables(folder: Path) -> dict[tuple[str, str], Path]:
    """The tables a snapshot folder's `tables/` holds, `(schema, table)` -> folder."""
    return {
        (schema.name, table.name): table
        for schema in sorted((folder / TABLES).glob("*"))
        if schema.is_dir() and TABLE_NAME.fullmatch(schema.name)
        for table in sorted(schema.iterdir())
        if table.is_dir() and TABLE_NAME.fullmatch(table.name)
    }


def parquet_files(folder: Path) -> list[Path]:
    """A table's data files (Spark's `_SUCCESS` and hidden `.crc` files are not data)."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file()) if folder.is_dir() else []


def _link_files(source: Path, target: Path) -> bool:
    """Hard-link (else copy) every Parquet file of `source` into the new folder `target`; return
    whether every file was linked."""
    target.mkdir(parents=True)
    linked = True
    for path in parquet_files(source):
        try:
            os.link(path, target / path.name)
        except OSError:
            copy_durably(path, target / path.name)
            linked = False
    fsync_dir(target)
    return linked


class SparkFolders:
    """The tables' side of write-audit-publish on Spark (see the module docstring)."""

    has_file = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def current_snapshot_id(self, layout: Layout) -> str | None:
        """Where `current` points: the tables are in the snapshot folder, published by its rename."""
        return linked_snapshot_id(layout)

    def build_missing(self, layout: Layout) -> str | None:
        current = linked_snapshot_id(layout)
        if current is None:
            return None
        missing = sorted(set(snapshot_tables(layout.snapshot_folder(current))) - set(build_tables(self.root)))
        missing = [key for key in missing if key[0] != SNAPSHOT_SCHEMA]
        if missing:
            return f"the build's table folder(s) {', '.join('.'.join(key) for key in missing[:3])} were missing"
        return None

    def reset_build(self, layout: Layout, current: str | None) -> None:
        """The build's table folders become hard links to the published snapshot's (none when
        nothing is published). A snapshot published before its tables were kept in it (an
        earlier version of the platform) has none: then the build stays as it is, since those
        folders are what readers were reading. The Hive metastore keeps its entries: the sources
        are registered again by every dbt run, and the models it builds are dropped and created."""
        published = snapshot_tables(layout.snapshot_folder(current)) if current is not None else {}
        if current is not None and not (layout.snapshot_folder(current) / TABLES).is_dir():
            return
        for folder in build_tables(self.root).values():
            aside = folder.with_name(f".{folder.name}.reset")
            if aside.exists():
                shutil.rmtree(aside)
            folder.rename(aside)
            shutil.rmtree(aside)
        for (schema, table), folder in published.items():
            target = build_table_folder(self.root, schema, table)
            staging = target.with_name(f".{target.name}.reset")
            if staging.exists():
                shutil.rmtree(staging)
            _link_files(folder, staging)
            staging.rename(target)

    def stamp(self, layout: Layout, snapshot: Snapshot) -> list[str]:
        """Record `snapshot` in the build as the table `_lakehouse.snapshot` (a Parquet folder, like
        the others); return the build's tables."""
        record = pa.table(
            {
                "snapshot_id": [snapshot.snapshot_id],
                "run_id": [snapshot.run_id],
                "published_at": [snapshot.published_at],
                "as_of": [snapshot.as_of],
            },
            schema=pa.schema([(name, pa.string()) for name in ("snapshot_id", "run_id", "published_at", "as_of")]),
        )
        folder = build_table_folder(self.root, SNAPSHOT_SCHEMA, "snapshot")
        staging = folder.with_name(f".{folder.name}.writing")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        pq.write_table(record, staging / "part-00000.parquet")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
        return [f"{schema}.{table}" for schema, table in build_tables(self.root) if schema != SNAPSHOT_SCHEMA]

    def copy_into(self, layout: Layout, folder: Path) -> str:
        """Hard links to the build's Parquet files, table by table."""
        linked = True
        for (schema, table), source in build_tables(self.root).items():
            linked = _link_files(source, folder / TABLES / schema / table) and linked
        fsync_dir(folder)
        return "hard links to the build's Parquet files (Spark)" if linked else "a copy of the build's Parquet files (Spark)"

    def switch(self, layout: Layout, snapshot_id: str) -> None:
        """Make sure the link readers open, `<spark dir>/published`, leads to `current/tables`: the
        rename of `current` that follows publishes the tables."""
        link_readers(self.root, layout)

    def roll_back(self, layout: Layout, snapshot_id: str) -> None:
        """Nothing to move: renaming `current` back puts the snapshot's tables back. A snapshot
        published before the tables were kept in snapshots has none to go back to."""
        if not (layout.snapshot_folder(snapshot_id) / TABLES).is_dir():
            raise LookupError(
                f"snapshot {snapshot_id} holds no tables (published before Spark's tables were kept in snapshots): "
                "nothing to roll back to"
            )
        link_readers(self.root, layout)

    def size(self, layout: Layout, snapshot_id: str) -> int:
        tables = layout.snapshot_folder(snapshot_id) / TABLES
        return sum(path.stat().st_size for path in tables.rglob("*.parquet") if path.is_file()) if tables.is_dir() else 0


def link_readers(root: Path, layout: Layout) -> None:
    """`<spark dir>/published -> <state>/current/tables`, relative, in one rename. A folder or a
    file already there (not a link) is kept aside, never removed."""
    link = root / PUBLISHED
    target = os.path.relpath(layout.current / TABLES, root)
    if link.is_symlink() and os.readlink(link) == target:
        return
    root.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        aside, number = link.with_name(f"{PUBLISHED}.before-publish"), 1
        while aside.exists() or aside.is_symlink():
            number += 1
            aside = link.with_name(f"{PUBLISHED}.before-publish.{number}")
        os.rename(link, aside)
    temporary = root / f".{PUBLISHED}.link.tmp"
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)
    fsync_dir(root)
