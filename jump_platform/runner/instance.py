"""The Dagster instance of `make run` and `make dev`: `$DAGSTER_HOME/dagster.yaml`.

It is `instance/dagster.yaml` (run queue, pools, run launcher, run monitoring), plus, with
`JUMP_DAGSTER_POSTGRES_URL`, a `storage` section that keeps runs, event logs, schedules, sensor
cursors and the automation state in PostgreSQL (dagster-postgres): `make dev`, the daemon and the
CLI runs of several hosts (or folders) then share one run history and one automation state. The
file names the variable, never its value: Dagster reads the URL, password included, from the
environment when the instance starts. Without it, the instance stays in SQLite files under
DAGSTER_HOME, as Dagster's default, its event log written on kept connections
(`jump_platform.runner.event_log`: a few milliseconds an event instead of ~60); that section names
the folder, so the file is written for its DAGSTER_HOME.

    python -m jump_platform.runner.instance    # `make prepare`: writes dagster.yaml when it changed
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jump_platform import settings

# The instance configuration every instance of the project starts from.
INSTANCE_YAML = settings.PROJECT_ROOT / "instance" / "dagster.yaml"

POSTGRES_STORAGE = """
# Written by `make prepare` because JUMP_DAGSTER_POSTGRES_URL is set: runs, event logs and schedules
# live in that PostgreSQL database, shared by every host that points at it (dagster-postgres). The
# URL is read from the environment when the instance starts; it is never written here.
storage:
  postgres:
    postgres_url:
      env: JUMP_DAGSTER_POSTGRES_URL
"""


def sqlite_event_log(home: Path) -> str:
    """The event log section of an instance in SQLite files under `home`: Dagster's own folder and
    files (`history/runs/`), written on kept connections."""
    folder = json.dumps(str(Path(home).absolute() / "history" / "runs"))
    return f"""
# Written by `make prepare`: the event log in Dagster's SQLite files under this folder, on kept
# connections (jump_platform/runner/event_log.py): a few milliseconds an event instead of ~60.
event_log_storage:
  module: jump_platform.runner.event_log
  class: JumpSqliteEventLogStorage
  config:
    base_dir: {folder}
"""


def instance_config(home: Path) -> str:
    """The text of `home/dagster.yaml` for the current settings."""
    base = INSTANCE_YAML.read_text()
    return base + (POSTGRES_STORAGE if settings.dagster_postgres_url() else sqlite_event_log(home))


def write_local_instance(home: Path) -> None:
    """Write `home/dagster.yaml` for an instance of this host alone, in SQLite files under `home`,
    whatever JUMP_DAGSTER_POSTGRES_URL says: `make bench`'s runs and the tests' instances."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML.read_text() + sqlite_event_log(home))


def write_instance(home: Path) -> bool:
    """Write `home/dagster.yaml` when its text differs from `instance_config(home)`; True when written."""
    wanted = instance_config(home)
    path = home / "dagster.yaml"
    if path.is_file() and path.read_text() == wanted:
        return False
    home.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(wanted)
    temporary.replace(path)
    return True


def init_instance() -> int:
    """Prepare the Dagster instance of DAGSTER_HOME for `make dev` (`make prepare` runs it).

    Its automation runs through the automation condition sensor, on by default; the instance-wide
    switch of Dagster's older auto-materialize daemon, off in a new instance, is turned on too, so
    that the UI does not show "Auto-materialize off" on every job while the sensor materializes."""
    import dagster as dg

    from jump_platform.compat import set_auto_materialize_paused

    with dg.DagsterInstance.get() as instance:
        set_auto_materialize_paused(instance, False)
    return 0


def main() -> int:
    errors = settings.validate()
    if errors:
        print("\n".join(str(error) for error in errors), file=sys.stderr)
        return 2
    home = Path(os.environ.get("DAGSTER_HOME") or settings.PROJECT_ROOT / ".dagster_home")
    if write_instance(home):
        storage = "PostgreSQL (JUMP_DAGSTER_POSTGRES_URL)" if settings.dagster_postgres_url() else "SQLite files"
        print(f"Dagster instance: {home / 'dagster.yaml'}, runs and schedules in {storage}.")
        os.environ["DAGSTER_HOME"] = str(home)
        return init_instance()
    return 0


if __name__ == "__main__":
    sys.exit(main())
