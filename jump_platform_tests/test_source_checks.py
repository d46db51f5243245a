"""The source rules through Dagster: dbt's tests on the sources are asset checks of the source assets.

Generated sources pass them all; each anomaly fails its check, whose metadata names the offending
rows; a failed blocking check stops the models that read its table (dbt skips them), the exports and
the publish; a warning stops nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from jump_platform import engines, settings
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import demo_extracts, landing_key, load_sources, source_key
from jump_platform.defs.transform.assets import jump_dbt_models
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.lakehouse.build import FAILED, BuildState
from jump_platform.runner.cli import run_job
from jump_platform.sources.anomalies import ANOMALIES
from jump_platform.sources.contracts import CONTRACTS
from jump_platform_tests.conftest import AS_OF as CONFTEST_AS_OF
from jump_platform_tests.source_samples import EXPECTED_FAILURES

AS_OF = date(2025, 6, 30)
SCALE = "0.02"  # 20 freelancers, a few hundred invoices: enough to hold every kind of row
RULES = {f"{table}.{rule.name}": rule for table, contract in CONTRACTS.items() for rule in contract.rules}
WARNINGS = {"reference_gaps", "future_invoices", "empty_month"}


def _resources() -> dict[str, object]:
    return {**lakehouse_resources(), "dbt": dbt_resource()}


@dataclass(frozen=True)
class Run:
    database: Path
    materialized: set[str]
    checks: dict[str, dg.AssetCheckEvaluation]

    @property
    def source_checks(self) -> dict[str, dg.AssetCheckEvaluation]:
        return {name: evaluation for name, evaluation in self.checks.items() if name in RULES}

    @property
    def failed(self) -> dict[str, dg.AssetCheckEvaluation]:
        return {name: evaluation for name, evaluation in self.source_checks.items() if not evaluation.passed}

    def metadata(self, check: str) -> dict[str, object]:
        return {key: value.value for key, value in self.checks[check].metadata.items()}

    def sample_ids(self, check: str) -> list[str]:
        return sorted(str(self.metadata(check)["sample_ids"]).split(", "))

    def sample_rows(self, check: str) -> list[dict[str, object]]:
        return [record.data for record in self.checks[check].metadata["sample_rows"].records]

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[str]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return sorted(str(row[0]) for row in con.execute(sql, list(parameters)).fetchall())


@pytest.fixture(scope="module")
def run_with(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Run]]:
    """Generate and load the sources with `JUMP_ANOMALIES=<anomalies>` and build the staging models
    (the dbt step runs the tests on the sources first), once per value.

    Every value is built in the same data folder, then moved aside: dbt's target folder depends on
    the lakehouse's path (see `dbt_target_path`), so the runs after the first parse the project
    partially instead of in full."""
    runs: dict[str, Run] = {}
    folder = tmp_path_factory.mktemp("run_with")
    data_dir = folder / "data"

    def run(anomalies: str) -> Run:
        if anomalies not in runs:
            with pytest.MonkeyPatch.context() as env:
                for name, value in {
                    "JUMP_DATA_DIR": str(data_dir),
                    "JUMP_AS_OF": AS_OF.isoformat(),
                    "JUMP_SCALE": SCALE,
                    "JUMP_SEED": "42",
                    "JUMP_ANOMALIES": anomalies,
                }.items():
                    env.setenv(name, value)
                env.delenv("JUMP_DUCKDB_PATH", raising=False)
                result = dg.materialize(
                    [demo_extracts, load_sources, jump_dbt_models],
                    selection=dg.AssetSelection.assets(*(landing_key(t) for t in CONTRACTS), *(source_key(t) for t in CONTRACTS))
                    | dg.AssetSelection.groups("staging"),
                    resources=_resources(),
                    raise_on_error=False,
                )
                # Nothing here publishes: the run's data is in the build, as its checks saw it.
                build = settings.build_duckdb_path().relative_to(data_dir)
            kept = data_dir.rename(folder / (anomalies or "clean"))
            runs[anomalies] = Run(
                database=kept / build,
                materialized={event.asset_key.to_user_string() for event in result.get_asset_materialization_events()},
                checks={
                    f"{evaluation.asset_key.path[-1]}.{evaluation.check_name}": evaluation
                    for evaluation in result.get_asset_check_evaluations()
                },
            )
        return runs[anomalies]

    return run


def test_generated_sources_pass_every_check_and_reach_staging(run_with: Callable[[str], Run]) -> None:
    run = run_with("")
    assert set(run.source_checks) == set(RULES)
    assert run.failed == {}
    assert {f"staging/{table}" for table in CONTRACTS} <= run.materialized


@pytest.mark.parametrize("anomaly", list(ANOMALIES))
def test_each_anomaly_fails_only_its_matching_check(run_with: Callable[[str], Run], anomaly: str) -> None:
    run = run_with(anomaly)
    assert set(run.failed) == EXPECTED_FAILURES[anomaly]
    for check in run.failed:
        assert run.metadata(check)["offending_rows"] > 0 and run.sample_ids(check)
        assert run.metadata(check)["dagster_dbt/failed_row_count"] == run.metadata(check)["offending_rows"]


@pytest.mark.parametrize("anomaly", list(ANOMALIES))
def test_a_failed_blocking_check_stops_the_models_reading_its_table_and_a_warning_does_not(
    run_with: Callable[[str], Run], anomaly: str
) -> None:
    run = run_with(anomaly)
    blocked = {
        name.split(".")[0] for name, evaluation in run.failed.items() if evaluation.severity == dg.AssetCheckSeverity.ERROR
    }
    assert bool(blocked) == (anomaly not in WARNINGS)
    assert {f"sources/{table}" for table in CONTRACTS} <= run.materialized
    for table in CONTRACTS:
        assert (f"staging/{table}" in run.materialized) == (table not in blocked), table


@pytest.mark.parametrize(
    ("anomaly", "check", "expected_ids", "parameters"),
    [
        (
            "duplicate_ids",
            "app__invoices.primary_key_is_unique_and_not_null",
            "select id from sources.app__invoices group by id having count(*) > 1",
            [],
        ),
        (
            "non_positive_amounts",
            "app__invoices.amount_is_positive_with_two_decimals",
            "select id from sources.app__invoices where amount <= 0",
            [],
        ),
        (
            "unknown_entity",
            "app__job_contracts.entity_is_accepted",
            "select id from sources.app__job_contracts where entity not in (?, ?)",
            ["blue", "green"],
        ),
        (
            "future_invoices",
            "app__invoices.no_invoice_after_the_as_of_date",
            "select id from sources.app__invoices where issue_date > ?",
            [AS_OF],
        ),
        (
            "dangling_foreign_key",
            "app__invoices.client_id_exists_in_app__clients",
            "select id from sources.app__invoices where client_id not in (select id from sources.app__clients)",
            [],
        ),
    ],
)
def test_a_failed_check_names_the_offending_rows(
    run_with: Callable[[str], Run], anomaly: str, check: str, expected_ids: str, parameters: list[object]
) -> None:
    run = run_with(anomaly)
    assert run.sample_ids(check) == run.query(expected_ids, parameters)
    assert [row["offending_key"] for row in run.sample_rows(check)] == run.query(expected_ids, parameters)


def test_reference_gaps_name_the_missing_references(run_with: Callable[[str], Run]) -> None:
    run = run_with("reference_gaps")
    (row,) = run.sample_rows("app__invoices.references_run_in_sequence")
    first, last = row["missing_references"].split(" to ")
    assert row["problem"] == "after a gap" and int(last[3:]) - int(first[3:]) == 2
    assert run.query("select reference from sources.app__invoices where reference between ? and ?", [first, last]) == []


def test_the_checks_of_the_sources_block_exactly_as_the_contracts_say() -> None:
    specs = {
        f"{spec.asset_key.path[-1]}.{spec.name}": spec
        for spec in jump_dbt_models.check_specs
        if spec.asset_key.path[0] == "sources"
    }
    assert {name: spec.blocking for name, spec in specs.items()} == {name: rule.blocking for name, rule in RULES.items()}
    for name, spec in specs.items():
        assert spec.description.startswith(RULES[name].description), name
        # A check reads the other tables as they are: it waits for no other table to be loaded.
        assert not spec.additional_deps, name


# --- the whole pipeline: the real definitions, dbt included -------------------------------------


def _monthly_turnover_rows(data: Path) -> list[tuple]:
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        return con.sql("select * from marts.kpi__monthly_turnover order by month").fetchall()


@pytest.fixture
def last_good_run(lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's clean lakehouse (the last good run), which the platform points at.
    Its build is a clean copy of the published snapshot, which the next run goes on from."""
    data = tmp_path / "data"
    shutil.copytree(lakehouse, data)
    monkeypatch.setenv("JUMP_DATA_DIR", str(data))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", CONFTEST_AS_OF.isoformat())
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    return data


