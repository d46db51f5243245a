"""The engine registry (`jump_platform/engines/`): each engine's published state lives apart, and
reading the build changes nothing (its recovery is the start of a run).

- Reading the build resource (`query`, `table_facts`) leaves a build a dead run left as it was;
  a run recovers it when it starts, whatever its steps read.
- Each engine keeps its snapshots, `current` and build in a folder of its own.
- A DuckDB run, a PostgreSQL run and a DuckDB run again in one data folder: the DuckDB snapshots
  all survive the PostgreSQL publish, `make query` opens the engine named, and the first DuckDB
  snapshot is still there to roll back to (slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from jump_platform import engines
from jump_platform.defs.lakehouse.resources import LakehouseBuild, lakehouse_build
from jump_platform.lakehouse import snapshots
from jump_platform.lakehouse.build import CLEAN, OPEN, BuildState
from jump_platform.lakehouse.stores import linked_snapshot_id
from jump_platform.runner.instance import write_local_instance
from jump_platform_tests.conftest import AS_OF
from jump_platform_tests.wap import PROJECT_ROOT, run_env


def _build_left_by_a_dead_run(data_dir: Path) -> Path:
    """A build a run was writing when it died: state `open`, a table in the build file."""
    layout = engines.current().layout()
    layout.build.parent.mkdir(parents=True)
    with duckdb.connect(str(layout.build)) as con:
        con.execute("create schema marts; create table marts.kpi as select 42 as answer")
    BuildState(base=None, status=OPEN, run_id="dead-run").save(layout)
    return layout.build


def test_reading_the_build_recovers_nothing_and_changes_nothing(data_dir: Path) -> None:
    build = _build_left_by_a_dead_run(data_dir)
    layout = engines.current().layout()
    state_before, build_before = layout.state_file.read_bytes(), build.read_bytes()

    warehouse = lakehouse_build()
    assert warehouse.query("select answer from marts.kpi")["answer"].to_list() == [42]
    [facts] = warehouse.table_facts([("marts", "kpi")])
    assert facts["dagster/row_count"] == 1

    assert layout.state_file.read_bytes() == state_before
    assert build.read_bytes() == build_before


def test_a_run_recovers_the_build_when_it_starts_whatever_its_steps_read(data_dir: Path) -> None:
    _build_left_by_a_dead_run(data_dir)

    @dg.asset
    def reads_nothing(warehouse: LakehouseBuild) -> None:
        """A step that holds the build resource but never opens it itself."""

    result = dg.materialize([reads_nothing], resources={"warehouse": lakehouse_build()})

    assert result.success
    state = BuildState.load(engines.current().layout())
    # Started again from the (empty) published lakehouse, then left clean by the run's end.
    assert (state.status, state.run_id) == (CLEAN, result.run_id)
    assert not engines.current().layout().build.exists()


def test_each_engine_keeps_its_published_state_in_a_folder_of_its_own(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_POSTGRES_URL", "postgresql://jump@127.0.0.1:5432/jump")  # never connected to
    folders = {name: engine.layout().folder for name, engine in engines.ENGINES.items()}
    lakehouse = data_dir / "lakehouse"
    # DuckDB's stays where readers of `lakehouse.duckdb` (a link into `current/`) expect it.
    assert folders["duckdb"] == lakehouse
    assert len({engines.ENGINES[name].layout().snapshots for name in folders}) == len(folders)
    assert all(folder.parent == lakehouse for name, folder in folders.items() if name != "duckdb")


def _refresh(env: dict[str, str], warehouse: str, log: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jump_platform.runner.cli", "run", "refresh"],
        cwd=PROJECT_ROOT,
        env={**env, "JUMP_WAREHOUSE": warehouse},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        timeout=1800,
    )
    assert done.returncode == 0, log.read_text(errors="replace")[-3000:]


def _published_snapshot(published: Path) -> str:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute("select snapshot_id from _lakehouse.snapshot").fetchone()[0]


@pytest.mark.slow
def test_a_postgres_run_between_two_duckdb_runs_loses_no_duckdb_snapshot(
    tmp_path: Path, postgres_database: Callable[[str], str]
) -> None:
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    write_local_instance(home)
    env = run_env(
        data,
        home,
        JUMP_AS_OF=AS_OF.isoformat(),
        JUMP_SEED="42",
        JUMP_SCALE="0.05",
        JUMP_POSTGRES_URL=postgres_database("engine_switch"),
    )
    log = tmp_path / "runs.log"
    lakehouse = data / "lakehouse"
    published = lakehouse / "lakehouse.duckdb"

    _refresh(env, "duckdb", log)
    first = _published_snapshot(published)

    _refresh(env, "postgres", log)
    # DuckDB's published file, its snapshot and `current` are as the DuckDB run left them.
    assert (lakehouse / "snapshots" / first).is_dir()
    assert os.readlink(lakehouse / "current") == os.path.join("snapshots", first)
    assert _published_snapshot(published) == first
    # PostgreSQL's publish went to its own folder.
    postgres_current = lakehouse / "postgres" / "current"
    assert postgres_current.is_symlink() and (postgres_current / "snapshot.json").exists()

    # `make query` opens the engine it is told.
    for warehouse, shows in (("duckdb", "kpi__monthly_turnover"), ("postgres", "kpi__monthly_turnover")):
        shell = subprocess.run(
            [sys.executable, "-m", "jump_platform.runner.query", "--schema", "marts"],
            cwd=PROJECT_ROOT,
            env={**env, "JUMP_WAREHOUSE": warehouse},
            input="\\dt\n" if warehouse == "postgres" else "",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shell.returncode == 0 and shows in shell.stdout, (warehouse, shell.stdout, shell.stderr)

    _refresh(env, "duckdb", log)
    second = _published_snapshot(published)
    assert second != first
    duckdb_layout = engines.get("duckdb").layout(published, data / "exports", data / "sources")
    assert {first, second} <= set(snapshots.snapshot_ids(duckdb_layout))

    rollback = subprocess.run(
        [sys.executable, "-m", "jump_platform.runner.cli", "rollback"],
        cwd=PROJECT_ROOT,
        env={**env, "JUMP_WAREHOUSE": "duckdb"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rollback.returncode == 0, rollback.stderr
    assert linked_snapshot_id(duckdb_layout) == first and _published_snapshot(published) == first
