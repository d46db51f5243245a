"""Automatic refresh: the landing-zone sensor, the schedules, the run's as-of date, the monthly
invoices, declarative automation and the one-writer rule."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

from jump_platform import definitions, settings
from jump_platform.defs.as_of import AS_OF_TAG
from jump_platform.defs.automation.schedules import daily_refresh_schedule, monthly_invoices_schedule
from jump_platform.defs.automation.sensors import DELIVERED_TABLES_TAG, landing_zone_sensor
from jump_platform.defs.exports.assets import csv_exports
from jump_platform.defs.lakehouse.assets import published_lakehouse
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import demo_extracts, load_sources
from jump_platform.defs.sources.invoices_by_month import invoices_by_month
from jump_platform.defs.transform.assets import jump_dbt_models
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.runner.launcher import INSTANCE_YAML
from jump_platform.sql import qualified, quote_identifier
from jump_platform_tests.conftest import AS_OF

PROJECT_ROOT = Path(__file__).resolve().parents[1]
USERS_CSV = (
    "id,first_name,last_name,email\n"
    "6f1c0f4e-0000-4000-8000-000000000001,Ana,Durand,ana.durand@example.fr\n"
    "6f1c0f4e-0000-4000-8000-000000000002,Léa,Martin,lea.martin@example.fr\n"
)
INVOICES_HEADER = "id,job_contract_id,client_id,reference,amount,issue_date\n"
defs = definitions.defs()


def uid(n: int, prefix: str = "0") -> str:
    """A readable UUID: `uid(3, "c")` is `c0000000-0000-4000-8000-000000000003`."""
    return f"{prefix}0000000-0000-4000-8000-{n:012d}"


CONTRACT, CLIENT = uid(1, "c"), uid(1, "d")


def drop(root: Path, relative: str, content: str, age_seconds: float = 10.0) -> Path:
    """Deliver a file whose copy finished `age_seconds` ago (the sensor waits for files to settle)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path


def tick(cursor: str | None = None) -> dg.SensorResult:
    return landing_zone_sensor(dg.build_sensor_context(cursor=cursor, definitions=defs))


# --- the landing-zone sensor ------------------------------------------------------------------


@pytest.fixture
def no_lakehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open DuckDB fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sensor opened DuckDB")

    monkeypatch.setattr(duckdb, "connect", refuse)


def test_a_new_file_gives_one_run_request_for_its_table_and_everything_downstream(data_dir: Path, no_lakehouse: None) -> None:
    drop(settings.landing_dir(), "app/users.csv", USERS_CSV)
    result = tick()
    [request] = result.run_requests
    selected = set(request.asset_selection)
    assert dg.AssetKey(["sources", "app__users"]) in selected
    assert {dg.AssetKey(["staging", "app__users"]), dg.AssetKey(["marts", "kpi__nps"])} <= selected
    # A table that was not delivered is neither loaded nor refreshed.
    assert dg.AssetKey(["sources", "app__invoices"]) not in selected
    assert dg.AssetKey(["staging", "crm__customers"]) not in selected
    assert request.tags[DELIVERED_TABLES_TAG] == "app__users"
    assert request.tags[AS_OF_TAG] == AS_OF.isoformat()  # resolved once, as the run is requested
    assert list(json.loads(result.cursor)) == ["app/users.csv"]
    # The sensor moved nothing: the load run claims the files.
    assert (settings.landing_dir() / "app" / "users.csv").exists()


def test_the_same_file_again_gives_no_run_request(data_dir: Path, no_lakehouse: None) -> None:
    path = drop(settings.landing_dir(), "app/users.csv", USERS_CSV)
    first = tick()
    # Touched but not changed: still the same delivery.
    os.utime(path, (time.time() - 5, time.time() - 5))
    second = tick(first.cursor)
    assert not second.run_requests
    assert second.skip_reason


def test_a_changed_file_gives_a_new_run_request(data_dir: Path, no_lakehouse: None) -> None:
    root = settings.landing_dir()
    drop(root, "app/users.csv", USERS_CSV)
    first = tick()
    drop(root, "app/users.csv", USERS_CSV.replace("Ana", "Anna"))
    second = tick(first.cursor)
    [request] = second.run_requests
    assert request.run_key != first.run_requests[0].run_key


def test_a_file_delivered_again_after_its_load_gives_a_new_run_request(data_dir: Path, no_lakehouse: None) -> None:
    root = settings.landing_dir()
    path = drop(root, "app/users.csv", USERS_CSV)
    first = tick()
    path.unlink()  # what the load run does: the file moves to _archive/
    after_load = tick(first.cursor)
    assert json.loads(after_load.cursor) == {}
    drop(root, "app/users.csv", USERS_CSV, age_seconds=5)
    [again] = tick(after_load.cursor).run_requests
    assert again.run_key != first.run_requests[0].run_key


