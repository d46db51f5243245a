"""Every business rule of the sources (a dbt test on the source, declared in the contracts) passes on
clean data and fails, naming the right rows, on the data it exists to catch.

The tests run the compiled dbt tests on small in-memory lakehouses (`source_rules.py`): dbt's own
SQL, without a dbt run per case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sql import qualified
from jump_platform_tests.source_rules import Verdict, compiled_source_tests, failing, judge, run_test
from jump_platform_tests.source_samples import AS_OF, clean_source_tables, write_sources

Tables = dict[str, pl.DataFrame]
RULES = sorted(f"{table}.{rule.name}" for table, contract in CONTRACTS.items() for rule in contract.rules)


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


def deliver_later(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, same_time: bool = False) -> None:
    """Append `rows` to `sources.<table>` as a later delivery (batch-2, loaded a day after batch-1,
    or at the same time when `same_time`: then the batch id orders the versions)."""
    write_sources(con, {table: rows}, schema="batch2", batch_id="batch-2")
    if not same_time:
        con.execute(f"update {qualified('batch2', table)} set _loaded_at = timestamptz '2025-04-01 06:00:00+00'")
    con.execute(f"insert into {qualified('sources', table)} select * from {qualified('batch2', table)}")


def only_failure(con: duckdb.DuckDBPyConnection, as_of: date = AS_OF) -> tuple[str, Verdict]:
    """The one rule that fails on `con` (the test fails if it is not exactly one)."""
    (found,) = failing(con, as_of).items()
    return found


def rule(con: duckdb.DuckDBPyConnection, key: str, as_of: date = AS_OF) -> Verdict:
    return run_test(con, compiled_source_tests(as_of)[key])


@pytest.mark.parametrize("key", RULES)
def test_every_source_rule_passes_on_clean_data(clean: Tables, key: str) -> None:
    verdict = rule(sources_with(clean), key)
    assert verdict.passed and verdict.sample_ids == [], verdict


def test_every_rule_of_the_contracts_is_a_dbt_test_on_its_source_with_its_severity() -> None:
    tests = compiled_source_tests(AS_OF)
    assert sorted(tests) == RULES
    for table, contract in CONTRACTS.items():
        for declared in contract.rules:
            assert tests[f"{table}.{declared.name}"].severity == ("error" if declared.blocking else "warn")


def test_the_catalogue_covers_every_table_and_foreign_key_of_the_contracts() -> None:
    names = {tuple(key.split(".")) for key in RULES}
    for table in CONTRACTS:
        assert (table, "primary_key_is_unique_and_not_null") in names
    assert ("app__users", "last_name_first_name_email_is_unique_and_not_null") in names
    assert {name for _, name in names if "_exists_in_" in name} == {
        "user_id_exists_in_app__users",
        "job_contract_id_exists_in_app__job_contracts",
        "client_id_exists_in_app__clients",
    }
    blocking = {rule.name: rule.blocking for contract in CONTRACTS.values() for rule in contract.rules}
    assert not blocking["references_run_in_sequence"]
    assert not blocking["no_invoice_after_the_as_of_date"]
    assert not blocking["no_job_contract_starts_after_the_as_of_date"]
    assert blocking["job_contracts_never_overlap"] and blocking["satisfaction_score_is_between_0_and_10"]


# --- primary keys ---------------------------------------------------------------------------


def test_an_id_twice_in_one_delivery_fails_the_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: append_copy(f, "inv03"))
    key, verdict = only_failure(con)
    assert key == "app__invoices.primary_key_is_unique_and_not_null"
    # Two offending rows, the two copies, in one delivery.
    assert (verdict.failures, verdict.sample_ids, verdict.column("offending_rows")) == (2, ["inv03"], [2])
    assert verdict.column("_batch_id") == ["batch-1"]


def test_a_new_version_of_an_id_in_a_later_delivery_passes_and_is_the_one_judged(clean: Tables) -> None:
    con = sources_with(clean)
    corrected = clean["app__invoices"].filter(pl.col("id") == "inv03").with_columns(amount=pl.lit(Decimal("-1")))
    deliver_later(con, "app__invoices", corrected)
    key, verdict = only_failure(con)
    assert (key, verdict.sample_ids) == ("app__invoices.amount_is_positive_with_two_decimals", ["inv03"])


def test_an_old_version_corrected_by_a_later_delivery_is_not_reported_again(clean: Tables) -> None:
    broken = set_where(clean["app__invoices"], "inv03", amount=Decimal("-1"), issue_date=date(2030, 1, 1))
    con = sources_with({**clean, "app__invoices": broken})
    deliver_later(con, "app__invoices", clean["app__invoices"].filter(pl.col("id") == "inv03"))
    assert failing(con, AS_OF) == {}


def test_a_null_id_fails_the_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, app__clients=lambda f: set_where(f, "cl2", id=None))
    verdict = rule(con, "app__clients.primary_key_is_unique_and_not_null")
    assert (verdict.failures, verdict.sample_ids) == (1, ["<null>"])


def test_a_crm_customer_twice_fails_the_composite_primary_key_rule(clean: Tables) -> None:
    con = sources_with(clean, crm__customers=lambda f: pl.concat([f, f.filter(pl.col("last_name") == "Martin")]))
    key, verdict = only_failure(con)
    assert key == "crm__customers.primary_key_is_unique_and_not_null"
    assert (verdict.failures, verdict.sample_ids) == (2, ["Martin | Jean | jean.martin@example.fr"])


def test_two_users_with_the_same_names_and_email_fail_the_users_triple_rule(clean: Tables) -> None:
    con = sources_with(clean, app__users=lambda f: append_copy(f, "u2", id="u5"))
    key, verdict = only_failure(con)
    assert key == "app__users.last_name_first_name_email_is_unique_and_not_null"
    assert verdict.sample_ids == ["Martin | Jean | jean.martin@example.fr"]


# --- referential integrity ------------------------------------------------------------------


def test_a_contract_of_an_unknown_user_fails_referential_integrity(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc3", user_id="u404"))
    key, verdict = only_failure(con)
    assert key == "app__job_contracts.user_id_exists_in_app__users"
    assert (verdict.failures, verdict.sample_ids, verdict.column("missing_value")) == (1, ["jc3"], ["u404"])


@pytest.mark.parametrize(
    ("column", "rule_name"),
    [("job_contract_id", "job_contract_id_exists_in_app__job_contracts"), ("client_id", "client_id_exists_in_app__clients")],
)
def test_an_invoice_pointing_to_a_missing_row_fails_referential_integrity(clean: Tables, column: str, rule_name: str) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv05", **{column: "missing"}))
    key, verdict = only_failure(con)
    assert (key, verdict.sample_ids) == (f"app__invoices.{rule_name}", ["inv05"])


def test_a_null_foreign_key_fails_referential_integrity(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv05", client_id=None))
    verdict = rule(con, "app__invoices.client_id_exists_in_app__clients")
    assert (verdict.sample_ids, verdict.column("missing_value")) == (["inv05"], ["<null>"])


def test_a_foreign_key_is_judged_against_the_other_table_as_it_is_now(clean: Tables) -> None:
    # An invoices-only delivery: its clients are those loaded before, whatever batch brought them.
    con = sources_with(clean, app__clients=lambda f: f.filter(pl.col("id") != "cl2"))
    verdict = rule(con, "app__invoices.client_id_exists_in_app__clients")
    expected = clean["app__invoices"].filter(pl.col("client_id") == "cl2")["id"].sort().to_list()
    assert verdict.sample_ids == expected and verdict.failures == len(expected)


# --- job contracts --------------------------------------------------------------------------


def test_overlapping_contracts_of_one_freelancer_fail(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc2", start_date=date(2024, 6, 30)))
    key, verdict = only_failure(con)
    assert key == "app__job_contracts.job_contracts_never_overlap"
    assert (verdict.failures, verdict.sample_ids, verdict.column("overlaps_with")) == (2, ["jc1", "jc2"], ["jc2", "jc1"])


def test_a_contract_starting_after_an_open_one_overlaps_it_because_open_runs_forever(clean: Tables) -> None:
    later = pl.DataFrame(
        [("jc9", "u3", "blue", date(2030, 1, 1), date(2030, 12, 31))], schema=clean["app__job_contracts"].schema, orient="row"
    )
    con = sources_with(clean, app__job_contracts=lambda f: pl.concat([f, later]))
    assert rule(con, "app__job_contracts.job_contracts_never_overlap").sample_ids == ["jc4", "jc9"]


def test_two_open_contracts_of_one_freelancer_fail(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc1", end_date=None))
    verdict = rule(con, "app__job_contracts.job_contracts_never_overlap")
    assert verdict.sample_ids == ["jc1", "jc2"]
    assert verdict.column("end_date") == [None, None] and verdict.column("user_id") == ["u1", "u1"]


def test_contracts_of_different_freelancers_may_overlap(clean: Tables) -> None:
    # jc3 (u2) and jc4 (u3) overlap in the clean data, and jc1 ends the day before jc2 starts.
    assert rule(sources_with(clean), "app__job_contracts.job_contracts_never_overlap").passed


def test_an_overlap_corrected_by_a_later_delivery_is_gone(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc2", start_date=date(2024, 6, 30)))
    deliver_later(con, "app__job_contracts", clean["app__job_contracts"].filter(pl.col("id") == "jc2"))
    assert rule(con, "app__job_contracts.job_contracts_never_overlap").passed


def test_a_contract_ending_before_it_starts_fails(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc3", end_date=date(2024, 1, 31)))
    verdict = rule(con, "app__job_contracts.start_date_is_not_after_end_date")
    assert (verdict.failures, verdict.sample_ids) == (1, ["jc3"])


@pytest.mark.parametrize("entity", ["purple", "Blue", None])
def test_an_entity_other_than_blue_or_green_fails(clean: Tables, entity: str | None) -> None:
    con = sources_with(clean, app__job_contracts=lambda f: set_where(f, "jc2", entity=entity))
    key, verdict = only_failure(con)
    assert key == "app__job_contracts.entity_is_accepted"
    assert (verdict.sample_ids, verdict.column("unexpected_value")) == (["jc2"], [entity or "<null>"])


# --- invoices -------------------------------------------------------------------------------


@pytest.mark.parametrize("issued", [date(2023, 12, 31), date(2024, 7, 1)])
def test_an_invoice_outside_its_contract_period_fails(clean: Tables, issued: date) -> None:
    # inv01 belongs to jc1, which runs from 2024-01-01 to 2024-06-30.
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv01", issue_date=issued))
    verdict = rule(con, "app__invoices.issue_date_is_inside_the_job_contract")
    assert (verdict.failures, verdict.sample_ids, verdict.column("job_contract_id")) == (1, ["inv01"], ["jc1"])
    assert (verdict.column("period_start"), verdict.column("period_end")) == ([date(2024, 1, 1)], [date(2024, 6, 30)])


def test_an_invoice_is_judged_against_the_latest_version_of_its_contract(clean: Tables) -> None:
    # jc1 is delivered again, ending earlier: inv07 (2024-06-30) now falls after it.
    con = sources_with(clean)
    shortened = clean["app__job_contracts"].filter(pl.col("id") == "jc1").with_columns(end_date=pl.lit(date(2024, 6, 29)))
    deliver_later(con, "app__job_contracts", shortened)
    verdict = rule(con, "app__invoices.issue_date_is_inside_the_job_contract")
    assert (verdict.sample_ids, verdict.column("period_end")) == (["inv07"], [date(2024, 6, 29)])


def test_an_invoice_years_into_an_open_contract_is_inside_it(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", issue_date=date(2031, 1, 1)))
    assert rule(con, "app__invoices.issue_date_is_inside_the_job_contract").passed


def test_zero_and_negative_amounts_fail(clean: Tables) -> None:
    def break_amounts(frame: pl.DataFrame) -> pl.DataFrame:
        return set_where(set_where(frame, "inv02", amount=Decimal("0")), "inv09", amount=Decimal("-12.50"))

    verdict = rule(sources_with(clean, app__invoices=break_amounts), "app__invoices.amount_is_positive_with_two_decimals")
    assert (verdict.sample_ids, verdict.column("value")) == (["inv02", "inv09"], [Decimal("0.00"), Decimal("-12.50")])


def test_an_amount_with_three_decimals_fails(clean: Tables) -> None:
    def three_decimals(frame: pl.DataFrame) -> pl.DataFrame:
        return set_where(frame.with_columns(pl.col("amount").cast(pl.Float64)), "inv04", amount=12.345)

    verdict = rule(sources_with(clean, app__invoices=three_decimals), "app__invoices.amount_is_positive_with_two_decimals")
    assert (verdict.sample_ids, verdict.column("value")) == (["inv04"], [12.345])


def test_missing_reference_numbers_fail_and_are_listed(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: f.filter(~pl.col("id").is_in(["inv05", "inv06", "inv11"])))
    key, verdict = only_failure(con)
    assert key == "app__invoices.references_run_in_sequence"
    assert verdict.sample_ids == ["inv07", "inv12"]  # the invoices right after each gap
    assert verdict.column("missing_references") == ["JMP00005 to JMP00006", "JMP00011"]
    assert verdict.column("problem") == ["after a gap", "after a gap"]


def test_a_sequence_not_starting_at_one_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: f.filter(pl.col("id") != "inv01"))
    verdict = rule(con, "app__invoices.references_run_in_sequence")
    assert (verdict.sample_ids, verdict.column("missing_references")) == (["inv02"], ["JMP00001"])


@pytest.mark.parametrize("reference", ["INV00004", "JMP-0004", "jmp00004", "JMP", "JMP0000000000000000004"])
def test_a_reference_not_made_of_jmp_and_up_to_18_digits_fails(clean: Tables, reference: str) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv04", reference=reference))
    verdict = rule(con, "app__invoices.references_run_in_sequence")
    # inv04 is malformed, which leaves number 4 missing before inv05.
    assert verdict.sample_ids == ["inv04", "inv05"]
    assert verdict.column("problem") == ["malformed", "after a gap"]


def test_a_repeated_reference_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", reference="JMP00015"))
    verdict = rule(con, "app__invoices.references_run_in_sequence")
    assert (verdict.failures, verdict.sample_ids, verdict.column("problem")) == (1, ["inv16"], ["repeated"])


def test_a_reference_wider_than_five_digits_is_well_formed(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", reference="JMP000016"))
    assert rule(con, "app__invoices.references_run_in_sequence").passed


def test_a_gap_after_a_wide_number_names_the_missing_references_in_full(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", reference="JMP123456"))
    verdict = rule(con, "app__invoices.references_run_in_sequence")
    assert verdict.column("missing_references") == ["JMP00016 to JMP123455"]


def test_the_sequence_is_judged_on_the_latest_versions(clean: Tables) -> None:
    # inv16 delivered again with the same reference: no repeat.
    con = sources_with(clean)
    deliver_later(con, "app__invoices", clean["app__invoices"].filter(pl.col("id") == "inv16"), same_time=True)
    assert rule(con, "app__invoices.references_run_in_sequence").passed


# --- dates ----------------------------------------------------------------------------------


def test_an_invoice_after_the_as_of_date_fails(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", issue_date=date(2025, 4, 1)))
    key, verdict = only_failure(con)
    assert key == "app__invoices.no_invoice_after_the_as_of_date"
    assert (verdict.sample_ids, verdict.column("issue_date"), verdict.column("as_of_date")) == (
        ["inv16"],
        [date(2025, 4, 1)],
        [AS_OF],
    )
    # The as-of date is the one the tests were compiled for (the run's date, in a run).
    assert rule(con, "app__invoices.no_invoice_after_the_as_of_date", as_of=date(2025, 4, 1)).passed


def test_a_contract_starting_after_the_as_of_date_fails(clean: Tables) -> None:
    con = sources_with(clean)
    verdict = rule(con, "app__job_contracts.no_job_contract_starts_after_the_as_of_date", as_of=date(2024, 6, 30))
    assert verdict.sample_ids == ["jc2"]


# A job contract dated in year 1, as a careless delivery held it: every other rule passes on it.
YEAR_ONE_CONTRACT = ("jc9", "u4", "blue", date(1, 1, 1), date(1, 12, 31))


def with_contract(row: tuple[object, ...]) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda frame: pl.concat([frame, pl.DataFrame([row], schema=frame.schema, orient="row")])


def test_a_contract_dated_in_year_one_fails_the_plausible_date_rules_and_only_them(clean: Tables) -> None:
    con = sources_with(clean, app__job_contracts=with_contract(YEAR_ONE_CONTRACT))
    found = failing(con, AS_OF)
    assert sorted(found) == ["app__job_contracts.end_date_is_plausible", "app__job_contracts.start_date_is_plausible"]
    start = found["app__job_contracts.start_date_is_plausible"]
    assert (start.failures, start.sample_ids, start.column("start_date")) == (1, ["jc9"], [date(1, 1, 1)])
    # The bounds the row broke: Jump's first day, and its delivery (2025-03-31) plus 10 years.
    assert (start.column("earliest"), start.column("latest")) == ([date(2019, 1, 1)], [date(2035, 3, 31)])
    assert found["app__job_contracts.end_date_is_plausible"].column("end_date") == [date(1, 12, 31)]


@pytest.mark.parametrize(
    ("table", "row_id", "column", "value", "plausible"),
    [
        ("app__invoices", "inv16", "issue_date", date(2018, 12, 31), False),
        ("app__invoices", "inv16", "issue_date", date(2035, 4, 1), False),
        ("app__invoices", "inv16", "issue_date", date(2035, 3, 31), True),
        ("app__job_contracts", "jc1", "start_date", date(2019, 1, 1), True),
        ("app__job_contracts", "jc1", "start_date", date(2018, 12, 31), False),
        ("app__job_contracts", "jc3", "end_date", date(9999, 12, 31), False),
        ("app__job_contracts", "jc3", "end_date", date(2035, 3, 31), True),
    ],
)
def test_a_date_is_plausible_from_the_first_business_day_to_ten_years_after_its_delivery(
    clean: Tables, table: str, row_id: str, column: str, value: date, plausible: bool
) -> None:
    con = sources_with(clean, **{table: lambda f: set_where(f, row_id, **{column: value})})
    verdict = rule(con, f"{table}.{column}_is_plausible")
    assert verdict.passed == plausible
    if not plausible:
        assert (verdict.sample_ids, verdict.column(column)) == ([row_id], [value])


def test_the_upper_bound_of_a_plausible_date_follows_the_delivery_not_the_as_of_date(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv16", issue_date=date(2035, 3, 31)))
    # A backfill as of Jump's first months judges the row as every run does.
    assert rule(con, "app__invoices.issue_date_is_plausible", as_of=date(2019, 6, 30)).passed
    # Delivered again a day later (batch-2, 2025-04-01), it may reach a day further.
    later = clean["app__invoices"].filter(pl.col("id") == "inv16").with_columns(issue_date=pl.lit(date(2035, 4, 1)))
    deliver_later(con, "app__invoices", later)
    assert rule(con, "app__invoices.issue_date_is_plausible").passed


# --- amounts that no sum can overflow -------------------------------------------------------


def test_amounts_above_the_maximum_fail_naming_each_invoice(clean: Tables) -> None:
    # The largest amount a decimal(18,2) holds, on two invoices: their sum overflowed the marts.
    largest = Decimal("9999999999999999.99")

    def inflate(frame: pl.DataFrame) -> pl.DataFrame:
        return set_where(set_where(frame, "inv03", amount=largest), "inv11", amount=largest)

    key, verdict = only_failure(sources_with(clean, app__invoices=inflate))
    assert key == "app__invoices.amount_is_at_most_the_maximum"
    assert (verdict.failures, verdict.sample_ids, verdict.column("value")) == (2, ["inv03", "inv11"], [largest, largest])
    assert verdict.column("maximum") == [Decimal("1000000.00")] * 2


def test_an_amount_of_exactly_the_maximum_passes(clean: Tables) -> None:
    con = sources_with(clean, app__invoices=lambda f: set_where(f, "inv03", amount=Decimal("1000000.00")))
    assert rule(con, "app__invoices.amount_is_at_most_the_maximum").passed


# --- CRM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [11, -1])
def test_a_satisfaction_score_outside_0_to_10_fails(clean: Tables, score: int) -> None:
    def rescore(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            satisfaction_score=pl.when(pl.col("last_name") == "Petit").then(score).otherwise("satisfaction_score")
        )

    key, verdict = only_failure(sources_with(clean, crm__customers=rescore))
    assert key == "crm__customers.satisfaction_score_is_between_0_and_10"
    assert (verdict.sample_ids, verdict.column("unexpected_value")) == (["Petit | Lou | lou.petit@example.org"], [score])


def test_a_clean_lakehouse_fails_no_rule(clean: Tables) -> None:
    assert [key for key, verdict in judge(sources_with(clean), AS_OF).items() if not verdict.passed] == []


# --- what a failed check shows, and when the dbt step fails by itself --------------------------


def test_the_sample_is_the_first_rows_by_their_first_column_whatever_ends_the_query() -> None:
    from jump_platform.failed_rows import sample_failed_rows

    con = duckdb.connect()
    query = (
        (
            "select * from (values ('b', date '2024-01-02', 1.5, 12.3), ('a', null, 2.5, 0.1)) "
            "as t(offending_key, day, x, amount) -- a comment"
        )
        .replace("1.5,", "1.5::double,")
        .replace("2.5,", "2.5::double,")
    )

    def run(sql: str) -> pl.DataFrame:  # as an engine's `Warehouse.query` does, here on DuckDB
        return con.sql(sql).pl()

    sample = sample_failed_rows(run, query, limit=1)
    assert (sample.columns, sample.sample_ids) == (["offending_key", "day", "x", "amount"], ["a"])
    # Plain values stay as they are; a decimal or a date reads as text, exactly.
    assert sample.records == [{"offending_key": "a", "day": None, "x": 2.5, "amount": "0.1"}]
    assert sample_failed_rows(run, query).records[1]["day"] == "2024-01-02"


def test_the_dbt_step_fails_by_itself_for_any_failure_but_a_reported_blocking_check() -> None:
    from jump_platform.defs.transform.assets import unexplained_failures

    run_results = {
        "results": [
            {"unique_id": "model.jump_platform.fct_invoices", "status": "success"},
            {"unique_id": "test.jump_platform.rule.1", "status": "fail"},
            {"unique_id": "test.jump_platform.singular", "status": "fail"},
            {"unique_id": "model.jump_platform.broken", "status": "error"},
            {"unique_id": "test.jump_platform.warning", "status": "warn"},
            {"unique_id": "model.jump_platform.after_it", "status": "skipped"},
        ]
    }
    assert unexplained_failures(run_results, {"test.jump_platform.rule.1"}) == [
        "model.jump_platform.broken",
        "test.jump_platform.singular",
    ]
    assert unexplained_failures({"results": run_results["results"][:2]}, {"test.jump_platform.rule.1"}) == []
