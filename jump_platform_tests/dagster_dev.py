"""`make dev` in a subprocess, for the end-to-end tests: `dg dev` (webserver, daemon, code server)
on a temporary DAGSTER_HOME (the instance `make prepare` writes), a temporary data
folder and a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from jump_platform.files import write_table_atomically
from jump_platform.runner.instance import write_local_instance
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.generator import GeneratorParams, generate_tables
from jump_platform_tests.conftest import AS_OF

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Runs that may still write: a test waits for none of them to be left.
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def previous_platform_extracts(folder: Path) -> dict[str, pl.DataFrame]:
    """The five CSV extracts, in the previous platform's format, as the generator writes them."""
    tables = generate_tables(GeneratorParams(seed=7, as_of=AS_OF, scale=0.05))
    for table, frame in tables.items():
        contract = CONTRACTS[table]
        write_table_atomically(frame, folder / contract.system / f"{contract.name}.csv")
    return tables


@dataclass
class DagsterDev:
    home: Path
    data: Path
    log: Path
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the whole process group (webserver, daemon, code server, run workers)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def running_dagster_dev(folder: Path, **env_overrides: str) -> Iterator[DagsterDev]:
    """`dg dev` as `make dev` starts it, stopped at the end whatever happens."""
    home, data, log = folder / "dagster_home", folder / "data", folder / "dagster_dev.log"
    home.mkdir()
    write_local_instance(home)
    venv = Path(sys.executable).parent
    # Create the instance's storage before the services start, so they never race to create it, as
    # `make prepare` does.
    subprocess.run(
        [sys.executable, "-m", "jump_platform.runner.cli", "init-instance"],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        check=True,
        cwd=PROJECT_ROOT,
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "JUMP_DATA_DIR": str(data),
        "JUMP_AS_OF": AS_OF.isoformat(),
        "JUMP_PRODUCER": "extracts",
        "JUMP_SCHEDULES": "off",
        # As `make dev` has it: dagster-dbt runs `dbt parse` under `dg dev`; dg runs the project's venv.
        "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv.parent),
        **env_overrides,
    }
    env.pop("JUMP_DUCKDB_PATH", None)
    port = free_port()
    command = [str(venv / "dg"), "dev", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = DagsterDev(home, data, log, process, port)
    try:
        yield running
    finally:
        running.stop()
