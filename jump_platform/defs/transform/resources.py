"""The dbt project and the dbt CLI resource.

The manifest is prepared at build and test time (`make prepare`, the Dockerfile, the test
session), not parsed on every import of the code location; `dagster dev` re-parses it.
"""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from jump_platform import settings

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """The dbt installed beside this Python, so the venv need not be activated."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
