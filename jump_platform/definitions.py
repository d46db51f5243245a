"""The Jump lakehouse code location: Dagster assembles it from the `defs/` folder.

Each module under `jump_platform/defs/` exposes plain top-level Dagster objects (assets, checks,
jobs, schedules, sensors) or one `@dg.definitions` function (the schedules, which depend on the
producer configured; the resources and the executor, in `defs/resources.py`);
`dg.load_from_defs_folder` finds them, so a new file under `defs/` needs no import here.

Loaded by `dg dev` / `dg check defs` (`[tool.dg]` in pyproject.toml), `workspace.yaml` (the Docker
image's daemon and webserver) and the `jump_platform.runner.cli` runner (`defs()`). Building it opens no
database: resources connect only when a step runs.
"""

from pathlib import Path

import dagster as dg

from jump_platform.sources.settings_checks import check_settings


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions, with resources configured from the environment as it is now.

    A setting that cannot be used stops the code location from loading, with its one-line error:
    no run starts with it, whoever launches it.
    """
    check_settings()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
