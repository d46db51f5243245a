"""End to end: with `make dev` running (`dg dev`: UI, daemon, sensors), extracts dropped in the
landing zone reach the marts without anyone launching anything.

`dg dev` runs in a subprocess on a temporary DAGSTER_HOME (a copy of the project's
instance/dagster.yaml), a temporary data folder and a free port (the `dagster_dev` fixture). The lakehouse is read only after the
subprocess has stopped: a reader holding DuckDB could make a run fail on the lock.
"""

from __future__ import annotations

import shutil
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sql import qualified
from jump_platform_tests.dagster_dev import IN_FLIGHT, DagsterDev, previous_platform_extracts

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 180
LAST_ASSETS = [
    dg.AssetKey(["marts", "kpi__monthly_turnover"]),
    dg.AssetKey(["exports", "turnovers_by_cohort_for_auditor"]),
    dg.AssetKey(["dashboard", "marts"]),  # the dashboard follows the marts
]


def _settled(instance: dg.DagsterInstance, landing_zone: Path) -> bool:
    """Every extract archived, the last assets materialized, and no run queued or running."""
    waiting = [p for p in landing_zone.rglob("*.csv") if not p.relative_to(landing_zone).parts[0].startswith("_")]
    if waiting or len(list((landing_zone / "_archive").rglob("*.csv"))) < len(CONTRACTS):
        return False
    if any(instance.get_latest_materialization_event(key) is None for key in LAST_ASSETS):
        return False
    return not instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))


def test_extracts_dropped_in_the_landing_zone_reach_the_marts_with_the_daemon_running(
    dagster_dev: DagsterDev, tmp_path: Path
) -> None:
    home, data, log = dagster_dev.home, dagster_dev.data, dagster_dev.log
    started = time.monotonic()
    tables = previous_platform_extracts(tmp_path / "extracts")
    landing_zone = data / "sources"
    for system in ("app", "crm"):
        shutil.copytree(tmp_path / "extracts" / system, landing_zone / system)

    instance = dg.DagsterInstance.from_config(str(home))
    while not _settled(instance, landing_zone):
        assert dagster_dev.process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < DEADLINE_SECONDS, (
            f"not refreshed within {DEADLINE_SECONDS} s; runs: "
            f"{[(r.job_name, r.status.value) for r in instance.get_runs()]}\n{log.read_text()[-3000:]}"
        )
        time.sleep(2)
    elapsed = time.monotonic() - started
    runs = instance.get_runs()
    print(f"refreshed {elapsed:.0f} s after the drop, by runs {[(r.job_name, r.status.value) for r in runs]}")

    # No run failed (on a DuckDB lock or otherwise).
    failed = [run for run in runs if run.status != dg.DagsterRunStatus.SUCCESS]
    lock_errors = [
        event.message
        for run in runs
        for event in instance.all_logs(run.run_id)
        if "could not set lock" in (event.message or "").lower()
    ]
    assert not failed and not lock_errors, (failed, lock_errors)
    landing_runs = [run for run in runs if run.tags.get("dagster/sensor_name") == "landing_zone_sensor"]
    assert len(landing_runs) == 1

    archived = {p.relative_to(landing_zone / "_archive").parts[1:] for p in (landing_zone / "_archive").rglob("*.csv")}
    assert archived == {(c.system, f"{c.name}.csv") for c in CONTRACTS.values()}

    # Read the lakehouse once nothing can write to it any more.
    instance.dispose()
    dagster_dev.stop()
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        for table, frame in tables.items():
            assert con.sql(f"select count(*) from {qualified('sources', table)}").fetchone()[0] == frame.height, table
        turnover = con.sql("select sum(amount) from marts.kpi__monthly_turnover").fetchone()[0]
    assert turnover == Decimal(str(tables["app__invoices"]["amount"].sum()))
    assert (data / "exports" / "turnovers_by_cohort_for_auditor.csv").exists()
