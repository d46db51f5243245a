"""Every business rule passes on clean data and fails, naming the right rows, on the data it exists to catch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from jump_platform.sources import rules
from jump_platform.sources.rules import SOURCE_RULES, RuleResult, evaluate_source_rules
from jump_platform_tests.source_samples import AS_OF, clean_source_tables, write_sources

Tables = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def clean() -> Tables:
    return clean_source_tables()


def sources_with(tables: Tables, **changes: Callable[[pl.DataFrame], pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory lakehouse holding `tables`, each table changed by the function named after it."""
    con = duckdb.connect()
    write_sources(con, {name: changes.get(name, lambda frame: frame)(frame) for name, frame in tables.items()})
    return con


def set_where(frame: pl.DataFrame, row_id: str, **values: object) -> pl.DataFrame:
    """Set columns on the row whose id is `row_id`."""
    return frame.with_columns(
        **{
            column: pl.when(pl.col("id") == row_id).then(pl.lit(value, frame.schema[column])).otherwise(pl.col(column))
            for column, value in values.items()
        }
    )


def append_copy(frame: pl.DataFrame, row_id: str, **values: object) -> pl.DataFrame:
    return pl.concat([frame, set_where(frame.filter(pl.col("id") == row_id), row_id, **values)])


def failing(con: duckdb.DuckDBPyConnection, as_of: date = AS_OF) -> dict[str, RuleResult]:
    return {f"{table}.{name}": result for (table, name), result in evaluate_source_rules(con, as_of).items() if not result.passed}


@pytest.mark.parametrize("rule", SOURCE_RULES, ids=lambda rule: f"{rule.table}.{rule.name}")
def test_every_source_rule_passes_on_clean_data(clean: Tables, rule: rules.SourceRule) -> None:
    result = rule.evaluate(sources_with(clean), "sources", AS_OF)
    assert result.passed, result
    assert result.sample_ids == []


def test_the_catalogue_covers_every_table_and_foreign_key_of_the_contracts() -> None:
    names = {(rule.table, rule.name) for rule in SOURCE_RULES}
    for table in ("app__users", "app__clients", "app__job_contracts", "app__invoices", "crm__customers"):
        assert (table, "primary_key_is_unique_and_not_null") in names
    assert ("app__users", "last_name_first_name_email_is_unique_and_not_null") in names
    assert {name for table, name in names if "_exists_in_" in name} == {
        "user_id_exists_in_app__users",
        "job_contract_id_exists_in_app__job_contracts",
        "client_id_exists_in_app__clients",
    }
    blocking = {rule.name: rule.blocking for rule in SOURCE_RULES}
    assert not blocking["references_run_in_sequence"]
    assert not blocking["no_invoice_after_the_as_of_date"]
    assert blocking["job_contracts_never_overlap"] and blocking["satisfaction_score_is_between_0_and_10"]


# --- primary keys ---------------------------------------------------------------------------


def test_an_id_twice_in_one_delivery_fails_the_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: append_copy(f, "inv03"))
    result = rules.primary_key_is_unique_and_not_null(con, "sources.app__invoices", ("id",))
    assert (result.passed, result.offending_rows, result.sample_ids) == (False, 2, ["inv03"])
    assert result.extras == {"duplicated_keys": 1, "null_keys": 0}
    assert set(failing(con)) == {"app__invoices.primary_key_is_unique_and_not_null"}


def test_a_new_version_of_an_id_in_a_later_delivery_passes_and_is_the_one_judged(clean: Tables) -> None:
    con = sources_with(clean)
    corrected = clean["app__invoices"].filter(pl.col("id") == "inv03").with_columns(amount=pl.lit(Decimal("-1")))
    write_sources(con, {"app__invoices": corrected}, schema="batch2", batch_id="batch-2")
    con.execute(
        "update batch2.app__invoices set _loaded_at = timestamptz '2025-04-01 06:00:00+00';"
        "insert into sources.app__invoices select * from batch2.app__invoices"
    )
    assert rules.primary_key_is_unique_and_not_null(con, "sources.app__invoices", ("id",)).passed
    assert set(failing(con)) == {"app__invoices.amount_is_positive_with_two_decimals"}
    assert failing(con)["app__invoices.amount_is_positive_with_two_decimals"].sample_ids == ["inv03"]


def test_a_null_id_fails_the_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, app__clients=lambda f: set_where(f, "cl2", id=None))
    result = rules.primary_key_is_unique_and_not_null(con, "sources.app__clients", ("id",))
    assert (result.offending_rows, result.sample_ids, result.extras["null_keys"]) == (1, ["<null>"], 1)


def test_a_crm_customer_twice_fails_the_composite_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, crm__customers=lambda f: pl.concat([f, f.filter(pl.col("last_name") == "Martin")]))
    result = rules.primary_key_is_unique_and_not_null(con, "sources.crm__customers", ("last_name", "first_name", "email"))
    assert (result.offending_rows, result.sample_ids) == (2, ["Martin | Jean | jean.martin@example.fr"])


