"""Write-audit-publish, end to end: what readers see while runs fail, crash or run beside them.

- A blocking anomaly publishes nothing: the published lakehouse and the exports stay byte for byte.
- A reader holding the published file open never stops `make run`, keeps reading its snapshot,
  and sees the new one from a new connection (slow).
- Real SIGKILLs at every phase of `make run`: the published lakehouse always opens at its last good
  state, and the next run gives the content of an uninterrupted run (slow).
- `make dev` with its daemon, `make run` and a `make query` shell, all at once: no run fails on a
  lock (slow).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from jump_platform import engines
from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import FAILED, BuildState
from jump_platform.runner.cli import run_job
from jump_platform.runner.instance import write_local_instance
from jump_platform_tests.conftest import AS_OF
from jump_platform_tests.dagster_dev import IN_FLIGHT, DagsterDev, previous_platform_extracts
from jump_platform_tests.wap import (
    PROJECT_ROOT,
    exports_bytes,
    group_runs,
    lakehouse_content,
    run_env,
    snapshot_id,
    start_make_run,
    wait_for,
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(lakehouse: Path, tmp_path: Path) -> Path:
    """A copy of the session's lakehouse (its links kept): a published snapshot and its exports."""
    data = tmp_path / "data"
    shutil.copytree(lakehouse, data, symlinks=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_local_instance(home)
    return data


def test_a_blocking_anomaly_publishes_nothing_the_lakehouse_and_exports_stay_byte_for_byte(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_DATA_DIR", str(published))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", AS_OF.isoformat())
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    monkeypatch.setenv("JUMP_ANOMALIES", "overlapping_contracts")
    layout = engines.current().layout()
    before = (_sha256(layout.published), snapshot_id(layout.published), exports_bytes(layout.exports))

    summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())

    assert not summary.ok and not summary.published
    assert (_sha256(layout.published), snapshot_id(layout.published), exports_bytes(layout.exports)) == before
    text = summary.render("refresh")
    assert "Nothing was published: the lakehouse and the exports people read are as they were." in text
    assert "The build failed its audit: blocking check sources/app__job_contracts/job_contracts_never_overlap failed" in text
    assert "make query LAKEHOUSE=build" in text
    # The failed build stays for inspection, with the overlapping contracts the check found.
    assert BuildState.load(layout).status == FAILED
    with duckdb.connect(str(layout.build), read_only=True) as con:
        assert con.sql("select count(*) from sources.app__job_contracts").fetchone()[0] > 0
    # The delivery it loaded is rejected, every file with the failed check as its reason.
    rejected = list((layout.landing / "_rejected").rglob("*.csv"))
    assert len(rejected) == 5 and not (layout.landing / "_batches").exists()
    for path in rejected:
        reason = path.with_name(path.name + ".error.txt").read_text()
        assert reason.startswith("not published: blocking check sources/app__job_contracts/job_contracts_never_overlap")


