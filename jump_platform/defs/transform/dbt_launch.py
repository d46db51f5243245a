"""Start dbt with the environment of one invocation, without touching the caller's.

    python dbt_launch.py DBT [--jump-env-file=PATH] [dbt's arguments...]

dagster-dbt 0.29 starts dbt with a copy of its own process's environment and takes no environment
per call (dagster-io/dagster#29656, declined), so the variables of one invocation (the build it
writes, the run's as-of date, the server's credentials) would have to be set in the step's
process-wide `os.environ`, where every other thread and later step sees them. Instead, the step
writes them to a file only its user can read (`LakehouseDbtCliResource.cli_with_env`); this
launcher, which dagster-dbt starts in dbt's place, reads the file, removes it, and replaces itself
with dbt (`os.execvpe`, the same process), with those variables added to what it inherited. The
values are never on a command line either.

It runs as a script, not a module of the package, so that it imports nothing but the standard
library and costs dbt's start next to nothing.
"""

import json
import os
import sys

FLAG = "--jump-env-file="


def main(argv: list[str]) -> None:
    dbt, *args = argv
    env = dict(os.environ)
    if args and args[0].startswith(FLAG):
        path = args.pop(0).removeprefix(FLAG)
        with open(path, encoding="utf-8") as file:
            env.update(json.load(file))
        os.remove(path)
    os.execvpe(dbt, [dbt, *args], env)


if __name__ == "__main__":
    main(sys.argv[1:])