def test_make_load_selects_the_tables_delivered_with_their_checks_and_the_publish(data_dir: Path) -> None:
    from jump_platform.defs.lakehouse.resources import PUBLISHED
    from jump_platform.runner.cli import delivered_selection

    assert delivered_selection() is None  # nothing waits: the whole job (it still rejects strays)
    root = settings.landing_dir()
    drop(root, "app/invoices/2026-10.csv", INVOICES_HEADER, age_seconds=0)  # a load takes it unsettled
    drop(root, "crm/customers.csv", "last_name,first_name,email,satisfaction_score\n")
    assert delivered_selection() == [
        dg.AssetKey(["sources", "app__invoices"]),
        dg.AssetKey(["sources", "crm__customers"]),
        PUBLISHED,
    ]


def test_a_file_still_being_copied_waits_for_the_next_tick(data_dir: Path, no_lakehouse: None) -> None:
    drop(settings.landing_dir(), "app/users.csv", USERS_CSV, age_seconds=0)
    assert not tick().run_requests


def test_increments_and_several_tables_go_in_one_run(data_dir: Path, no_lakehouse: None) -> None:
    root = settings.landing_dir()
    drop(root, "app/invoices/2026-10.csv", INVOICES_HEADER + f"{uid(1)},{CONTRACT},{CLIENT},JMP00001,10.00,2026-10-01\n")
    drop(root, "crm/customers.csv", "last_name,first_name,email,satisfaction_score\nDurand,Ana,a@x.fr,9\n")
    [request] = tick().run_requests
    assert request.tags[DELIVERED_TABLES_TAG] == "app__invoices,crm__customers"


def test_a_malformed_file_ends_in_rejected_with_its_reason(data_dir: Path) -> None:
    root = settings.landing_dir()
    drop(root, "app/users.csv", "id,first_name,last_name\nx,y,z\n")
    [request] = tick().run_requests
    job = definitions.defs().resolve_job_def(landing_zone_sensor.job_name)
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=list(request.asset_selection),
        tags=request.tags,
        raise_on_error=False,
    )
    assert not result.success
    [rejected] = list((root / "_rejected").rglob("users.csv"))
    reason = rejected.with_name("users.csv.error.txt").read_text()
    assert "app/users.csv: missing column(s) email (varchar)" in reason
    assert not (root / "app" / "users.csv").exists()
    # Nothing downstream ran on a refused delivery.
    assert not result.get_asset_materialization_events()


# --- schedules and the run's as-of date -------------------------------------------------------


def _schedule_tick(schedule: dg.ScheduleDefinition, when: dt.datetime) -> dg.RunRequest | dg.SkipReason:
    return schedule(dg.build_schedule_context(scheduled_execution_time=when))


def test_the_daily_schedule_refreshes_everything_as_of_the_day_of_its_tick() -> None:
    schedule = daily_refresh_schedule("generator")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Europe/Paris")
    assert schedule.job_name == "refresh"
    # 06:00 in Paris on 2 March is 05:00 UTC.
    request = _schedule_tick(schedule, dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC))
    assert isinstance(request, dg.RunRequest)
    assert request.tags[AS_OF_TAG] == "2026-03-02"


def test_with_real_extracts_the_daily_schedule_never_runs_the_generator() -> None:
    schedule = daily_refresh_schedule("extracts")
    job = defs.resolve_job_def(schedule.job_name)
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in job.asset_layer.executable_asset_keys}
    assert groups == {"staging", "intermediate", "marts", "exports", "lakehouse", "dashboard", "reverse_etl"}
    request = _schedule_tick(schedule, dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC))
    assert request.tags[AS_OF_TAG] == "2026-03-02"
    monthly = _schedule_tick(monthly_invoices_schedule("extracts"), dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC))
    assert isinstance(monthly, dg.SkipReason) and "generator is switched off" in (monthly.skip_message or "")


def test_schedules_run_by_default_and_start_stopped_with_jump_schedules_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUMP_SCHEDULES", raising=False)
    assert daily_refresh_schedule("generator").default_status == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.setenv("JUMP_SCHEDULES", "off")
    assert daily_refresh_schedule("generator").default_status == dg.DefaultScheduleStatus.STOPPED
    assert monthly_invoices_schedule("generator").default_status == dg.DefaultScheduleStatus.STOPPED


def test_the_generator_refuses_to_run_with_real_extracts(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_PRODUCER", "extracts")
    result = dg.materialize([demo_extracts], raise_on_error=False)
    assert not result.success
    assert not settings.landing_dir().exists()


def test_the_monthly_schedule_writes_the_month_that_just_closed() -> None:
    schedule = monthly_invoices_schedule("generator")
    request = _schedule_tick(schedule, dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC))
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-11"
    assert request.tags[AS_OF_TAG] == "2026-12-01"


