"""The dbt project and the dbt CLI resource.

The manifest is prepared at build and test time (`make prepare`, the Dockerfile, the test
session), not parsed on every import of the code location; `dagster dev` re-parses it.
"""

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version

from jump_platform import engines, settings

# The manifest Dagster reads is always parsed for the default target, DuckDB's `build`: its schemas
# are the published names (`staging`, `marts`...) that make the asset keys, whatever the engine of
# the runs (PostgreSQL's build schemas are `staging__build`...). The runs pick their own target.
dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR, target="build")
dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """The dbt installed beside this Python, so the venv need not be activated."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


# What dagster-dbt starts in dbt's place: this Python running `dbt_launch.py`, which starts dbt with
# the environment of one invocation (`LakehouseDbtCliResource.cli_with_env`).
DBT_LAUNCH = Path(__file__).with_name("dbt_launch.py")


class LakehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, without two start-up costs this project never uses.

    Before each dbt command, `DbtCliResource` runs `dbt --version` once more (a whole dbt start,
    about 2 s of CPU) and loads the project and profile in this process to hand an adapter to
    `fetch_row_counts` / `fetch_column_metadata` (about 1.5 s). Neither is needed here: the dbt
    executable is the dbt-core package installed beside this Python, and row counts and column
    schemas are read once dbt has exited (`table_facts`), because DuckDB lets no other process
    open the lakehouse while dbt writes it.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if self.dbt_executable != sys.executable or self.global_config_flags[:2] != [str(DBT_LAUNCH), dbt_executable()]:
            return super()._cli_version
        return version.parse(importlib.metadata.version("dbt-core"))

    def cli_with_env(self, args: Sequence[str], *, env: Mapping[str, str], target_path: Path, **kwargs: Any) -> DbtCliInvocation:
        """`cli`, with `env` added to dbt's environment for this invocation only: through a file
        in the target folder that only this user can read, which `dbt_launch.py` reads and removes
        as dbt starts. This process's environment is left as it is."""
        target_path.mkdir(parents=True, exist_ok=True)
        descriptor, path = tempfile.mkstemp(prefix="invocation-env-", suffix=".json", dir=target_path)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(dict(env), file)
        try:
            return self.cli([f"--jump-env-file={path}", *args], target_path=target_path, **kwargs)
        except BaseException:
            Path(path).unlink(missing_ok=True)
            raise

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    """dbt on the target of `dbt_project/profiles.yml` of the engine `JUMP_WAREHOUSE` picks."""
    return LakehouseDbtCliResource(
        project_dir=dbt_project,
        dbt_executable=sys.executable,
        global_config_flags=[str(DBT_LAUNCH), dbt_executable()],
        target=engines.current().dbt_target,
    )


def dbt_env() -> dict[str, str]:
    """The variables `profiles.yml` reads: the build this run holds (dbt never writes the published
    lakehouse), DuckDB's memory cap inside dbt, and the engine (`JUMP_WAREHOUSE`, which picks the
    target when dbt runs by hand) with how to reach it (`Engine.dbt_env`: the server's `PG*`, the
    Spark folder). Set by `dbt_invocation_env`."""
    engine = engines.current()
    return {
        "JUMP_BUILD_DUCKDB_PATH": str(settings.build_duckdb_path()),
        "JUMP_DBT_MEMORY_LIMIT": settings.dbt_memory_limit(),
        "JUMP_WAREHOUSE": engine.name,
        **engine.dbt_env(),
    }


def dbt_invocation_env(build: Path, as_of: dt.date) -> dict[str, str]:
    """The environment of one dbt invocation: the build it writes and its memory cap (read by
    `profiles.yml`), and the run's as-of date (`JUMP_AS_OF`, read by `macros/as_of_date.sql` when
    it compiles, never when it parses: through the environment rather than `--vars`, since a changed
    `--vars` makes dbt parse the whole project again). It reaches dbt's process only
    (`LakehouseDbtCliResource.cli_with_env`), never this process's environment."""
    return {**dbt_env(), "JUMP_BUILD_DUCKDB_PATH": str(build), "JUMP_AS_OF": as_of.isoformat()}


def dbt_target_path() -> Path:
    """dbt's target folder for this lakehouse: one per profile (file, memory cap), kept from run
    to run.

    dbt parses the project partially only if the profile is the one its saved parse was made with
    (`partial_parse.msgpack` in the target folder); dagster-dbt's default, a new folder for each
    invocation seeded with the parse `make prepare` made, would parse the whole project again
    whenever the lakehouse lives elsewhere than at prepare time. This one is seeded with that parse
    too, the first time (dagster-dbt copies it when the folder has none).
    """
    profile = hashlib.sha256(json.dumps(dbt_env(), sort_keys=True).encode()).hexdigest()[:12]
    # Under DBT_TARGET_PATH when it is set (the Docker image keeps dbt's artifacts out of the code).
    return settings.DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target") / f"lakehouse-{profile}"
