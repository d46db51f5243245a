"""The asset checks, through Dagster: generated sources pass them all; each anomaly fails its check,
and a failed blocking check keeps the downstream assets from materializing in that run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from jump_platform import settings
from jump_platform.cli import run_job
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import demo_extracts, load_sources
from jump_platform.defs.sources.checks import evaluate_source_rule, source_checks
from jump_platform.defs.transform.checks import MONTHLY_TURNOVER, mart_checks, monthly_turnover_reconciles_with_invoices
from jump_platform.io_manager import LakehouseIOManager
from jump_platform.sources.anomalies import ANOMALIES
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.rules import SOURCE_RULES
from jump_platform_tests.conftest import AS_OF as CONFTEST_AS_OF
from jump_platform_tests.source_samples import EXPECTED_FAILURES

AS_OF = date(2025, 6, 30)
SCALE = "0.02"  # 20 freelancers, a few hundred invoices: enough to hold every kind of row
DOWNSTREAM = dg.AssetKey(["staging", "stand_in"])


@dg.asset(key=DOWNSTREAM, deps=[dg.AssetKey(["sources", table]) for table in CONTRACTS])
def stand_in_for_dbt() -> None:
    """Stands for the dbt models downstream of every source table."""


@dataclass(frozen=True)
class Run:
    database: Path
    materialized: set[str]
    checks: dict[str, dg.AssetCheckEvaluation]

    @property
    def failed(self) -> dict[str, dg.AssetCheckEvaluation]:
        return {name: evaluation for name, evaluation in self.checks.items() if not evaluation.passed}

    def metadata(self, check: str) -> dict[str, object]:
        return {key: value.value for key, value in self.checks[check].metadata.items()}

    def sample_ids(self, check: str) -> list[str]:
        return sorted(str(self.metadata(check)["sample_ids"]).split(", "))

    def query(self, sql: str) -> list[str]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return sorted(str(row[0]) for row in con.sql(sql).fetchall())


def _resources(database: Path) -> dict[str, object]:
    return {"io_manager": LakehouseIOManager(database=str(database)), "duckdb": DuckDBResource(database=str(database))}


@pytest.fixture(scope="module")
def run_with(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """Generate, load and check the sources with `JUMP_ANOMALIES=<anomalies>`, once per value."""
    runs: dict[str, Run] = {}

    def run(anomalies: str) -> Run:
        if anomalies not in runs:
            data_dir = tmp_path_factory.mktemp(anomalies or "clean")
            database = data_dir / "lakehouse.duckdb"
            with pytest.MonkeyPatch.context() as env:
                for name, value in {
                    "JUMP_DATA_DIR": str(data_dir),
                    "JUMP_DUCKDB_PATH": str(database),
                    "JUMP_AS_OF": AS_OF.isoformat(),
                    "JUMP_SCALE": SCALE,
                    "JUMP_SEED": "42",
                    "JUMP_ANOMALIES": anomalies,
                }.items():
                    env.setenv(name, value)
                result = dg.materialize(
                    [demo_extracts, load_sources, stand_in_for_dbt, *source_checks],
                    resources=lakehouse_resources(),
                    raise_on_error=False,
                )
                # Nothing here publishes: the run's data is in the build, as its checks saw it.
                build = settings.build_duckdb_path()
            runs[anomalies] = Run(
                database=build,
                materialized={event.asset_key.to_user_string() for event in result.get_asset_materialization_events()},
                checks={
                    f"{evaluation.asset_key.path[-1]}.{evaluation.check_name}": evaluation
                    for evaluation in result.get_asset_check_evaluations()
                },
            )
        return runs[anomalies]

    return run


def test_generated_sources_pass_every_check_and_reach_downstream(run_with: Callable[[str], Run]) -> None:
    run = run_with("")
    assert set(run.checks) == {f"{rule.table}.{rule.name}" for rule in SOURCE_RULES}
    assert run.failed == {}
    assert DOWNSTREAM.to_user_string() in run.materialized
    assert all(run.metadata(check)["offending_rows"] == 0 for check in run.checks)


@pytest.mark.parametrize("anomaly", list(ANOMALIES))
def test_each_anomaly_fails_only_its_matching_check(run_with: Callable[[str], Run], anomaly: str) -> None:
    run = run_with(anomaly)
    assert set(run.failed) == EXPECTED_FAILURES[anomaly]
    for check in run.failed:
        assert run.metadata(check)["offending_rows"] > 0 and run.sample_ids(check)


@pytest.mark.parametrize("anomaly", list(ANOMALIES))
def test_a_failed_blocking_check_stops_downstream_and_a_warning_does_not(run_with: Callable[[str], Run], anomaly: str) -> None:
    run = run_with(anomaly)
    blocking = any(evaluation.severity == dg.AssetCheckSeverity.ERROR for evaluation in run.failed.values())
    assert blocking == (anomaly not in {"reference_gaps", "future_invoices", "empty_month"})
    assert {f"sources/{table}" for table in CONTRACTS} <= run.materialized
    assert (DOWNSTREAM.to_user_string() in run.materialized) == (not blocking)


@pytest.mark.parametrize(
    ("anomaly", "check", "expected_ids"),
    [
        (
            "duplicate_ids",
            "app__invoices.primary_key_is_unique_and_not_null",
            "select id from sources.app__invoices group by id having count(*) > 1",
        ),
        (
            "non_positive_amounts",
            "app__invoices.amount_is_positive_with_two_decimals",
            "select id from sources.app__invoices where amount <= 0",
        ),
        (
            "unknown_entity",
            "app__job_contracts.entity_is_accepted",
            "select id from sources.app__job_contracts where entity not in ('blue', 'green')",
        ),
        (
            "future_invoices",
            "app__invoices.no_invoice_after_the_as_of_date",
            f"select id from sources.app__invoices where issue_date > date '{AS_OF}'",
        ),
        (
            "dangling_foreign_key",
            "app__invoices.client_id_exists_in_app__clients",
            "select id from sources.app__invoices where client_id not in (select id from sources.app__clients)",
        ),
    ],
)
def test_a_failed_check_names_the_offending_rows(
    run_with: Callable[[str], Run], anomaly: str, check: str, expected_ids: str
) -> None:
    run = run_with(anomaly)
    assert run.sample_ids(check) == run.query(expected_ids)


def test_reference_gaps_list_the_missing_references(run_with: Callable[[str], Run]) -> None:
    run = run_with("reference_gaps")
    missing = str(run.metadata("app__invoices.references_run_in_sequence")["missing_references"]).split(", ")
    assert len(missing) == 3
    assert run.query(f"select reference from sources.app__invoices where reference in {tuple(missing)}") == []


def test_source_checks_are_blocking_exactly_as_the_rules_say() -> None:
    blocking = {spec.name: spec.blocking for check in source_checks for spec in check.check_specs}
    assert blocking == {rule.name: rule.blocking for rule in SOURCE_RULES}
    assert all(spec.description for check in source_checks for spec in check.check_specs)


# --- the marts reconcile --------------------------------------------------------------------

EXPORT = dg.AssetKey(["exports", "stand_in"])


def _turnover_mart(month_shift: str) -> dg.AssetsDefinition:
    @dg.asset(key=MONTHLY_TURNOVER, deps=[dg.AssetKey(["sources", "app__invoices"])])
    def kpi__monthly_turnover(duckdb: DuckDBResource) -> None:
        """Stands for the dbt mart; `month_shift` lets a test break it."""
        with duckdb.get_connection() as con:
            con.execute(
                "create schema if not exists marts;"
                "create or replace table marts.kpi__monthly_turnover as "
                f"select cast(date_trunc('month', issue_date {month_shift}) as date) as month, sum(amount) as amount "
                "from sources.app__invoices group by 1"
            )

    return kpi__monthly_turnover


@dg.asset(key=EXPORT, deps=[MONTHLY_TURNOVER])
def export_stand_in() -> None:
    """Stands for the exports downstream of the marts."""


@pytest.mark.parametrize(("month_shift", "reconciles"), [("", True), ("+ interval 1 month", False)])
def test_the_monthly_turnover_must_reconcile_with_the_invoices_before_export(
    run_with: Callable[[str], Run], month_shift: str, reconciles: bool
) -> None:
    database = run_with("").database
    result = dg.materialize(
        [_turnover_mart(month_shift), export_stand_in, *mart_checks],
        resources=_resources(database),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == reconciles
    exported = EXPORT in {event.asset_key for event in result.get_asset_materialization_events()}
    assert exported == reconciles
    if not reconciles:
        assert evaluation.metadata["offending_rows"].value > 0


# --- the whole pipeline: the real definitions, dbt included -------------------------------------


def _monthly_turnover_rows(data: Path) -> list[tuple]:
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        return con.sql("select * from marts.kpi__monthly_turnover order by month").fetchall()


def test_the_real_monthly_turnover_reconciles_with_the_generated_invoices(lakehouse: Path) -> None:
    result = monthly_turnover_reconciles_with_invoices(
        duckdb=DuckDBResource(database=str(lakehouse / "lakehouse" / "lakehouse.duckdb"))
    )
    assert result.passed and result.metadata["offending_rows"].value == 0


@pytest.fixture
def last_good_run(lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's clean lakehouse (the last good run), which the platform points at."""
    data = tmp_path / "data"
    shutil.copytree(lakehouse, data)
    monkeypatch.setenv("JUMP_DATA_DIR", str(data))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", CONFTEST_AS_OF.isoformat())
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    return data


