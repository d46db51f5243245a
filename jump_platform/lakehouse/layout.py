"""Where the published lakehouse, its snapshots and the build are (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jump_platform import settings
from jump_platform.lakehouse.stores import DuckDBFiles, InPlace, TableStore


@dataclass(frozen=True)
class Layout:
    """The paths of write-audit-publish, from the published file, the exports and the landing zone;
    and where the tables are (`store`: the DuckDB files by default, see `stores.py`)."""

    published: Path
    exports: Path
    landing: Path
    store: TableStore = field(default_factory=DuckDBFiles, compare=False)

    def __post_init__(self) -> None:
        if self.folder.parent.name == "snapshots":
            raise ValueError(
                f"{self.published} is inside a snapshot: the published path must be the link readers open, "
                "not the snapshot file it leads to"
            )

    @classmethod
    def from_settings(cls) -> Layout:
        return cls(settings.duckdb_path(), settings.exports_dir(), settings.landing_dir(), table_store())

    @property
    def folder(self) -> Path:
        return self.published.parent

    @property
    def build_folder(self) -> Path:
        return self.folder / "build"

    @property
    def build(self) -> Path:
        """The build file; `settings.build_duckdb_path()` gives the same path to dbt and the IO manager."""
        return self.build_folder / self.published.name

    @property
    def build_exports(self) -> Path:
        return self.build_folder / "exports"

    @property
    def state_file(self) -> Path:
        return self.build_folder / "state.json"

    @property
    def snapshots(self) -> Path:
        return self.folder / "snapshots"

    @property
    def current(self) -> Path:
        """The symbolic link to the published snapshot's folder: renaming it publishes."""
        return self.folder / "current"

    def snapshot_folder(self, snapshot_id: str) -> Path:
        return self.snapshots / snapshot_id

    def snapshot_file(self, snapshot_id: str) -> Path:
        return self.snapshot_folder(snapshot_id) / self.published.name

    def snapshot_exports(self, snapshot_id: str) -> Path:
        return self.snapshot_folder(snapshot_id) / "exports"


def table_store() -> TableStore:
    """The tables' store of the engine `JUMP_WAREHOUSE` picks."""
    engine = settings.warehouse()
    if engine == "postgres":
        from jump_platform.warehouses.postgres_schemas import PostgresSchemas

        return PostgresSchemas(settings.postgres_warehouse_url())
    if engine == "spark":
        return InPlace(settings.spark_dir())
    return DuckDBFiles()
