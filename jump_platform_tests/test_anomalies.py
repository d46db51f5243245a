"""Each injected anomaly trips exactly the rule it is named after (its dbt test on the source), on the
rows it touched."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from jump_platform.sources.anomalies import ANOMALIES, inject_anomalies, parse_anomalies
from jump_platform_tests.source_rules import Verdict, failing, judge
from jump_platform_tests.source_samples import AS_OF, EXPECTED_FAILURES, clean_source_tables, write_sources

Tables = dict[str, pl.DataFrame]
SEED = 7


@pytest.fixture(scope="module")
def clean() -> Tables:
    return clean_source_tables()


@pytest.fixture(scope="module")
def injected(clean: Tables) -> dict[str, Tables]:
    return {name: inject_anomalies(clean, [name], AS_OF, SEED) for name in ANOMALIES}


@pytest.fixture(scope="module")
def failures(injected: dict[str, Tables]) -> dict[str, dict[str, Verdict]]:
    found = {}
    for name, tables in injected.items():
        con = duckdb.connect()
        write_sources(con, tables)
        found[name] = failing(con, AS_OF)
    return found


def new_ids(clean: pl.DataFrame, injected: pl.DataFrame) -> list[str]:
    return sorted(set(injected["id"]) - set(clean["id"]))


def changed_ids(clean: pl.DataFrame, injected: pl.DataFrame, column: str) -> list[str]:
    joined = clean.join(injected.unique("id"), on="id", suffix="_injected")
    return sorted(joined.filter(pl.col(column).ne_missing(pl.col(f"{column}_injected")))["id"])


def test_the_anomaly_names_are_exactly_those_of_the_issue() -> None:
    assert set(ANOMALIES) == set(EXPECTED_FAILURES)


@pytest.mark.parametrize("name", list(EXPECTED_FAILURES))
def test_each_anomaly_fails_exactly_its_matching_rules(failures: dict[str, dict[str, Verdict]], name: str) -> None:
    assert set(failures[name]) == EXPECTED_FAILURES[name]


def test_the_clean_sample_fails_no_rule(clean: Tables) -> None:
    con = duckdb.connect()
    write_sources(con, clean)
    assert [key for key, verdict in judge(con, AS_OF).items() if not verdict.passed] == []


def test_overlapping_contracts_report_the_added_contract_and_the_one_it_overlaps(clean: Tables, injected, failures) -> None:
    contracts = injected["overlapping_contracts"]["app__job_contracts"]
    (added,) = new_ids(clean["app__job_contracts"], contracts)
    result = failures["overlapping_contracts"]["app__job_contracts.job_contracts_never_overlap"]
    assert added in result.sample_ids and result.failures == 2
    # Each of the two names the other, and they belong to one freelancer, who has one open contract at most.
    assert sorted(result.column("overlaps_with")) == sorted(result.sample_ids)
    reported = contracts.filter(pl.col("id").is_in(result.sample_ids))
    assert reported["user_id"].n_unique() == 1 and reported["end_date"].null_count() <= 1


def test_two_open_contracts_report_one_freelancer_with_several_open(clean: Tables, injected, failures) -> None:
    contracts = injected["two_open_contracts"]["app__job_contracts"]
    result = failures["two_open_contracts"]["app__job_contracts.job_contracts_never_overlap"]
    assert result.column("end_date") == [None, None]
    reported = contracts.filter(pl.col("id").is_in(result.sample_ids))
    assert reported["end_date"].null_count() == 2 and reported["user_id"].n_unique() == 1
    assert reported["start_date"].max() <= AS_OF


def test_invoice_outside_contract_reports_the_redated_invoice(clean: Tables, injected, failures) -> None:
    moved = changed_ids(clean["app__invoices"], injected["invoice_outside_contract"]["app__invoices"], "issue_date")
    result = failures["invoice_outside_contract"]["app__invoices.issue_date_is_inside_the_job_contract"]
    assert len(moved) == 1 and result.sample_ids == moved


def test_reference_gaps_list_the_missing_numbers_and_keep_every_invoice(clean: Tables, injected, failures) -> None:
    invoices = injected["reference_gaps"]["app__invoices"]
    assert invoices.height == clean["app__invoices"].height
    result = failures["reference_gaps"]["app__invoices.references_run_in_sequence"]
    (missing,) = result.column("missing_references")
    first, last = (int(reference[3:]) for reference in missing.split(" to "))
    assert last - first + 1 == 3
    assert invoices.filter(pl.col("reference").str.slice(3).cast(pl.Int64).is_between(first, last)).is_empty()
    after_gap = invoices.filter(pl.col("reference") == f"JMP{last + 1:05d}")["id"].to_list()
    assert result.sample_ids == after_gap and result.column("problem") == ["after a gap"]


def test_an_empty_month_fails_no_rule_and_leaves_a_month_without_invoices(clean: Tables, injected, failures) -> None:
    invoices = injected["empty_month"]["app__invoices"]
    months = invoices["issue_date"].dt.truncate("1mo").unique()
    all_months = clean["app__invoices"]["issue_date"].dt.truncate("1mo").unique()
    (emptied,) = set(all_months) - set(months)
    assert min(months) < emptied < max(months)
    assert invoices.sort("reference")["reference"].to_list() == [f"JMP{n:05d}" for n in range(1, invoices.height + 1)]
    assert failures["empty_month"] == {}


def test_duplicate_ids_report_the_id_delivered_twice(clean: Tables, injected, failures) -> None:
    invoices = injected["duplicate_ids"]["app__invoices"]
    assert invoices.height == clean["app__invoices"].height + 1
    twice = invoices.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    assert failures["duplicate_ids"]["app__invoices.primary_key_is_unique_and_not_null"].sample_ids == twice


def test_non_positive_amounts_report_the_zero_and_the_negative_invoice(injected, failures) -> None:
    invoices = injected["non_positive_amounts"]["app__invoices"]
    bad = invoices.filter(pl.col("amount") <= 0).sort("amount")
    assert len(bad) == 2 and bad["amount"][0] < 0 and bad["amount"][1] == 0
    result = failures["non_positive_amounts"]["app__invoices.amount_is_positive_with_two_decimals"]
    assert result.sample_ids == sorted(bad["id"])


def test_unknown_entity_reports_the_contract(clean: Tables, injected, failures) -> None:
    changed = changed_ids(clean["app__job_contracts"], injected["unknown_entity"]["app__job_contracts"], "entity")
    result = failures["unknown_entity"]["app__job_contracts.entity_is_accepted"]
    assert len(changed) == 1 and result.sample_ids == changed


def test_dangling_foreign_keys_report_the_invoices_pointing_nowhere(clean: Tables, injected, failures) -> None:
    invoices = injected["dangling_foreign_key"]["app__invoices"]
    for column, rule in [
        ("job_contract_id", "app__invoices.job_contract_id_exists_in_app__job_contracts"),
        ("client_id", "app__invoices.client_id_exists_in_app__clients"),
    ]:
        changed = changed_ids(clean["app__invoices"], invoices, column)
        assert len(changed) == 1 and failures["dangling_foreign_key"][rule].sample_ids == changed


def test_future_invoices_report_the_invoices_after_the_as_of_date(clean: Tables, injected, failures) -> None:
    invoices = injected["future_invoices"]["app__invoices"]
    added = new_ids(clean["app__invoices"], invoices)
    assert len(added) == 2 and invoices.filter(pl.col("id").is_in(added))["issue_date"].min() > AS_OF
    assert failures["future_invoices"]["app__invoices.no_invoice_after_the_as_of_date"].sample_ids == added


def test_future_invoices_reopen_a_contract_when_none_is_open(clean: Tables) -> None:
    all_closed = {**clean, "app__job_contracts": clean["app__job_contracts"].with_columns(end_date=pl.lit(AS_OF))}
    contracts = inject_anomalies(all_closed, ["future_invoices"], AS_OF, SEED)["app__job_contracts"]
    assert contracts["end_date"].null_count() == 1


def test_injection_is_deterministic_for_a_seed(clean: Tables) -> None:
    names = list(ANOMALIES)
    first, second = (inject_anomalies(clean, names, AS_OF, SEED) for _ in range(2))
    for table in clean:
        assert first[table].equals(second[table])
    other = inject_anomalies(clean, names, AS_OF, SEED + 1)
    assert not all(first[table].equals(other[table]) for table in clean)


def test_injection_leaves_the_input_tables_untouched(clean: Tables) -> None:
    before = {table: frame.clone() for table, frame in clean.items()}
    inject_anomalies(clean, list(ANOMALIES), AS_OF, SEED)
    assert all(clean[table].equals(before[table]) for table in clean)


def test_an_unknown_anomaly_name_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValueError, match=r"'overlaping_contracts'.*overlapping_contracts.*future_invoices"):
        inject_anomalies(clean_source_tables(), ["overlaping_contracts"], AS_OF, SEED)


def test_anomalies_parse_from_a_comma_separated_list() -> None:
    assert parse_anomalies(" duplicate_ids, empty_month,") == ["duplicate_ids", "empty_month"]
    assert parse_anomalies("") == []
