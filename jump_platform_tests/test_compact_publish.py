"""A compact published file: a build whose tables were rebuilt in place carries free blocks (DuckDB
reuses them but never gives them back); its snapshot is a compacted copy of it, with none, holding
the same content table by table. A publish killed while it compacts, or out of room for the compacted
copy, leaves readers on the last good snapshot.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from jump_platform.files import DiskFullError
from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import BuildState, open_build
from jump_platform.lakehouse.stores import COMPACT_ABOVE_FREE_SHARE, COMPACTED, block_usage
from jump_platform.sql import qualified
from jump_platform_tests.test_data_safety import _fill, small_disk  # noqa: F401 (a fixture)
from jump_platform_tests.test_publish import _answer, _build_run, _publish
from jump_platform_tests.wap import SITECUSTOMIZE, lakehouse_content, snapshot_id

# The largest tables of a demo lakehouse, rebuilt in place as dbt's table materializations do.
REBUILT = ("intermediate.freelancer_entity_months", "intermediate.job_contract_months", "marts.fct_invoices")


def _rebuild_in_place(build: Path, tables: tuple[str, ...]) -> None:
    """What a run's models do to the build file: each table replaced by a new version of itself."""
    with duckdb.connect(str(build)) as con:
        for table in tables:
            name = qualified(*table.split("."))
            con.execute(f"create or replace table {name} as select * from {name}")


def _relations(path: Path, schema: str) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("select table_name from information_schema.tables where table_schema = ? order by 1", [schema])
        return {name: con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0] for (name,) in names.fetchall()}


def test_the_file_published_after_two_runs_has_no_free_block_and_the_build_s_content(lakehouse: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(lakehouse, data, symlinks=True)
    layout = Layout(data / "lakehouse" / "lakehouse.duckdb", data / "exports", data / "sources")
    for run in ("run-1", "run-2"):
        state = open_build(layout, run).state
        _rebuild_in_place(layout.build, REBUILT)
        state.record_written(["intermediate/job_contract_months"])
        state.save(layout)
        # The build carries dead space: a copy of its file would publish it.
        assert block_usage(layout.build).free_share > COMPACT_ABOVE_FREE_SHARE
        published = _publish(layout, state, run)

        assert published.copied_by == COMPACTED and published.free_block_share == 0
        usage = block_usage(layout.published)
        assert usage.free_blocks == 0, f"after {run}: {usage}"
        assert lakehouse_content(layout.published) == lakehouse_content(layout.build)
        # What the four schemas' digest leaves out: the exports' views and the snapshot's own record.
        assert _relations(layout.published, "exports") == _relations(layout.build, "exports")
        assert snapshot_id(layout.published) == published.snapshot.snapshot_id
    assert layout.published.stat().st_size < layout.build.stat().st_size


def test_a_build_with_little_dead_space_is_copied_whole(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "lakehouse" / "lakehouse.duckdb", tmp_path / "exports", tmp_path / "sources")
    published = _publish(layout, _build_run(layout, "run-1", 1), "run-1")
    assert published.copied_by != COMPACTED
    assert _answer(layout.published) == 1


def _build_with_dead_space(layout: Layout, run_id: str, value: int) -> BuildState:
    """A run that rebuilds a large table in place, as dbt's models do: the blocks of its previous
    version end up free (DuckDB reuses them for later writes but keeps them in the file)."""
    state = _build_run(layout, run_id, value)
    with duckdb.connect(str(layout.build)) as con:
        con.execute("create or replace table marts.big as select range as n, md5(range::varchar) as h from range(100000)")
        con.execute("create or replace table marts.other as select range as n from range(10)")
        con.execute("checkpoint")
        con.execute("create or replace table marts.big as select * from marts.big order by h")
        con.execute("create or replace table marts.other as select * from marts.other")
    assert block_usage(layout.build).free_share > COMPACT_ABOVE_FREE_SHARE
    return state


PUBLISH = """
import sys
from pathlib import Path
from jump_platform.lakehouse import Layout
from jump_platform_tests.test_publish import _publish
from jump_platform.lakehouse.build import BuildState

root = Path(sys.argv[1])
layout = Layout(root / "lakehouse" / "lakehouse.duckdb", root / "exports", root / "sources")
_publish(layout, BuildState.load(layout), "run-2")
"""


def test_a_publish_killed_while_it_compacts_leaves_current_on_the_last_good_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "data"
    layout = Layout(root / "lakehouse" / "lakehouse.duckdb", root / "exports", root / "sources")
    before = _publish(layout, _build_with_dead_space(layout, "run-1", 1), "run-1").snapshot.snapshot_id
    before_content = lakehouse_content(layout.published)
    _build_with_dead_space(layout, "run-2", 2)  # left open, as a run leaves its build while it publishes

    # A real SIGKILL in the middle of the compacted copy: after its schema and its first table.
    site, marker = tmp_path / "site", tmp_path / "paused"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "JUMP_TEST_PAUSE_AT": "jump_platform.lakehouse.stores:_copy_table:2",
        "JUMP_TEST_PAUSE_MARKER": str(marker),
    }
    process = subprocess.Popen([sys.executable, "-c", PUBLISH, str(root)], env=env, cwd=Path(__file__).parents[1])
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, f"the publish ended ({process.returncode}) before its compacted copy"
        assert time.monotonic() < deadline, "the publish never reached its compacted copy"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)

    # The half-written compacted file stays in the hidden staging folder, never a snapshot.
    [partial] = snapshots.partial_snapshots_of(layout, "run-2")
    assert (partial / layout.published.name).is_file()
    assert snapshots.snapshot_ids(layout) == [before]
    assert snapshots.current_snapshot_id(layout) == before
    assert lakehouse_content(layout.published) == before_content and _answer(layout.published) == 1

    # The next run frees it, starts its build again from the last good snapshot, and publishes.
    opened = open_build(layout, "run-3")
    assert not partial.exists()
    assert opened.reset_because == "run run-2 stopped before it finished"
    assert _answer(layout.build) == 1
    published = _publish(layout, _build_with_dead_space(layout, "run-3", 3), "run-3")
    assert published.copied_by == COMPACTED and block_usage(layout.published).free_blocks == 0
    assert _answer(layout.published) == 3


def test_a_compacted_copy_on_a_full_disk_says_so_and_leaves_the_last_good_snapshot(
    small_disk: Callable[[str], Path],  # noqa: F811 (the fixture imported above)
) -> None:
    disk = small_disk("48m")
    layout = Layout(disk / "lakehouse" / "lakehouse.duckdb", disk / "exports", disk / "sources")
    first = _publish(layout, _build_run(layout, "run-1", 1), "run-1").snapshot.snapshot_id
    state = _build_with_dead_space(layout, "run-2", 2)
    needed = block_usage(layout.build).used_bytes
    filler = _fill(disk, leave=needed // 2)  # room for half the compacted copy

    with pytest.raises(DiskFullError) as raised:
        _publish(layout, state, "run-2")

    message = str(raised.value)
    assert str(layout.snapshots) in message and "free there" in message and "needed" in message
    assert [p.name for p in layout.snapshots.iterdir()] == [first]  # its own partial snapshot went
    assert snapshots.current_snapshot_id(layout) == first and _answer(layout.published) == 1
    filler.unlink()
    published = _publish(layout, state, "run-2")  # once there is room, the same build publishes
    assert published.copied_by == COMPACTED and _answer(layout.published) == 2