def test_the_as_of_tag_sets_the_date_of_the_extract_and_a_later_extract_day_is_kept_apart(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_SCALE", "0.05")
    invoices = settings.landing_dir() / "app" / "invoices.csv"

    result = dg.materialize([demo_extracts], tags={AS_OF_TAG: "2021-06-30"})
    [materialization, *_] = result.get_asset_materialization_events()
    assert materialization.materialization.metadata["as_of"].value == "2021-06-30"
    assert pl.read_csv(invoices, try_parse_dates=True)["issue_date"].max() <= dt.date(2021, 6, 30)

    # Extracts taken later hold what happened since; the run's as-of date stays the tag's.
    config = {"ops": {"demo_extracts": {"config": {"extracted_on": "2021-09-30"}}}}
    result = dg.materialize([demo_extracts], tags={AS_OF_TAG: "2021-06-30"}, run_config=config)
    [materialization, *_] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert (metadata["as_of"].value, metadata["extracted_on"].value) == ("2021-06-30", "2021-09-30")
    assert pl.read_csv(invoices, try_parse_dates=True)["issue_date"].max() > dt.date(2021, 6, 30)

    # Taken before it, they would leave the models describing days they know nothing of.
    config = {"ops": {"demo_extracts": {"config": {"extracted_on": "2020-01-31"}}}}
    result = dg.materialize([demo_extracts], tags={AS_OF_TAG: "2021-06-30"}, run_config=config, raise_on_error=False)
    assert not result.success


# --- snapshots and increments, through staging ------------------------------------------------


def _load(instance: dg.DagsterInstance, stage: bool = False) -> None:
    """Load what waits in the landing zone; with `stage`, build staging.app__invoices too (one dbt
    call: its dbt tests aside, they read other tables)."""
    keys = [["sources", "app__invoices"], *([["staging", "app__invoices"]] if stage else [])]
    result = dg.materialize(
        [load_sources, jump_dbt_models],
        selection=dg.AssetSelection.assets(*keys).without_checks(),
        resources={**lakehouse_resources(), "dbt": dbt_resource()},
        instance=instance,
    )
    assert result.success


def test_a_snapshot_then_an_increment_loaded_twice_then_corrected_leave_one_row_per_id_corrected(
    data_dir: Path,
) -> None:
    root = settings.landing_dir()
    instance = dg.DagsterInstance.ephemeral()
    drop(root, "app/invoices.csv", INVOICES_HEADER + f"{uid(1)},{CONTRACT},{CLIENT},JMP00001,100.00,2026-09-01\n")
    _load(instance)
    october = (
        INVOICES_HEADER
        + f"{uid(2)},{CONTRACT},{CLIENT},JMP00002,200.00,2026-10-01\n{uid(3)},{CONTRACT},{CLIENT},JMP00003,300.00,2026-10-02\n"
    )
    drop(root, "app/invoices/2026-10.csv", october)
    _load(instance)
    drop(root, "app/invoices/2026-10.csv", october)
    _load(instance)
    drop(root, "app/invoices/2026-10-fix.csv", INVOICES_HEADER + f"{uid(3)},{CONTRACT},{CLIENT},JMP00003,333.00,2026-10-03\n")
    _load(instance, stage=True)

    # Read in the build: these loads do not rebuild every model downstream, so nothing is published.
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        delivered = con.sql("select count(*) from sources.app__invoices").fetchone()[0]
        staged = con.sql(
            "select invoice_id, cast(amount as varchar), issue_date from staging.app__invoices order by invoice_id"
        ).fetchall()
    assert delivered == 6
    assert staged == [
        (uid(1), "100.00", dt.date(2026, 9, 1)),
        (uid(2), "200.00", dt.date(2026, 10, 1)),
        (uid(3), "333.00", dt.date(2026, 10, 3)),
    ]

    # A second snapshot replaces everything delivered before (staging is a view on it).
    drop(root, "app/invoices.csv", INVOICES_HEADER + f"{uid(9)},{CONTRACT},{CLIENT},JMP00009,9.00,2026-11-01\n")
    _load(instance)
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        assert con.sql("select invoice_id from staging.app__invoices").fetchall() == [(uid(9),)]


# --- monthly invoices -------------------------------------------------------------------------


def test_a_full_backfill_of_the_monthly_invoices_gives_the_same_marts_as_one_unpartitioned_run(
    lakehouse: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lakehouse` is the `refresh` job's run. Here the invoices come as 95 monthly increments
    written in one backfill run, every other table from the same generator, and every step takes
    its as-of date from the run tag (JUMP_AS_OF points years away, so a step ignoring the tag
    would give other marts)."""
    monkeypatch.setenv("JUMP_AS_OF", "2030-01-01")
    tags = {AS_OF_TAG: AS_OF.isoformat()}
    resources = {**lakehouse_resources(), "dbt": dbt_resource()}
    instance = dg.DagsterInstance.ephemeral()
    root = settings.landing_dir()

    dg.materialize([demo_extracts], tags=tags, instance=instance)
    (root / "app" / "invoices.csv").unlink()
    backfill = invoices_by_month.execute_in_process(
        tags={
            **tags,
            "dagster/asset_partition_range_start": "2019-01",
            "dagster/asset_partition_range_end": AS_OF.strftime("%Y-%m"),
        },
        instance=instance,
    )
    # One run for the whole range.
    assert backfill.success
    assert len(list((root / "app" / "invoices").glob("*.csv"))) > 90
    result = dg.materialize(
        [load_sources, jump_dbt_models, csv_exports, published_lakehouse],
        resources=resources,
        tags=tags,
        instance=instance,
    )
    assert result.success
    assert published_lakehouse.key in {e.asset_key for e in result.get_asset_materialization_events()}

    unpartitioned = lakehouse / "lakehouse" / "lakehouse.duckdb"
    with duckdb.connect(str(settings.duckdb_path()), read_only=True) as con:
        con.execute(f"attach '{unpartitioned}' as unpartitioned (read_only)")
        marts = [
            row[0]
            for row in con.sql(
                "select table_name from information_schema.tables where table_catalog = 'lakehouse' and table_schema = 'marts'"
            ).fetchall()
        ]
        assert "kpi__monthly_turnover" in marts
        for table in marts:
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'lakehouse' "
                    "and table_schema = 'marts' and table_name = ? and column_name not like '\\_%' escape '\\'",
                    [table],
                ).fetchall()
            ]
            listed = ", ".join(quote_identifier(c) for c in columns)
            built, unpartitioned = qualified("lakehouse", "marts", table), qualified("unpartitioned", "marts", table)
            differences = con.sql(
                f"select count(*) from ((select {listed} from {built} "
                f"except all select {listed} from {unpartitioned}) "
                f"union all (select {listed} from {unpartitioned} "
                f"except all select {listed} from {built}))"
            ).fetchone()[0]
            rows = con.sql(f"select count(*) from lakehouse.marts.{table}").fetchone()[0]
            assert rows > 0 and differences == 0, table
    exported = lakehouse / "exports" / "turnovers_by_cohort_for_auditor.csv"
    assert (settings.exports_dir() / exported.name).read_bytes() == exported.read_bytes()


# --- declarative automation -------------------------------------------------------------------


def test_models_and_exports_downstream_of_an_updated_source_are_requested() -> None:
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    sources = [key for key in graph.get_all_asset_keys() if key.path[0] == "sources"]
    downstream = [key for key in graph.get_all_asset_keys() if key.path[0] in ("staging", "intermediate", "marts", "exports")]

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0, "nothing runs while its sources are missing"
    for key in sources:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert all(result.get_num_requested(key) for key in downstream), "missing models follow their new sources"
    for key in downstream:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert result.total_requested == 0, "everything is up to date"

    instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["sources", "app__invoices"])))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    requested = {key for key in downstream if result.get_num_requested(key)}
    assert {
        dg.AssetKey(["staging", "app__invoices"]),
        dg.AssetKey(["intermediate", "invoices"]),
        dg.AssetKey(["marts", "kpi__monthly_turnover"]),
        dg.AssetKey(["exports", "turnovers_by_cohort_for_auditor"]),
    } <= requested
    assert dg.AssetKey(["staging", "app__users"]) not in requested
    assert not any(result.get_num_requested(key) for key in sources)


# --- one writer at a time ---------------------------------------------------------------------


def test_every_step_opening_the_lakehouse_goes_through_the_build_and_is_in_the_lakehouse_pool() -> None:
    for assets_def in (load_sources, jump_dbt_models, csv_exports, published_lakehouse):
        assert "warehouse" in assets_def.required_resource_keys, assets_def.node_def.name
        assert assets_def.node_def.pool == "lakehouse", assets_def.node_def.name
    assert isinstance(defs.resources["warehouse"], LakehouseBuild)


def test_the_instance_runs_one_run_and_one_lakehouse_step_at_a_time(tmp_path: Path) -> None:
    overrides = yaml.safe_load(INSTANCE_YAML.read_text())
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
    assert config.run_queue_config.max_concurrent_runs == 1
    assert config.pool_config.default_pool_limit == 1
