"""Where the tables of the build and of the published lakehouse are, engine by engine.

Write-audit-publish keeps its bookkeeping in files on every engine: the build's state and batches
(`build.py`), the snapshot folders with their exports and the `current` link (`snapshots.py`), the
run lock. What differs is where the tables are, and how a build of them is made, published and
rolled back. A `TableStore` does that part:

- `DuckDBFiles` (the default): the build is a DuckDB file; a snapshot holds a copy of it, compacted
  when it carries dead space (`copy_compacted`: its content without the free blocks that tables
  rebuilt in place leave), and the one rename of `current` publishes it together with its exports.
- `jump_platform.warehouses.postgres.PostgresSchemas`: the build is a set of schemas
  (`marts__build`...), renamed to the published names in one transaction.
- `jump_platform.warehouses.spark_tables.SparkFolders`: the build is the Spark folder runs write; a
  snapshot holds hard links to its Parquet files, published by the rename of `current`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb

from jump_platform import settings
from jump_platform.files import DiskFullError, copy_durably, is_disk_full
from jump_platform.sql import qualified, quote_identifier, string_literal

if TYPE_CHECKING:
    from jump_platform.lakehouse.layout import Layout
    from jump_platform.lakehouse.snapshots import Snapshot

# The snapshot's own record, inside the published tables: `select * from _lakehouse.snapshot`.
SNAPSHOT_SCHEMA = "_lakehouse"
SNAPSHOT_TABLE = f"{SNAPSHOT_SCHEMA}.snapshot"
# The id of a published lakehouse that has no snapshot record (one published before write-audit-publish).
UNVERSIONED = "unversioned"
# Why a build is made at the start of a run when there is none: said to nobody, it is the usual case.
NO_BUILD_YET = "there was no build yet"


class TableStore(Protocol):
    """The tables' side of write-audit-publish on one engine (see the module docstring)."""

    # Whether the published lakehouse is a file readers open (`lakehouse.duckdb`, a link).
    has_file: bool

    def current_snapshot_id(self, layout: Layout) -> str | None:
        """The id of the published snapshot; None when nothing was ever published."""

    def build_missing(self, layout: Layout) -> str | None:
        """Why the build must be made again from the published tables although the build's state is
        fine, or None."""

    def reset_build(self, layout: Layout, current: str | None) -> None:
        """Make the build's tables a copy of the published ones (none when nothing is published)."""

    def stamp(self, layout: Layout, snapshot: Snapshot) -> list[str]:
        """Record `snapshot` in the build's tables (`_lakehouse.snapshot`); return the build's tables."""

    def copy_into(self, layout: Layout, folder: Path) -> str:
        """Put what a snapshot folder holds of the tables into `folder`; return how it was done."""

    def switch(self, layout: Layout, snapshot_id: str) -> None:
        """Make the build's tables the published ones, at once for every reader; called once the
        snapshot folder `snapshot_id` is complete, before `current` is renamed to it."""

    def roll_back(self, layout: Layout, snapshot_id: str) -> None:
        """Make the tables published before the current ones (snapshot `snapshot_id`) the published
        ones again, before `current` is renamed back to it."""

    def size(self, layout: Layout, snapshot_id: str) -> int:
        """The published tables' size in bytes."""


def build_temporary(layout: Layout) -> Path:
    """Where the build's copy of the published file is written before it is renamed into place."""
    return layout.build.with_name(f".{layout.build.name}.tmp")


def build_files(layout: Layout) -> list[Path]:
    """The build's DuckDB file and its write-ahead log (both the build's own, made again from the
    published snapshot whenever the build starts again)."""
    return [layout.build, layout.build.with_name(layout.build.name + ".wal")]


def linked_snapshot_id(layout: Layout) -> str | None:
    """The snapshot `current` points at, if it points at a snapshot folder."""
    if layout.current.is_symlink():
        target = Path(os.readlink(layout.current)).name
        if layout.snapshot_folder(target).is_dir():
            return target
    return None


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


@dataclass(frozen=True)
class BlockUsage:
    """How a DuckDB file uses its blocks (`pragma database_size`): the blocks it has, those free
    (left by deleted or replaced rows, reused by later writes but never given back), and their size."""

    total_blocks: int
    free_blocks: int
    block_size: int

    @property
    def free_share(self) -> float:
        """The share of the file's blocks that hold nothing: 0 for a compacted file."""
        return self.free_blocks / self.total_blocks if self.total_blocks else 0.0

    @property
    def used_bytes(self) -> int:
        """What the file's content takes: about the size of a compacted copy of it."""
        return (self.total_blocks - self.free_blocks) * self.block_size


def block_usage(path: Path) -> BlockUsage:
    """The blocks of the DuckDB file `path` (opened read-only; it must not be open for writing)."""
    with duckdb.connect(str(path), read_only=True) as con:
        total, free, size = con.execute(
            "select total_blocks, free_blocks, block_size from pragma_database_size() where database_name = current_database()"
        ).fetchone()
    return BlockUsage(total, free, size)