def test_two_users_with_the_same_names_and_email_fail_the_users_triple_rule(clean: Tables) -> None:
    con = sources_with(clean, app__users=lambda f: append_copy(f, "u2", id="u5"))
    assert set(failing(con)) == {"app__users.last_name_first_name_email_is_unique_and_not_null"}
    result = failing(con)["app__users.last_name_first_name_email_is_unique_and_not_null"]
    assert result.sample_ids == ["Martin | Jean | jean.martin@example.fr"]


# --- referential integrity ------------------------------------------------------------------


def test_a_contract_of_an_unknown_user_fails_referential_integrity(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc3", user_id="u404"))
    result = rules.foreign_key_resolves(con, "sources.app__job_contracts", ("id",), "user_id", "sources.app__users", "id")
    assert (result.offending_rows, result.sample_ids, result.extras["sample_missing_values"]) == (1, ["jc3"], ["u404"])


@pytest.mark.parametrize(
    ("column", "rule_name"),
    [("job_contract_id", "job_contract_id_exists_in_app__job_contracts"), ("client_id", "client_id_exists_in_app__clients")],
)
def test_an_invoice_pointing_to_a_missing_row_fails_referential_integrity(clean: Tables, column: str, rule_name: str) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv05", **{column: "missing"}))
    assert set(failing(con)) == {f"app__invoices.{rule_name}"}
    assert failing(con)[f"app__invoices.{rule_name}"].sample_ids == ["inv05"]


def test_a_null_foreign_key_fails_referential_integrity(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv05", client_id=None))
    result = rules.foreign_key_resolves(con, "sources.app__invoices", ("id",), "client_id", "sources.app__clients", "id")
    assert (result.sample_ids, result.extras["sample_missing_values"]) == (["inv05"], ["<null>"])


# --- job contracts --------------------------------------------------------------------------


def test_overlapping_contracts_of_one_freelancer_fail(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc2", start_date=date(2024, 6, 30)))
    result = rules.job_contracts_do_not_overlap(con)
    assert (result.offending_rows, result.sample_ids) == (2, ["jc1", "jc2"])
    assert result.extras["sample_pairs"] == ["jc1 & jc2"]
    assert result.extras["freelancers_with_several_open_contracts"] == 0


def test_a_contract_starting_after_an_open_one_overlaps_it_because_open_runs_forever(clean: Tables) -> None:
    later = pl.DataFrame(
        [("jc9", "u3", "blue", date(2030, 1, 1), date(2030, 12, 31))], schema=clean["app__job_contracts"].schema, orient="row"
    )
    con = sources_with(clean, app__job_contracts=lambda f: pl.concat([f, later]))
    assert rules.job_contracts_do_not_overlap(con).sample_ids == ["jc4", "jc9"]


def test_two_open_contracts_of_one_freelancer_fail(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc1", end_date=None))
    result = rules.job_contracts_do_not_overlap(con)
    assert result.sample_ids == ["jc1", "jc2"]
    assert result.extras["freelancers_with_several_open_contracts"] == 1


def test_contracts_of_different_freelancers_may_overlap(clean: Tables) -> None:
    # jc3 (u2) and jc4 (u3) overlap in the clean data, and jc1 ends the day before jc2 starts.
    assert rules.job_contracts_do_not_overlap(sources_with(clean)).passed


def test_a_contract_ending_before_it_starts_fails(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc3", end_date=date(2024, 1, 31)))
    result = rules.job_contracts_start_before_they_end(con)
    assert (result.offending_rows, result.sample_ids) == (1, ["jc3"])


@pytest.mark.parametrize("entity", ["purple", "Blue", None])
def test_an_entity_other_than_blue_or_green_fails(clean: Tables, entity: str | None) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc2", entity=entity))
    assert set(failing(con)) == {"app__job_contracts.entity_is_accepted"}
    result = failing(con)["app__job_contracts.entity_is_accepted"]
    assert (result.sample_ids, result.extras["unexpected_values"]) == (["jc2"], [entity or "<null>"])


# --- invoices -------------------------------------------------------------------------------


@pytest.mark.parametrize("issued", [date(2023, 12, 31), date(2024, 7, 1)])
def test_an_invoice_outside_its_contract_period_fails(clean: Tables, issued: date) -> None:
    # inv01 belongs to jc1, which runs from 2024-01-01 to 2024-06-30.
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv01", issue_date=issued))
    result = rules.invoices_fall_inside_their_contract(con)
    assert (result.offending_rows, result.sample_ids) == (1, ["inv01"])


def test_an_invoice_years_into_an_open_contract_is_inside_it(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", issue_date=date(2031, 1, 1)))
    assert rules.invoices_fall_inside_their_contract(con).passed


def test_zero_and_negative_amounts_fail(clean: Tables) -> None:
    def break_amounts(frame: pl.DataFrame) -> pl.DataFrame:
        return set_where(set_where(frame, "inv02", amount=Decimal("0")), "inv09", amount=Decimal("-12.50"))

    con = sources_with(clean, app__invoices=break_amounts)
    result = rules.invoice_amounts_are_positive_with_two_decimals(con)
    assert (result.sample_ids, result.extras["non_positive_amounts"]) == (["inv02", "inv09"], 2)


def test_an_amount_with_three_decimals_fails(clean: Tables) -> None:
    def three_decimals(frame: pl.DataFrame) -> pl.DataFrame:
        return set_where(frame.with_columns(pl.col("amount").cast(pl.Float64)), "inv04", amount=12.345)

    result = rules.invoice_amounts_are_positive_with_two_decimals(sources_with(clean, app__invoices=three_decimals))
    assert (result.sample_ids, result.extras["amounts_with_more_than_2_decimals"]) == (["inv04"], 1)


def test_missing_reference_numbers_fail_and_are_listed(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: f.filter(~pl.col("id").is_in(["inv05", "inv06", "inv11"])))
    result = rules.invoice_references_run_in_sequence(con)
    assert result.sample_ids == ["inv07", "inv12"]  # the invoices right after each gap
    assert result.extras["missing_references"] == ["JMP00005", "JMP00006", "JMP00011"]
    assert result.extras["missing_numbers"] == 3


def test_a_sequence_not_starting_at_one_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: f.filter(pl.col("id") != "inv01"))
    result = rules.invoice_references_run_in_sequence(con)
    assert (result.sample_ids, result.extras["missing_references"]) == (["inv02"], ["JMP00001"])


@pytest.mark.parametrize("reference", ["INV00004", "JMP-0004", "jmp00004", "JMP"])
def test_a_reference_not_made_of_jmp_and_digits_fails(clean: Tables, reference: str) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv04", reference=reference))
    result = rules.invoice_references_run_in_sequence(con)
    # inv04 is malformed, which leaves number 4 missing before inv05.
    assert result.sample_ids == ["inv04", "inv05"]
    assert result.extras["malformed_references"] == 1


def test_a_repeated_reference_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", reference="JMP00015"))
    result = rules.invoice_references_run_in_sequence(con)
    assert (result.sample_ids, result.extras["repeated_references"]) == (["inv16"], 1)


def test_a_reference_wider_than_five_digits_is_well_formed(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", reference="JMP000016"))
    assert rules.invoice_references_run_in_sequence(con).passed


# --- dates ----------------------------------------------------------------------------------


def test_an_invoice_after_the_as_of_date_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", issue_date=date(2025, 4, 1)))
    assert set(failing(con)) == {"app__invoices.no_invoice_after_the_as_of_date"}
    result = failing(con)["app__invoices.no_invoice_after_the_as_of_date"]
    assert (result.sample_ids, result.extras["latest_issue_date"]) == (["inv16"], "2025-04-01")
    assert rules.nothing_dated_after(con, "sources.app__invoices", ("id",), "issue_date", date(2025, 4, 1)).passed


def test_a_contract_starting_after_the_as_of_date_fails(clean: Tables) -> None:
    con = sources_with(clean)
    result = rules.nothing_dated_after(con, "sources.app__job_contracts", ("id",), "start_date", date(2024, 6, 30))
    assert result.sample_ids == ["jc2"]


# --- CRM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [11, -1])
def test_a_satisfaction_score_outside_0_to_10_fails(clean: Tables, score: int) -> None:
    def rescore(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            satisfaction_score=pl.when(pl.col("last_name") == "Petit").then(score).otherwise("satisfaction_score")
        )

    con = sources_with(clean, crm__customers=rescore)
    assert set(failing(con)) == {"crm__customers.satisfaction_score_is_between_0_and_10"}
    result = failing(con)["crm__customers.satisfaction_score_is_between_0_and_10"]
    assert (result.sample_ids, result.extras["unexpected_values"]) == (["Petit | Lou | lou.petit@example.org"], [str(score)])


# --- marts ----------------------------------------------------------------------------------


def _monthly_turnover(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create schema if not exists marts;"
        "create or replace table marts.kpi__monthly_turnover as "
        "select cast(date_trunc('month', issue_date) as date) as month, sum(amount) as amount "
        "from sources.app__invoices group by 1"
    )


def test_the_monthly_turnover_reconciles_with_the_invoices(clean: Tables) -> None:
    con = sources_with(clean)
    _monthly_turnover(con)
    con.execute("insert into marts.kpi__monthly_turnover values (date '2023-12-01', 0)")  # an empty month
    result = rules.monthly_turnover_reconciles(con)
    assert result.passed, result
    assert result.extras["mart_total"] == result.extras["invoices_total"] == float(clean["app__invoices"]["amount"].sum())


def test_a_monthly_turnover_that_lost_an_amount_fails_reconciliation(clean: Tables) -> None:
    con = sources_with(clean)
    _monthly_turnover(con)
    con.execute("update marts.kpi__monthly_turnover set amount = amount - 0.01 where month = date '2024-05-01'")
    con.execute("delete from marts.kpi__monthly_turnover where month = date '2024-09-01'")
    result = rules.monthly_turnover_reconciles(con)
    assert (result.offending_rows, result.sample_ids) == (2, ["2024-05-01", "2024-09-01"])
    assert round(result.extras["invoices_total"] - result.extras["mart_total"], 2) == 1111.12