def test_a_blocking_failure_in_the_pipeline_leaves_the_marts_as_the_last_good_run_left_them(
    last_good_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = last_good_run
    turnover = _monthly_turnover_rows(data)
    monkeypatch.setenv("JUMP_ANOMALIES", "duplicate_ids")

    summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())

    assert not summary.ok
    assert [(c["asset"], c["check"]) for c in summary.blocking_failures] == [
        ("sources/app__invoices", "primary_key_is_unique_and_not_null")
    ]
    assert "sources/app__invoices" in summary.materialized
    assert not [key for key in summary.materialized if key.split("/")[0] in ("staging", "intermediate", "marts", "exports")]
    assert _monthly_turnover_rows(data) == turnover


def test_a_check_whose_tables_are_missing_fails_and_says_so(tmp_path: Path) -> None:
    (rule,) = [rule for rule in SOURCE_RULES if rule.name == "user_id_exists_in_app__users"]
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        con.execute("create schema sources; create table sources.app__job_contracts (id varchar, user_id varchar)")
        result = evaluate_source_rule(con, rule, date(2026, 11, 21))
    assert not result.passed
    assert result.metadata["missing_tables"].value == "sources.app__users"


# --- a failed check publishes nothing and stops its rows for good; cross-table checks judge the current tables


