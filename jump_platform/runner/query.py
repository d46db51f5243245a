"""Open a read-only SQL shell on the lakehouse: `python -m jump_platform.runner.query [--schema S] [--build]` (`make query`).

The shell is the engine's (`JUMP_WAREHOUSE`, see `jump_platform/engines/`): DuckDB's CLI on the
published file, read-only, so any number of shells may stay open and runs never wait for them;
psql in read-only transactions on PostgreSQL's published schemas; on Spark, how to read its Parquet
folders. `--build` opens the build a run left (a failed one) instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys

from jump_platform import engines

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.runner.query", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="marts", help="the schema the shell starts in (default marts)")
    parser.add_argument("--build", action="store_true", help="open the build a run left instead of the published lakehouse")
    arguments = parser.parse_args(argv)
    if not SCHEMA_NAME.fullmatch(arguments.schema):
        parser.error(f"SCHEMA must be a schema name like marts (lowercase letters, digits, _), found {arguments.schema!r}")
    engine = engines.current()
    try:
        shell = engine.query_shell(arguments.schema, arguments.build)
    except engines.NoLakehouseError as error:
        print(error, file=sys.stderr)
        return 1
    if shell.note:
        print(shell.note)
    if shell.command is None:
        return 0
    if shutil.which(shell.command[0]) is None:
        print(f"{shell.command[0]} is not installed: the {engine.name} shell needs it.", file=sys.stderr)
        return 1
    os.execvpe(shell.command[0], shell.command, {**os.environ, **shell.env})
    return 0  # not reached: the shell replaced this process


if __name__ == "__main__":
    sys.exit(main())