def test_make_load_transform_export_publishes_at_the_export_once_everything_downstream_was_rebuilt(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUMP_SCALE", "0.05")
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    layout = engines.current().layout()
    assert run_job("extract", instance=instance).ok

    load = run_job("load", instance=instance)
    assert load.ok and not load.published and not layout.published.exists()
    assert "sources/app__clients changed but" in load.not_published and "were not rebuilt since" in load.not_published
    assert "make transform export" in load.render("load")
    assert len(list((layout.landing / "_batches").rglob("*.csv"))) == 5

    transform = run_job("transform", instance=instance)
    assert transform.ok and not transform.published
    assert "exports/turnovers_by_cohort_for_auditor" in transform.not_published

    export = run_job("export", instance=instance)
    assert export.ok and export.published
    assert snapshot_id(layout.published) == export.published["snapshot_id"]
    assert (layout.exports / "turnovers_by_cohort_for_auditor.csv").exists()
    assert len(list((layout.landing / "_archive").rglob("*.csv"))) == 5 and not (layout.landing / "_batches").exists()

    again = run_job("export", instance=instance)
    assert again.ok and again.published  # the export was rewritten: a new snapshot, the same data
    # Models rebuilt after the publish, their export not: not published again until it is.
    stale = run_job("transform", instance=instance).not_published
    assert "exports/turnovers_by_cohort_for_auditor" in stale.split(" but ", 1)[1] and "not rebuilt since" in stale


# --- readers and runs at the same time ----------------------------------------------------------

READER = """
import sys, duckdb
path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
facts = "select (select snapshot_id from _lakehouse.snapshot), (select count(*) from marts.fct_invoices)"
print(*con.sql(facts).fetchone(), flush=True)
sys.stdin.readline()
print(*con.sql(facts).fetchone(), flush=True)
con.close()
print(*duckdb.connect(path, read_only=True).sql(facts).fetchone(), flush=True)
"""


@pytest.mark.slow
def _query_shell(env: dict[str, str]) -> subprocess.Popen:
    """`make query` as a person opens it, reading SQL on its stdin."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "query"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_reader_and_a_query_shell_holding_the_lakehouse_never_stop_make_run(published: Path, tmp_path: Path) -> None:
    layout = Layout(published / "lakehouse" / "lakehouse.duckdb", published / "exports", published / "sources")
    env = run_env(published, tmp_path / "dagster_home", JUMP_AS_OF=AS_OF.isoformat(), JUMP_SCALE="0.05")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(layout.published)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    shell = _query_shell(env)
    try:
        old_snapshot, old_invoices = reader.stdout.readline().split()
        shell.stdin.write(".mode csv\nselect 'before', count(*) from fct_invoices;\n")
        shell.stdin.flush()

        run = start_make_run(env, tmp_path / "make_run.log")
        assert run.wait() == 0, run.output()[-4000:]
        assert "lock" not in run.output().lower()

        reader.stdin.write("go on\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == [old_snapshot, old_invoices]
        new_snapshot, new_invoices = reader.stdout.readline().split()
        shell_output, _ = shell.communicate(".mode csv\nselect 'after', count(*) from fct_invoices;\n", timeout=60)
    finally:
        reader.kill()
        shell.kill()
    assert new_snapshot != old_snapshot and new_snapshot == snapshots.current_snapshot_id(layout)
    assert int(new_invoices) < int(old_invoices)  # JUMP_SCALE=0.05 against the default scale
    assert f"before,{old_invoices}" in shell_output and f"after,{old_invoices}" in shell_output


# --- SIGKILL at every phase ---------------------------------------------------------------------

# Where `make run` is stopped, then killed with SIGKILL, in the order of a run. "dbt, writing" is
# the dbt subprocess itself, killed while it writes the build. The last one kills a publish after
# its rename: that snapshot is then the last good state.
KILLS = [
    (
        "extract: 3 months of invoices drawn, no extract renamed yet",
        "jump_platform.sources.generator.invoices:_draw_invoice_month:4",
    ),
    ("load: batch claimed, being validated", "jump_platform.sources.landing.reading:check_delivery:2"),
    ("load: one table written, the next not", "jump_platform.io_manager:write_parts:2"),
    ("dbt: the dbt subprocess writing the build", None),
    ("dbt: source checks and models run, nothing recorded yet", "jump_platform.defs.transform.assets:_run_results:1"),
    ("dbt: models built, step not finished", "jump_platform.defs.transform.assets:table_facts:1"),
    ("export: query planned, CSV not written", "jump_platform.exports:spreadsheet_columns:1"),
    ("publish: snapshot copied, not renamed", "jump_platform.lakehouse.snapshots:_point_current_at:1"),
    ("publish: renamed, batches not archived", "jump_platform.lakehouse.snapshots:settle_published:2"),
]
AFTER_THE_RENAME = KILLS[-1][0]


def _consistent(published: Path) -> bool:
    """A whole snapshot: its marts add up to its own invoices, every invoice made it to the fact."""
    with duckdb.connect(str(published), read_only=True) as con:
        return con.sql(
            "select (select sum(amount) from marts.kpi__monthly_turnover) = (select sum(amount) from sources.app__invoices)"
            " and (select count(*) from marts.fct_invoices) = (select count(distinct id) from sources.app__invoices)"
        ).fetchone()[0]


@pytest.mark.slow
def test_sigkill_at_every_phase_leaves_the_last_good_state_and_the_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    """Runs killed with SIGKILL, one after the other, each recovering from the one before. The
    killed runs draw other data (seed 7) than the clean run (seed 42): whatever they wrote must
    never show, until one is killed after its publish's rename."""
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    layout = Layout(data / "lakehouse" / "lakehouse.duckdb", data / "exports", data / "sources")
    clean_env = run_env(data, home, JUMP_AS_OF=AS_OF.isoformat(), JUMP_SCALE="0.05", JUMP_SEED="42")
    killed_env = {**clean_env, "JUMP_SEED": "7"}

    clean = start_make_run(clean_env, tmp_path / "clean.log")
    assert clean.wait() == 0, clean.output()[-4000:]
    clean_content, clean_exports = lakehouse_content(layout.published), exports_bytes(layout.exports)
    good = (snapshot_id(layout.published), clean_content, clean_exports)

    recovered = 0
    for number, (phase, pause_at) in enumerate(KILLS, start=1):
        marker = tmp_path / f"paused-{number}"
        run = start_make_run(killed_env, tmp_path / f"killed-{number}.log", pause_at, marker)
        if pause_at:
            wait_for(marker.exists, f"pause at {pause_at}", run)
        else:
            wait_for(lambda run=run: group_runs(run, "build"), "dbt build started", run)
            wal = layout.build.with_name(layout.build.name + ".wal")
            deadline = time.monotonic() + 5
            while not wal.exists() and time.monotonic() < deadline and group_runs(run, "build"):
                time.sleep(0.02)
        run.kill()
        if number > 1:
            recovered += 1  # this run started by recovering from the kill before it, and went on

        # The published lakehouse opens, at its last good state, with the exports of that state.
        current = snapshot_id(layout.published)
        if phase == AFTER_THE_RENAME:
            assert current != good[0], phase
            assert _consistent(layout.published) and lakehouse_content(layout.published) != clean_content, phase
            assert exports_bytes(layout.exports) == exports_bytes(layout.snapshot_exports(current)) != clean_exports
            good = (current, lakehouse_content(layout.published), exports_bytes(layout.exports))
        assert (current, lakehouse_content(layout.published), exports_bytes(layout.exports)) == good, phase

    rerun = start_make_run(clean_env, tmp_path / "rerun.log")
    assert rerun.wait() == 0, rerun.output()[-4000:]
    recovered += 1
    assert lakehouse_content(layout.published) == clean_content
    assert exports_bytes(layout.exports) == clean_exports
    # Nothing stranded: every batch was loaded and published, or rejected with a reason.
    assert not (layout.landing / "_batches").exists()
    assert not [p for p in layout.landing.rglob("*") if p.is_file() and p.relative_to(layout.landing).parts[0] in ("app", "crm")]
    for reason in (layout.landing / "_rejected").rglob("*.error.txt"):
        assert reason.read_text().startswith(("not loaded: batch", "not published:")), reason
    print(f"\nchaos: {len(KILLS)} SIGKILLs, {recovered} runs recovered from the kill before them")
    assert recovered == len(KILLS)


# --- make dev, make run and a query shell at once -------------------------------------------------


@pytest.mark.slow
def test_make_dev_make_run_and_a_query_shell_at_once_and_no_run_fails_on_a_lock(
    dagster_dev: DagsterDev,
    lakehouse: Path,
    tmp_path: Path,
) -> None:
    data, home = dagster_dev.data, dagster_dev.home
    shutil.copytree(lakehouse, data, symlinks=True, dirs_exist_ok=True)
    env = run_env(data, home, JUMP_AS_OF=AS_OF.isoformat(), JUMP_SCALE="0.05")
    shell = _query_shell(env)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        shell.stdin.write(".mode csv\nselect 'before', count(*) from fct_invoices;\n")
        shell.stdin.flush()
        # A delivery for the daemon's landing-zone sensor, and `make run` as soon as its run is launched.
        previous_platform_extracts(tmp_path / "extracts")
        for system in ("app", "crm"):
            shutil.copytree(tmp_path / "extracts" / system, data / "sources" / system, dirs_exist_ok=True)
        deadline = time.monotonic() + 180
        while not instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": "landing_zone_sensor"})):
            assert time.monotonic() < deadline and dagster_dev.process.poll() is None, dagster_dev.log.read_text()[-3000:]
            time.sleep(1)
        run = start_make_run(env, tmp_path / "make_run.log")
        assert run.wait() == 0, run.output()[-4000:]
        while instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)):
            assert time.monotonic() < deadline + 600, [(r.job_name, r.status.value) for r in instance.get_runs()]
            time.sleep(2)
        shell_output, _ = shell.communicate(".mode csv\nselect 'after', count(*) from fct_invoices;\n", timeout=60)
    finally:
        shell.kill()

    runs = instance.get_runs()
    lock_errors = [
        event.message
        for daemon_run in runs
        for event in instance.all_logs(daemon_run.run_id)
        if any(words in (event.message or "").lower() for words in ("could not set lock", "conflicting lock"))
    ]
    assert not lock_errors and "could not set lock" not in run.output().lower()
    assert [r.status for r in runs if r.status != dg.DagsterRunStatus.SUCCESS] == [], [(r.job_name, r.status.value) for r in runs]
    assert "before," in shell_output and "after," in shell_output
    instance.dispose()
