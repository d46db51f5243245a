"""Where the published lakehouse, its snapshots and the build are (see the package docstring).

Each engine keeps its published state in a folder of its own (`state`, from
`jump_platform.engines`), so that runs on another engine leave it as it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jump_platform.lakehouse.stores import DuckDBFiles, TableStore


@dataclass(frozen=True)
class Layout:
    """The paths of write-audit-publish, from the published file, the exports and the landing zone;
    where the tables are (`store`: the DuckDB files by default, see `stores.py`); and the folder of
    the engine's published state (`state`: the snapshots, `current` and the build; by default the
    published file's folder, DuckDB's). An engine's layout comes from `jump_platform.engines`."""

    published: Path
    exports: Path
    landing: Path
    store: TableStore = field(default_factory=DuckDBFiles, compare=False)
    state: Path | None = None

    def __post_init__(self) -> None:
        if self.published.parent.parent.name == "snapshots":
            raise ValueError(
                f"{self.published} is inside a snapshot: the published path must be the link readers open, "
                "not the snapshot file it leads to"
            )

    @property
    def folder(self) -> Path:
        return self.state or self.published.parent

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
