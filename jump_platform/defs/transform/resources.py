"""The dbt project and the dbt CLI resource.

The manifest is prepared at build and test time (`make prepare`, the Dockerfile, the test
session), not parsed on every import of the code location; `dagster dev` re-parses it.
"""

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

from jump_platform import settings

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


# The target of `dbt_project/profiles.yml` for each warehouse (JUMP_WAREHOUSE).
DBT_TARGETS = {"duckdb": "build", "postgres": "postgres", "spark": "spark"}


def dbt_resource() -> DbtCliResource:
    """dbt on the target of the warehouse `JUMP_WAREHOUSE` picks."""
    return LakehouseDbtCliResource(
        project_dir=dbt_project,
        dbt_executable=sys.executable,
        global_config_flags=[str(DBT_LAUNCH), dbt_executable()],
        target=DBT_TARGETS[settings.warehouse()],
    )