# How `copy_into` makes a snapshot's file (what a publish's `copied_by` says), and when: a build with
# more than this share of free blocks is compacted (DuckDB's free blocks, `BlockUsage`). A compacted
# copy rewrites every table (about 60 CPU ms per MiB of content, against about 3 ms for a copy of the
# file), so a build with little dead space (a first run, a run that changed little) is copied whole.
COMPACTED = "compacted copy"
COMPACT_ABOVE_FREE_SHARE = 0.1


def copy_compacted(source: Path, target: Path) -> None:
    """Write `target`, a new DuckDB file with everything `source` holds (schemas, tables and their
    constraints, views, macros, sequences) and none of its free blocks, flushed to disk.

    DuckDB reuses the blocks a replaced table frees but never shrinks its file: a build whose
    tables were rebuilt in place is partly free blocks (29 % to 46 % at 1M invoices), which a copy
    of the file would carry into every snapshot. `copy from database` (schema first, then each table, `_copy_table`)
    writes only the content. `source` is opened read-only, under its own catalog name, the one
    its views name their tables by (`lakehouse.marts...`) and the one readers of `target` see
    (DuckDB names a file's catalog after the file: `target` must have the same name).

    `target` must be a name nobody reads yet (the publish writes it in its snapshot's staging
    folder, renamed into place once whole): a copy stopped halfway is a file nobody ever opens.
    A full disk raises `DiskFullError` naming `target` and about the room the copy needs.
    """
    if source.name != target.name:
        raise ValueError(f"a compacted copy of {source} must keep its file name (its catalog's name), not {target.name}")
    needed = block_usage(source).used_bytes
    catalog = source.stem
    into = quote_identifier(f"{catalog}_compacted")
    try:
        with duckdb.connect(str(source), read_only=True, config=settings.duckdb_config()) as con:
            # ATTACH takes no parameter: the path goes in as a quoted string literal.
            con.execute(f"attach {string_literal(str(target))} as {into} (read_only false)")
            con.execute(f"copy from database {quote_identifier(catalog)} to {into} (schema)")
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? order by all", [catalog]
            ).fetchall()
            for schema, table in tables:
                _copy_table(con, f"{quote_identifier(catalog)}.{qualified(schema, table)}", f"{into}.{qualified(schema, table)}")
            con.execute(f"checkpoint {into}")
            con.execute(f"detach {into}")
    except duckdb.Error as error:
        if is_disk_full(error):
            raise DiskFullError(target, needed) from error
        raise
    wal = target.with_name(target.name + ".wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{target} still has a write-ahead log after its checkpoint; refusing to publish a partial copy")
    with target.open("rb") as written:
        os.fsync(written.fileno())


def _copy_table(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """One table's rows, in their order, into its empty copy (one step of `copy_compacted`)."""
    con.execute(f"insert into {target} by name select * from {source}")


class DuckDBFiles:
    """The lakehouse is one DuckDB file: the build is a copy of the published file, and a snapshot
    holds a copy of the build, compacted when it carries dead space (`copy_into`), read-only; the
    link `lakehouse.duckdb -> current/lakehouse.duckdb` makes the rename of `current` publish the
    file and its exports together."""

    has_file = True

    def current_snapshot_id(self, layout: Layout) -> str | None:
        """Where `current` points. A lakehouse copied without its links (a restored backup, a copy
        by `cp -r`) is read, read-only, for the record it holds."""
        linked = linked_snapshot_id(layout)
        if linked is not None:
            return linked
        if not layout.published.exists():
            return None
        try:
            with duckdb.connect(str(layout.published), read_only=True) as con:
                return con.execute(f"select snapshot_id from {SNAPSHOT_TABLE}").fetchone()[0]
        except duckdb.Error:
            return UNVERSIONED

    def build_missing(self, layout: Layout) -> str | None:
        return None if layout.build.exists() else "the build file was missing"

    def reset_build(self, layout: Layout, current: str | None) -> None:
        for path in build_files(layout):
            path.unlink(missing_ok=True)
        if current is not None:
            temporary = build_temporary(layout)
            try:
                copy_durably(layout.published, temporary)
                temporary.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            os.replace(temporary, layout.build)

    def stamp(self, layout: Layout, snapshot: Snapshot) -> list[str]:
        return _stamp(layout.build, snapshot)

    def copy_into(self, layout: Layout, folder: Path) -> str:
        """A compacted copy of the build when more than `COMPACT_ABOVE_FREE_SHARE` of its blocks are
        free (tables rebuilt in place), else a copy of the file (or a clone, where blocks are shared)."""
        target = folder / layout.published.name
        if block_usage(layout.build).free_share > COMPACT_ABOVE_FREE_SHARE:
            copy_compacted(layout.build, target)
            copied_by = COMPACTED
        else:
            copied_by = copy_durably(layout.build, target)
        # Nobody writes a snapshot again: read-only, so that a reader opening it read-write fails.
        target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return copied_by

    def switch(self, layout: Layout, snapshot_id: str) -> None:
        """Nothing: renaming `current` publishes the file."""

    def roll_back(self, layout: Layout, snapshot_id: str) -> None:
        """Nothing: renaming `current` back puts the previous file back."""

    def size(self, layout: Layout, snapshot_id: str) -> int:
        return layout.snapshot_file(snapshot_id).stat().st_size