def _in_build(data: Path, sql: str) -> None:
    with duckdb.connect(str(data / "lakehouse" / "build" / "lakehouse.duckdb")) as con:
        con.execute(sql)


def _checks_only(*checks: dg.AssetCheckKey, tags: dict[str, str] | None = None) -> dict[str, dg.AssetCheckEvaluation]:
    """Run only these checks of the dbt step (dbt runs their tests alone) on the build."""
    result = dg.materialize(
        [jump_dbt_models],
        selection=dg.AssetSelection.checks(*checks),
        resources=_resources(),
        tags=tags or {},
        raise_on_error=False,
    )
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def test_a_blocking_failure_in_the_pipeline_leaves_the_marts_as_the_last_good_run_left_them(
    last_good_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jump_platform.definitions import defs

    data = last_good_run
    turnover = _monthly_turnover_rows(data)
    monkeypatch.setenv("JUMP_ANOMALIES", "duplicate_ids")

    summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())

    assert not summary.ok and not summary.published
    assert [(c["asset"], c["check"]) for c in summary.blocking_failures] == [
        ("sources/app__invoices", "primary_key_is_unique_and_not_null")
    ]
    assert "sources/app__invoices" in summary.materialized
    # dbt built nothing that reads the invoices (what does not read them went into the build, which
    # the failed audit leaves unpublished).
    invoices = dg.AssetSelection.assets(source_key("app__invoices"))
    downstream = (invoices.downstream() - invoices).resolve(defs().resolve_asset_graph())
    assert not {key.to_user_string() for key in downstream} & set(summary.materialized)
    assert _monthly_turnover_rows(data) == turnover


