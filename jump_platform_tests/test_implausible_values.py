"""A value the contract accepts never crashes the build; an implausible one is refused, by name.

Issue 18, items 3 and 5: two invoices of 9,999,999,999,999,999.99 each (the largest decimal(18,2))
made `intermediate.freelancer_entity_months` fail with "Casting value ... out of range", and a job
contract from 0001-01-01 to 0001-12-31 passed every check and stretched `marts.dim_dates` over the
centuries. Here `dbt build` runs, as a run does, on the clean hand-made sources with one such change:
the build must stop at the named rule of the contract (a failed test on the source, with its
offending rows), and no model may error or be built from the bad rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from jump_platform import settings
from jump_platform.sources.contracts import FIRST_BUSINESS_DAY, MAX_INVOICE_AMOUNT, PLAUSIBLE_YEARS_AFTER_LOAD
from jump_platform.sources.generator.params import HISTORY_START
from jump_platform_tests.source_samples import AS_OF, clean_source_tables, write_sources

LARGEST_DECIMAL_18_2 = Decimal("9999999999999999.99")


def dbt_build(workdir: Path, change: Callable[[dict[str, pl.DataFrame]], dict[str, pl.DataFrame]]) -> dict[str, dict]:
    """`dbt build` as of AS_OF on a lakehouse holding the clean sample changed by `change`: its
    results (status, message, failures), by `<resource type>.<name>` (`model.dim_dates`,
    `test.amount_is_at_most_the_maximum`; a unit test is `unit_test.<model>.<name>`)."""
    database = workdir / "lakehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        write_sources(con, change(clean_source_tables()))
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--vars",
            json.dumps({"as_of_date": AS_OF.isoformat()}),
            "--project-dir",
            str(settings.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(settings.DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env={**os.environ, "JUMP_BUILD_DUCKDB_PATH": str(database)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    run_results = json.loads((workdir / "target" / "run_results.json").read_text())
    return {_node_name(result["unique_id"]): result for result in run_results["results"]}


def _node_name(unique_id: str) -> str:
    kind, _project, *names = unique_id.split(".")
    # A data test's id ends with a hash of its arguments; a unit test's names its model and itself.
    return ".".join([kind, *(names[:1] if kind == "test" else names)])


def statuses(results: dict[str, dict], status: str) -> dict[str, str]:
    return {name: result["message"] for name, result in results.items() if result["status"] == status}


def with_huge_amounts(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    invoices = tables["app__invoices"]
    huge = pl.col("id").is_in(["inv03", "inv11"])
    amount = pl.when(huge).then(pl.lit(LARGEST_DECIMAL_18_2, invoices.schema["amount"])).otherwise("amount")
    return {**tables, "app__invoices": invoices.with_columns(amount=amount)}


def with_year_one_contract(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    contracts = tables["app__job_contracts"]
    row = pl.DataFrame([("jc9", "u4", "blue", date(1, 1, 1), date(1, 12, 31))], schema=contracts.schema, orient="row")
    return {**tables, "app__job_contracts": pl.concat([contracts, row])}


def at_the_bounds(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The most extreme values the contracts accept: a blue month of 0.01 followed by one of two
    invoices at the maximum (the largest month-over-month change), a contract starting on Jump's
    first day, an invoice issued in advance on the last plausible day."""
    invoices, contracts = tables["app__invoices"], tables["app__job_contracts"]
    amounts = {"inv01": Decimal("0.01"), "inv02": MAX_INVOICE_AMOUNT, "inv03": MAX_INVOICE_AMOUNT}
    amount = pl.col("id").replace_strict(amounts, default=pl.col("amount"), return_dtype=invoices.schema["amount"])
    # The sample's rows are delivered on AS_OF (source_samples.write_sources).
    last_day = AS_OF.replace(year=AS_OF.year + PLAUSIBLE_YEARS_AFTER_LOAD)
    issued = pl.when(pl.col("id") == "inv16").then(pl.lit(last_day)).otherwise("issue_date")
    first = pl.DataFrame([("jc9", "u4", "blue", FIRST_BUSINESS_DAY, date(2019, 12, 31))], schema=contracts.schema, orient="row")
    return {
        **tables,
        "app__invoices": invoices.with_columns(amount=amount, issue_date=issued),
        "app__job_contracts": pl.concat([contracts, first]),
    }


