"""What an engine is: everything that differs between DuckDB, PostgreSQL and Spark, in one object.

The rest of the code asks the registry (`jump_platform.engines.current()`) for these and never
compares engine names.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import dagster as dg

from jump_platform import settings
from jump_platform.lakehouse.layout import Layout
from jump_platform.lakehouse.stores import TableStore
from jump_platform.warehouses import Warehouse


@dataclass(frozen=True)
class QueryShell:
    """What `make query` starts: a command and what it adds to the environment; or, for an engine
    without a shell of its own, only a `note` saying how to read its tables."""

    command: list[str] | None
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""


class NoLakehouseError(LookupError):
    """Nothing to open yet (a fresh clone): the message says which command builds it."""


class Engine(ABC):
    """One engine that can hold the lakehouse. A subclass is one module of this package and one
    line of the registry (`__init__.py`)."""

    # The value of JUMP_WAREHOUSE that picks it; also its `kinds` tag in the catalog.
    name: ClassVar[str]
    # The target of `dbt_project/profiles.yml` its runs build with.
    dbt_target: ClassVar[str]
    # What `make run` tells a person whose run failed its audit about the build it left.
    failed_build_hint: ClassVar[str]
    # The published lakehouse is a file readers open (DuckDB's), not tables of a server or folders.
    publishes_file: ClassVar[bool] = False
    # The engine is a database server (`make bench-engines` provides one for its runs).
    needs_server: ClassVar[bool] = False

    @abstractmethod
    def io_manager(self, landing: str) -> dg.ConfigurableIOManager | dg.ConfigurableIOManagerFactory:
        """The IO manager that writes the `sources` tables into the build; nothing connects yet."""

    @abstractmethod
    def build_warehouse(self, database: str, connection_config: dict[str, str]) -> Warehouse:
        """The reader of the build's tables (`database`, `connection_config`: DuckDB's build file)."""

    @abstractmethod
    def published_warehouse(self) -> Warehouse | None:
        """The reader of the published tables; None when they are a file readers open read-only
        (`jump_platform.published.read_only`)."""

    @abstractmethod
    def table_store(self) -> TableStore:
        """How the engine builds, publishes and rolls back its tables (`jump_platform.lakehouse.stores`)."""

    @abstractmethod
    def location(self) -> str:
        """Where the published lakehouse is, for people (no password)."""

    @abstractmethod
    def query_shell(self, schema: str, build: bool) -> QueryShell:
        """A read-only SQL shell on the published lakehouse's `schema` (the build's with `build`).
        Raises `NoLakehouseError` when there is nothing to open."""

    def dbt_env(self) -> dict[str, str]:
        """What `profiles.yml` needs beyond the build file and the memory cap to reach the engine."""
        return {}

    def server_locks(self) -> list:
        """The locks a run takes on the engine's server, beside the lock file of this host (see
        `runner.launcher.Turn`): none for an engine whose data lives on this host only."""
        return []

    def state_folder(self, lakehouse_folder: Path) -> Path:
        """The folder of this engine's published state (`snapshots/`, `current`, `build/`), inside the
        lakehouse folder: one per engine, so that switching `JUMP_WAREHOUSE` and back loses nothing."""
        return lakehouse_folder / self.name

    def layout(self, published: Path | None = None, exports: Path | None = None, landing: Path | None = None) -> Layout:
        """The paths of write-audit-publish on this engine (defaults: the settings')."""
        published = published or settings.duckdb_path()
        return Layout(
            published,
            exports or settings.exports_dir(),
            landing or settings.landing_dir(),
            self.table_store(),
            state=self.state_folder(published.parent),
        )

    def published_changed_at(self, layout: Layout) -> float | None:
        """When the published lakehouse last changed (a publish renames `current`); None when nothing
        is published."""
        current = layout.current
        return current.lstat().st_mtime if current.is_symlink() else None


def duckdb_cli() -> str:
    """The DuckDB shell installed beside this Python (the `duckdb-cli` package)."""
    beside = Path(sys.executable).with_name("duckdb")
    return str(beside) if beside.exists() else "duckdb"