def test_a_check_whose_tables_are_missing_fails_and_says_so(last_good_run: Path) -> None:
    _in_build(last_good_run, "drop table sources.app__users cascade")

    checks = _checks_only(dg.AssetCheckKey(source_key("app__job_contracts"), "user_id_exists_in_app__users"))

    evaluation = checks["user_id_exists_in_app__users"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "app__users" in evaluation.metadata["error"].value and "does not exist" in evaluation.metadata["error"].value


@pytest.mark.parametrize(("tag", "passes"), [(None, True), ("2025-01-31", False)])
def test_the_as_of_checks_judge_against_the_run_s_own_as_of_date(last_good_run: Path, tag: str | None, passes: bool) -> None:
    """The session's invoices run up to JUMP_AS_OF (2026-11-21): many are in the future for a run
    tagged as of 2025-01-31 (a backfill)."""
    key = dg.AssetCheckKey(source_key("app__invoices"), "no_invoice_after_the_as_of_date")

    checks = _checks_only(key, tags={"jump/as_of": tag} if tag else None)

    evaluation = checks["no_invoice_after_the_as_of_date"]
    assert evaluation.passed == passes and not evaluation.blocking
    if not passes:
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        assert {row.data["as_of_date"] for row in evaluation.metadata["sample_rows"].records} == {tag}


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
        # (c) the largest amount the file check and decimal(18,2) accept: summed with its month's
        # invoices it overflowed decimal(18,2) and crashed the build (issue 18); now refused by name
        ("9999999999999999.99 as amount, i.issue_date", "amount_is_at_most_the_maximum"),
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
    assert judged == {rule.name for rule in CONTRACTS["app__invoices"].rules}
    # The dbt step ran them although the load delivered invoices only (`make load` selects what it delivers).
    assert "jump_dbt_models" not in load.skipped_steps
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


def test_a_transform_judges_the_sources_again_whatever_loaded_them(last_good_run: Path, tmp_path: Path) -> None:
    """Invoices loaded without their checks (the load alone, from the UI, say): the next transform runs
    the tests of the sources in its dbt build, refuses to build on them, and publishes nothing."""
    data = last_good_run
    turnover = _monthly_turnover_rows(data)
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    bad_id = _deliver_invoice(data, "-i.amount as amount, i.issue_date")
    loaded = dg.materialize(
        [load_sources],
        selection=dg.AssetSelection.assets(source_key("app__invoices")).without_checks(),
        resources=_resources(),
        instance=instance,
    )
    assert loaded.success and not loaded.get_asset_check_evaluations()

    transform = run_job("transform", instance=instance)

    assert [(c["asset"], c["check"]) for c in transform.blocking_failures] == [
        ("sources/app__invoices", "amount_is_positive_with_two_decimals")
    ]
    assert not transform.published and "staging/app__invoices" not in transform.materialized
    # dbt built no table from the refused row; the failed build is started again by the next run.
    with duckdb.connect(str(data / "lakehouse" / "build" / "lakehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_invoices where invoice_id = ?", [bad_id]).fetchone() == (0,)
    assert BuildState.load(engines.current().layout()).status == FAILED
    assert _monthly_turnover_rows(data) == turnover


def test_a_rule_failed_in_a_load_names_the_file_and_line_of_each_offending_row(last_good_run: Path, tmp_path: Path) -> None:
    """A batch refused by a data rule: the file holding the offending rows says which lines; the
    others of the batch say only which rule failed."""
    data = last_good_run
    increment = data / "sources" / "app" / "invoices" / "2026-12.csv"
    increment.parent.mkdir(parents=True)
    bad_id, good_id = "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        # Two invoices copied from an existing one under new ids and references; the second negative.
        con.execute(
            "copy (select case n when 1 then ? else ? end as id, job_contract_id, client_id, "
            "'JMP9' || lpad(cast(n as varchar), 7, '0') as reference, "
            "case n when 1 then amount else -amount end as amount, issue_date "
            "from (select * from sources.app__invoices order by id limit 1), range(1, 3) as r(n) order by n) "
            f"to '{increment}' (header)",
            [good_id, bad_id],
        )
    users = data / "sources" / "app" / "users" / "2026-12.csv"
    users.parent.mkdir(parents=True)
    users.write_text("id,first_name,last_name,email\n00000000-0000-4000-8000-0000000000aa,Ana,Durand,ana.durand@example.fr\n")
    (tmp_path / "dagster_home").mkdir()

    load = run_job("load", instance=dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")))

    assert ("sources/app__invoices", "amount_is_positive_with_two_decimals") in [
        (c["asset"], c["check"]) for c in load.blocking_failures
    ]
    [invoices] = list((data / "sources" / "_rejected").rglob("invoices/2026-12.csv.error.txt"))
    invoices_reason = invoices.read_text()
    assert invoices_reason.startswith("not published: blocking check sources/app__invoices/amount_is_positive_with_two_decimals")
    assert f"line 3 ({bad_id})" in invoices_reason and good_id not in invoices_reason
    [users_reason] = list((data / "sources" / "_rejected").rglob("users/2026-12.csv.error.txt"))
    assert "amount_is_positive" in users_reason.read_text() and "line " not in users_reason.read_text()
