"""Parse the dbt project as runs will: `python -m jump_platform.runner.prepare` (`make prepare`).

dbt parses a project partially only when the profile is the one its saved parse
(`partial_parse.msgpack`) was made with: the same target, build path and memory cap. Runs give dbt
`dbt_env()` (`defs/transform/resources.py`), whose memory cap is the platform's times dbt's threads;
a parse made with any other value (profiles.yml's own 2GB default, say) makes every new data
folder's first run parse the whole project again. So this parse takes its environment from
`dbt_env()` too.

The manifest Dagster reads is always parsed for DuckDB's `build` target (its schemas make the
asset keys, see `defs/transform/resources.py`), in dbt's target folder, from which the runs seed
their own folder. When the runs use another target (PostgreSQL, Spark), their folder
(`dbt_target_path()`) is prepared too, with a parse of that target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from jump_platform import settings


def parse(target_path: Path | None = None) -> list[Path]:
    """Parse the project with the runs' profile settings; returns the target folders written:
    `target_path` (default dbt's `target/`, the manifest's), then the runs' own folder when their
    target is not `build`."""
    from jump_platform import engines
    from jump_platform.defs.transform.resources import dbt_env, dbt_executable, dbt_target_path

    env = {**os.environ, **dbt_env()}
    folders = [(target_path or settings.DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target"), "build")]
    run_target = engines.current().dbt_target
    if run_target != "build":
        folders.append((dbt_target_path(), run_target))
    for folder, target in folders:
        command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(settings.DBT_PROJECT_DIR)]
        command += ["--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target", target, "--target-path", str(folder)]
        subprocess.run(command, env=env, check=True)
    return [folder for folder, _ in folders]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.runner.prepare", description=__doc__.splitlines()[0])
    parser.add_argument("--target-path", type=Path, default=None, help="dbt's target folder (default dbt_project/target)")
    arguments = parser.parse_args(argv)
    errors = settings.validate()
    if errors:
        print("\n".join(str(error) for error in errors), file=sys.stderr)
        return 2
    try:
        parse(arguments.target_path)
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