def _deliver_invoice(data: Path, change: str) -> str:
    """Write an increment of one invoice to the landing zone: an existing invoice under a new id,
    with `change` applied (a SQL select list over the invoice `i` and its contract `c`). Returns its id."""
    new_id = "00000000-0000-4000-8000-000000000001"
    path = data / "sources" / "app" / "invoices" / "2026-12.csv"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        con.execute(
            f"copy (select '{new_id}' as id, i.job_contract_id, i.client_id, i.reference, {change} "
            "from sources.app__invoices i join sources.app__job_contracts c on c.id = i.job_contract_id "
            f"order by i.id limit 1) to '{path}' (header)"
        )
    return new_id


@pytest.mark.parametrize(
    ("change", "failing_check"),
    [
        # (a) a row breaking a single-table rule, loaded by `make load`, then `make transform`
        ("-i.amount as amount, i.issue_date", "amount_is_positive_with_two_decimals"),
        # (b) an invoices-only delivery: dated before its contract, judged against the contracts loaded earlier
        ("i.amount, c.start_date - 1 as issue_date", "issue_date_is_inside_the_job_contract"),
    ],
)
def test_a_failed_blocking_check_publishes_nothing_and_no_later_transform_builds_on_its_rows(
    last_good_run: Path, tmp_path: Path, change: str, failing_check: str
) -> None:
    data = last_good_run
    turnover = _monthly_turnover_rows(data)
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    bad_id = _deliver_invoice(data, change)

    load = run_job("load", instance=instance)

    assert [(c["asset"], c["check"]) for c in load.blocking_failures] == [("sources/app__invoices", failing_check)]
    # Every check of the invoices ran, the cross-table ones included, against the current tables.
    judged = {c["check"] for c in load.checks if c["asset"] == "sources/app__invoices"}
    assert judged == {rule.name for rule in SOURCE_RULES if rule.table == "app__invoices"}
    assert not [step for step in load.skipped_steps if "app__invoices" in step]
    # Nothing published; the delivery is rejected with the failed check as its reason.
    [rejected] = list((data / "sources" / "_rejected").rglob("2026-12.csv"))
    reason = rejected.with_name("2026-12.csv.error.txt").read_text()
    assert reason.startswith(f"not published: blocking check sources/app__invoices/{failing_check} failed")

    transform = run_job("transform", instance=instance)

    # The next run starts its build again from the published lakehouse: the refused row is not in it.
    assert transform.ok, transform.render("transform")
    with duckdb.connect(str(data / "lakehouse" / "build" / "lakehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from staging.app__invoices where invoice_id = ?", [bad_id]).fetchone() == (0,)
        assert con.execute("select count(*) from marts.kpi__monthly_turnover").fetchone()[0] > 0
    assert _monthly_turnover_rows(data) == turnover


@dg.asset(key=dg.AssetKey(["sources", "app__invoices"]))
def invoices_already_loaded() -> None:
    """Stands for the invoices already in the lakehouse."""


@pytest.mark.parametrize(("tag", "passes"), [(None, True), ("2025-01-31", False)])
def test_the_as_of_checks_judge_against_the_run_s_own_as_of_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str | None, passes: bool
) -> None:
    """An invoice of 2025-03-01 is in the future for a run tagged as of 2025-01-31 (a backfill),
    whatever JUMP_AS_OF says."""
    monkeypatch.setenv("JUMP_AS_OF", "2026-01-01")
    database = tmp_path / "lakehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create schema sources; create table sources.app__invoices as select 'i1' as id, date '2025-03-01' as issue_date"
        )
    (check,) = [c for c in source_checks if "no_invoice_after_the_as_of_date" in {s.name for s in c.check_specs}]
    key = dg.AssetCheckKey(dg.AssetKey(["sources", "app__invoices"]), "no_invoice_after_the_as_of_date")
    result = dg.materialize(
        [invoices_already_loaded, check],
        # The table's other rules share the step; only this one is judged here.
        selection=dg.AssetSelection.all().without_checks() | dg.AssetSelection.checks(key),
        resources={"duckdb": DuckDBResource(database=str(database))},
        tags={"jump/as_of": tag} if tag else {},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == passes