@pytest.fixture(scope="module")
def build_changed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Callable], tuple[dict[str, dict], Path]]:
    """`dbt_build` for the module's changed samples, one after the other in one work folder: the same
    lakehouse path and target folder each time, so that dbt parses the project once, then partially
    (a lakehouse path of its own would be a profile of its own, parsed whole). Returns the results
    and the built lakehouse, moved aside for the next build."""
    workdir = tmp_path_factory.mktemp("dbt_builds")

    def build(change: Callable[[dict[str, pl.DataFrame]], dict[str, pl.DataFrame]]) -> tuple[dict[str, dict], Path]:
        database = workdir / "lakehouse.duckdb"
        results = dbt_build(workdir, change)
        kept = database.rename(workdir / f"{change.__name__}.duckdb")
        return results, kept

    return build


@pytest.fixture(scope="module")
def bounds(build_changed: Callable[[Callable], tuple[dict[str, dict], Path]]) -> tuple[dict[str, dict], Path]:
    return build_changed(at_the_bounds)


@pytest.fixture(scope="module")
def huge_amounts(build_changed: Callable[[Callable], tuple[dict[str, dict], Path]]) -> dict[str, dict]:
    return build_changed(with_huge_amounts)[0]


@pytest.fixture(scope="module")
def year_one_contract(build_changed: Callable[[Callable], tuple[dict[str, dict], Path]]) -> dict[str, dict]:
    return build_changed(with_year_one_contract)[0]


def test_amounts_whose_sum_overflows_decimal_18_2_crash_no_model(huge_amounts: dict[str, dict]) -> None:
    assert statuses(huge_amounts, "error") == {}


def test_amounts_above_the_maximum_stop_the_build_at_their_named_rule(huge_amounts: dict[str, dict]) -> None:
    assert list(statuses(huge_amounts, "fail")) == ["test.amount_is_at_most_the_maximum"]
    assert huge_amounts["test.amount_is_at_most_the_maximum"]["failures"] == 2
    # No model read the refused invoices: every sum of amounts was left unbuilt.
    for model in ("freelancer_entity_months", "kpi__monthly_turnover", "kpi__freelancer_cumulative_turnover"):
        assert huge_amounts[f"model.{model}"]["status"] == "skipped", model


def test_a_contract_dated_in_year_one_stops_the_build_at_the_plausible_date_rules(
    year_one_contract: dict[str, dict],
) -> None:
    assert statuses(year_one_contract, "error") == {}
    assert sorted(statuses(year_one_contract, "fail")) == ["test.end_date_is_plausible", "test.start_date_is_plausible"]
    # The calendar and the month grids are not stretched back to year one: they are not built.
    for model in ("dim_dates", "job_contract_months", "kpi__freelancer_movements"):
        assert year_one_contract[f"model.{model}"]["status"] == "skipped", model


def test_the_spines_start_on_the_first_business_day_and_reach_past_every_plausible_date() -> None:
    dbt_vars = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert dbt_vars["first_business_day"] == FIRST_BUSINESS_DAY.isoformat() == HISTORY_START.isoformat()
    # dim_dates runs to the end of the year of the latest date: one year beyond the rule's bound.
    assert dbt_vars["spine_years_after_as_of"] >= PLAUSIBLE_YEARS_AFTER_LOAD + 1


def test_no_sum_of_a_lakehouses_worth_of_maximal_amounts_overflows_decimal_18_2() -> None:
    # Up to 10^10 - 1 invoices at the maximum: a thousand times the bench's largest lakehouse (~10M).
    largest_sum = MAX_INVOICE_AMOUNT * (10**10 - 1)
    assert largest_sum <= LARGEST_DECIMAL_18_2


def test_the_most_extreme_values_the_contracts_accept_build_every_model(bounds: tuple[dict[str, dict], Path]) -> None:
    results, database = bounds
    # Only the warning of the invoice issued in advance; every model, rule and reconciliation passes.
    assert {
        name: result["status"] for name, result in results.items() if result["status"] not in ("success", "pass", "no-op")
    } == {"test.no_invoice_after_the_as_of_date": "warn"}
    with duckdb.connect(str(database), read_only=True) as con:
        ((first_day, last_day),) = con.sql("select min(date_day), max(date_day) from marts.dim_dates").fetchall()
        ((change,),) = con.sql(
            "select turnover_change_pct from marts.kpi__monthly_turnover_by_entity "
            "where entity = 'blue' and month = date '2024-02-01'"
        ).fetchall()
    # The calendar starts on the first plausible day and ends with the year of the last one.
    assert (first_day, last_day) == (FIRST_BUSINESS_DAY, date(AS_OF.year + PLAUSIBLE_YEARS_AFTER_LOAD, 12, 31))
    assert change == Decimal("19999999900.00")  # 100 * (2,000,000.00 - 0.01) / 0.01
