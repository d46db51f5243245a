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

from jump_platform.cli import run_job
from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import FAILED, BuildState
from jump_platform_tests.conftest import AS_OF
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
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return data


def test_a_blocking_anomaly_publishes_nothing_the_lakehouse_and_exports_stay_byte_for_byte(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_DATA_DIR", str(published))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", AS_OF.isoformat())
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    monkeypatch.setenv("JUMP_ANOMALIES", "overlapping_contracts")
    layout = Layout.from_settings()
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
def test_a_reader_and_a_query_shell_holding_the_lakehouse_never_stop_make_run(published: Path, tmp_path: Path) -> None:
    layout = Layout(published / "lakehouse" / "lakehouse.duckdb", published / "exports", published / "sources")
    env = run_env(published, tmp_path / "dagster_home", JUMP_AS_OF=AS_OF.isoformat(), JUMP_SCALE="0.05")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(layout.published)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    shell = subprocess.Popen(
        ["make", "--no-print-directory", "query"], cwd=PROJECT_ROOT, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
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
