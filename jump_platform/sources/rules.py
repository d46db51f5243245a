"""The business rules of the Jump model, as DuckDB SQL run on a connection.

Each rule is a plain function: it takes a connection and the names of the relations to judge
(e.g. `sources.app__invoices`) and returns a small `RuleResult`: how many rows break the rule, a
sample of their ids, and a few rule-specific extras. The work happens inside DuckDB, so memory
stays bounded whatever the table size; only the counts and the samples come back to Python.

Which rows are judged:
- `primary_key_is_unique_and_not_null` judges each delivery on its own: duplicates are counted
  within one `_batch_id`, because an incremental delivery legitimately appends a new version of a
  key that an earlier batch already holds.
- Every other rule judges the latest version of each primary key (latest `_loaded_at`, then
  `_batch_id`), exactly the rows staging keeps. A table without load-metadata columns (a plain
  extract) is judged with one row per key. This way a duplicate id trips the duplicate-id rule
  only, and an old version that a later batch corrected is not reported again.

`SOURCE_RULES` lists every rule with the source table it judges and whether a violation is
blocking; the Dagster asset checks and the tests are built from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from jump_platform.sources.contracts import CONTRACTS, INVOICES, JOB_CONTRACTS, TableContract
from jump_platform.sql import qualified, quote_identifier

SAMPLE_SIZE = 10
MISSING_REFERENCES_LISTED = 50
REFERENCE_PREFIX = "JMP"
REFERENCE_PATTERN = f"{REFERENCE_PREFIX}[0-9]+"  # the whole reference must match
REFERENCE_MIN_DIGITS = 5

# Unique keys beyond the declared primary keys. The CRM is matched to the app on this triple, so a
# freelancer must appear once per triple on both sides. (Kept here rather than in the contracts,
# which declare one primary key per table.)
ALTERNATE_KEYS: dict[str, tuple[str, ...]] = {"app__users": ("last_name", "first_name", "email")}

SATISFACTION_SCORE_RANGE = (0, 10)

# The day an open contract "ends": an open contract runs forever.
_FOREVER = "date '9999-12-31'"


@dataclass(frozen=True)
class RuleResult:
    """What a rule found: the rows that break it, a few of their ids, and rule-specific extras."""

    rule: str
    offending_rows: int
    sample_ids: list[str]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.offending_rows == 0


_q = quote_identifier  # short, as it is used on every column name below


def _key_sql(columns: Sequence[str], alias: str = "") -> str:
    """A varchar rendering of a (possibly composite) key, e.g. `Dupont | Marie | marie@jump.fr`."""
    prefix = f"{alias}." if alias else ""
    parts = [f"coalesce(cast({prefix}{_q(column)} as varchar), '<null>')" for column in columns]
    return parts[0] if len(parts) == 1 else " || ' | ' || ".join(parts)


def _columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [column[0] for column in con.sql(f"select * from {relation} limit 0").description]


def latest_versions(con: duckdb.DuckDBPyConnection, relation: str, key: Sequence[str]) -> str:
    """A subquery holding one row per key: its latest version, as staging keeps it."""
    present = set(_columns_of(con, relation))
    order = [f"{_q(column)} desc nulls last" for column in ("_loaded_at", "_batch_id") if column in present]
    order_by = f" order by {', '.join(order)}" if order else ""
    partition = ", ".join(_q(column) for column in key)
    return (
        f"(select * from {relation} "
        f"qualify row_number() over (partition by {partition}{order_by}) = 1)"
    )


def _once(con: duckdb.DuckDBPyConnection, name: str, query: str) -> str:
    """Compute `query` once, into the temporary table `name`, for a rule that reads its rows
    several times (a count, samples, extras): each reading would otherwise run it again, with its
    deduplication of the whole table. Returns the table's (quoted) name; it lives as long as the
    connection, until the next rule replaces it."""
    table = _q(name)
    con.execute(f"create or replace temp table {table} as {query}")
    return table


def _sample(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """The first `SAMPLE_SIZE` values of a one-column query, as strings."""
    return [str(row[0]) for row in con.sql(f"select * from ({query}) limit {SAMPLE_SIZE}").fetchall()]


def primary_key_is_unique_and_not_null(
    con: duckdb.DuckDBPyConnection, relation: str, key: Sequence[str]
) -> RuleResult:
    """No key column is null, and no key appears twice within one delivery (`_batch_id`)."""
    batch = _q("_batch_id") if "_batch_id" in _columns_of(con, relation) else "null"
    key_columns = ", ".join(_q(column) for column in key)
    any_null = " or ".join(f"{_q(column)} is null" for column in key)
    duplicates = _once(
        con,
        "_duplicated_keys",
        f"select {batch} as batch_id, {_key_sql(key)} as key, count(*) as copies "
        f"from {relation} where not ({any_null}) group by {batch}, {key_columns} having count(*) > 1",
    )
    duplicated_keys, duplicated_rows = con.sql(f"select count(*), coalesce(sum(copies), 0) from {duplicates}").fetchone()
    (null_keys,) = con.sql(f"select count(*) from {relation} where {any_null}").fetchone()
    sample = _sample(con, f"select distinct key from {duplicates} order by key")
    if null_keys:
        sample = [*sample[: SAMPLE_SIZE - 1], "<null>"]
    return RuleResult(
        rule=f"{', '.join(key)} is unique and not null",
        offending_rows=int(duplicated_rows) + int(null_keys),
        sample_ids=sample,
        extras={"duplicated_keys": int(duplicated_keys), "null_keys": int(null_keys)},
    )


def foreign_key_resolves(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    key: Sequence[str],
    column: str,
    parent_relation: str,
    parent_column: str,
    nullable: bool = False,
) -> RuleResult:
    """Every value of `column` exists in `parent_relation.parent_column` (null only if nullable)."""
    unresolved = (
        f"select {_key_sql(key, 'child')} as key, child.{_q(column)} as value "
        f"from {latest_versions(con, relation, key)} as child "
        f"where not exists (select 1 from {parent_relation} as parent "
        f"where parent.{_q(parent_column)} = child.{_q(column)})"
    )
    if nullable:
        unresolved += f" and child.{_q(column)} is not null"
    unresolved = _once(con, "_unresolved", unresolved)
    (offending,) = con.sql(f"select count(*) from {unresolved}").fetchone()
    return RuleResult(
        rule=f"{column} references an existing {parent_relation}.{parent_column}",
        offending_rows=int(offending),
        sample_ids=_sample(con, f"select key from {unresolved} order by key"),
        extras={
            "sample_missing_values": _sample(
                con, f"select distinct coalesce(value, '<null>') as value from {unresolved} order by value"
            )
        },
    )


def accepted_values(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    key: Sequence[str],
    column: str,
    values: Sequence[str],
    nullable: bool = False,
) -> RuleResult:
    """`column` only holds one of `values` (or null, if nullable)."""
    allowed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    condition = f"{_q(column)} not in ({allowed})"
    if not nullable:
        condition = f"({condition} or {_q(column)} is null)"
    offending = _once(
        con,
        "_unexpected_values",
        f"select {_key_sql(key)} as key, {_q(column)} as value from {latest_versions(con, relation, key)} where {condition}",
    )
    (count,) = con.sql(f"select count(*) from {offending}").fetchone()
    return RuleResult(
        rule=f"{column} is one of {', '.join(values)}",
        offending_rows=int(count),
        sample_ids=_sample(con, f"select key from {offending} order by key"),
        extras={
            "accepted_values": list(values),
            "unexpected_values": _sample(
                con, f"select distinct coalesce(value, '<null>') as value from {offending} order by value"
            ),
        },
    )


def job_contracts_do_not_overlap(
    con: duckdb.DuckDBPyConnection, job_contracts: str = "sources.app__job_contracts"
) -> RuleResult:
    """One freelancer's contracts never overlap (an open one runs forever); at most one is open.

    Two open contracts of one freelancer always overlap, so the second half of the rule is a case
    of the first; the extras count it apart. The self-join is per freelancer, who holds a handful of
    contracts, so it stays linear in practice.
    """
    contracts = _once(con, "_latest_contracts", f"select * from {latest_versions(con, job_contracts, JOB_CONTRACTS.primary_key)}")
    pairs = _once(
        con,
        "_overlapping_pairs",
        "select first.id as first_id, second.id as second_id, first.user_id as user_id "
        f"from {contracts} as first join {contracts} as second "
        "on first.user_id = second.user_id and first.id < second.id "
        f"and first.start_date <= coalesce(second.end_date, {_FOREVER}) "
        f"and second.start_date <= coalesce(first.end_date, {_FOREVER})",
    )
    offending_ids = f"select first_id as id from {pairs} union select second_id from {pairs}"
    (offending,) = con.sql(f"select count(*) from ({offending_ids})").fetchone()
    (pair_count,) = con.sql(f"select count(*) from {pairs}").fetchone()
    (several_open,) = con.sql(
        f"select count(*) from (select user_id from {contracts} where end_date is null "
        "group by user_id having count(*) > 1)"
    ).fetchone()
    return RuleResult(
        rule="a freelancer's job contracts never overlap and at most one is open",
        offending_rows=int(offending),
        sample_ids=_sample(con, f"select id from ({offending_ids}) order by id"),
        extras={
            "overlapping_pairs": int(pair_count),
            "sample_pairs": _sample(
                con, f"select first_id || ' & ' || second_id from {pairs} order by first_id, second_id"
            ),
            "freelancers_with_several_open_contracts": int(several_open),
        },
    )


def job_contracts_start_before_they_end(
    con: duckdb.DuckDBPyConnection, job_contracts: str = "sources.app__job_contracts"
) -> RuleResult:
    """start_date <= end_date (an open contract, end_date null, always passes)."""
    offending = _once(
        con,
        "_reversed_contracts",
        f"select id from {latest_versions(con, job_contracts, JOB_CONTRACTS.primary_key)} where end_date < start_date",
    )
    (count,) = con.sql(f"select count(*) from {offending}").fetchone()
    return RuleResult(
        rule="start_date <= end_date",
        offending_rows=int(count),
        sample_ids=_sample(con, f"select id from {offending} order by id"),
    )


def invoices_fall_inside_their_contract(
    con: duckdb.DuckDBPyConnection,
    invoices: str = "sources.app__invoices",
    job_contracts: str = "sources.app__job_contracts",
) -> RuleResult:
    """An invoice's issue_date lies within its job contract's [start_date, end_date].

    Invoices whose contract does not exist are left to the referential-integrity rule.
    """
    offending = _once(
        con,
        "_invoices_outside_contract",
        "select invoice.id as id "
        f"from {latest_versions(con, invoices, INVOICES.primary_key)} as invoice "
        f"join {latest_versions(con, job_contracts, JOB_CONTRACTS.primary_key)} as contract "
        "on invoice.job_contract_id = contract.id "
        "where invoice.issue_date < contract.start_date "
        f"or invoice.issue_date > coalesce(contract.end_date, {_FOREVER})",
    )
    (count,) = con.sql(f"select count(*) from {offending}").fetchone()
    return RuleResult(
        rule="an invoice's issue_date falls inside its job contract's period",
        offending_rows=int(count),
        sample_ids=_sample(con, f"select id from {offending} order by id"),
    )


def invoice_amounts_are_positive_with_two_decimals(
    con: duckdb.DuckDBPyConnection, invoices: str = "sources.app__invoices"
) -> RuleResult:
    """amount > 0 and has at most 2 decimals (a null amount offends too)."""
    rows = latest_versions(con, invoices, INVOICES.primary_key)
    offending = _once(
        con, "_bad_amounts", f"select id, amount from {rows} where amount is null or amount <= 0 or amount <> round(amount, 2)"
    )
    count, non_positive, too_precise = con.sql(
        "select count(*), count(*) filter (where amount is null or amount <= 0), "
        f"count(*) filter (where amount <> round(amount, 2)) from {offending}"
    ).fetchone()
    return RuleResult(
        rule="amount > 0 with at most 2 decimals",
        offending_rows=int(count),
        sample_ids=_sample(con, f"select id from {offending} order by id"),
        extras={"non_positive_amounts": int(non_positive), "amounts_with_more_than_2_decimals": int(too_precise)},
    )


def _format_reference(number: int, width: int = REFERENCE_MIN_DIGITS) -> str:
    return f"{REFERENCE_PREFIX}{number:0{width}d}"


def invoice_references_run_in_sequence(
    con: duckdb.DuckDBPyConnection, invoices: str = "sources.app__invoices"
) -> RuleResult:
    """References are `JMP` + digits and number 1, 2, 3... with no gap and no repeat.

    Offending rows: malformed references, references repeating a number, and the invoice right
    after each gap (a missing number has no row to point at). The missing numbers are listed in
    the extras. The order of numbers against issue dates is not judged here.
    """
    rows = latest_versions(con, invoices, INVOICES.primary_key)
    numbered = _once(
        con,
        "_numbered_references",
        f"select id, reference, "
        f"case when regexp_full_match(reference, '{REFERENCE_PATTERN}') "
        f"then cast(substr(reference, {len(REFERENCE_PREFIX) + 1}) as hugeint) end as number from {rows}",
    )
    stepped = (
        "select id, reference, number, "
        "coalesce(lag(number) over (order by number, id), 0) as previous_number "
        f"from {numbered} where number is not null"
    )
    # Only the rows that break the sequence are kept: none, when the references are right.
    breaks = _once(
        con,
        "_reference_breaks",
        f"select id, number, previous_number from ({stepped}) where number = previous_number or number > previous_number + 1",
    )
    offending = (
        f"select id, 'malformed' as problem from {numbered} where number is null "
        f"union all select id, 'repeated' from {breaks} where number = previous_number "
        f"union all select id, 'after a gap' from {breaks} where number > previous_number + 1"
    )
    counts = dict(con.sql(f"select problem, count(*) from ({offending}) group by problem").fetchall())
    (missing_count,) = con.sql(
        f"select coalesce(sum(number - previous_number - 1), 0) from {breaks} where number > previous_number + 1"
    ).fetchone()
    missing: list[str] = []
    for low, high in con.sql(
        f"select previous_number + 1, number - 1 from {breaks} "
        f"where number > previous_number + 1 order by number limit {MISSING_REFERENCES_LISTED}"
    ).fetchall():
        missing.extend(_format_reference(n) for n in range(int(low), min(int(high), int(low) + MISSING_REFERENCES_LISTED) + 1))
    return RuleResult(
        rule="references follow JMP + digits and run in sequence with no gap",
        offending_rows=sum(int(count) for count in counts.values()),
        sample_ids=_sample(con, f"select id from ({offending}) order by id"),
        extras={
            "missing_numbers": int(missing_count),
            "missing_references": missing[:MISSING_REFERENCES_LISTED],
            "malformed_references": int(counts.get("malformed", 0)),
            "repeated_references": int(counts.get("repeated", 0)),
        },
    )


def nothing_dated_after(
    con: duckdb.DuckDBPyConnection, relation: str, key: Sequence[str], date_column: str, as_of: date
) -> RuleResult:
    """No row's `date_column` lies after the as-of date."""
    offending = (
        f"select {_key_sql(key)} as key from {latest_versions(con, relation, key)} "
        f"where {_q(date_column)} > date '{as_of.isoformat()}'"
    )
    (count,) = con.sql(f"select count(*) from ({offending})").fetchone()
    (latest,) = con.sql(f"select max({_q(date_column)}) from {relation}").fetchone()
    return RuleResult(
        rule=f"no {date_column} after the as-of date",
        offending_rows=int(count),
        sample_ids=_sample(con, f"{offending} order by key"),
        extras={"as_of": as_of.isoformat(), f"latest_{date_column}": str(latest)},
    )


def values_between(
    con: duckdb.DuckDBPyConnection, relation: str, key: Sequence[str], column: str, low: int, high: int
) -> RuleResult:
    """`column` lies within [low, high] when it is not null."""
    offending = _once(
        con,
        "_values_out_of_range",
        f"select {_key_sql(key)} as key, {_q(column)} as value "
        f"from {latest_versions(con, relation, key)} where {_q(column)} not between {low} and {high}",
    )
    (count,) = con.sql(f"select count(*) from {offending}").fetchone()
    return RuleResult(
        rule=f"{column} is between {low} and {high} when present",
        offending_rows=int(count),
        sample_ids=_sample(con, f"select key from {offending} order by key"),
        extras={"unexpected_values": _sample(con, f"select distinct value from {offending} order by value")},
    )


def monthly_turnover_reconciles(
    con: duckdb.DuckDBPyConnection,
    monthly_turnover: str = "marts.kpi__monthly_turnover",
    invoices: str = "sources.app__invoices",
    month_column: str = "month",
    amount_column: str = "amount",
) -> RuleResult:
    """The monthly turnover mart holds, month by month, the sum of the invoice amounts.

    Months are compared one by one (a month missing on one side counts as 0), so the total of the
    mart equals the total of the invoices exactly when no month is reported.
    """
    mart = (
        f"select cast({_q(month_column)} as date) as month, sum({_q(amount_column)}) as amount "
        f"from {monthly_turnover} group by 1"
    )
    source = (
        "select cast(date_trunc('month', issue_date) as date) as month, sum(amount) as amount "
        f"from {latest_versions(con, invoices, INVOICES.primary_key)} group by 1"
    )
    compared = (
        "select coalesce(mart.month, source.month) as month, "
        "coalesce(mart.amount, 0) as mart_amount, coalesce(source.amount, 0) as invoices_amount "
        f"from ({mart}) as mart full outer join ({source}) as source on mart.month = source.month"
    )
    offending = f"select month from ({compared}) where abs(mart_amount - invoices_amount) >= 0.005"
    (count,) = con.sql(f"select count(*) from ({offending})").fetchone()
    mart_total, invoices_total = con.sql(
        f"select coalesce(sum(mart_amount), 0), coalesce(sum(invoices_amount), 0) from ({compared})"
    ).fetchone()
    return RuleResult(
        rule="the monthly turnover equals the invoice amounts, month by month",
        offending_rows=int(count),
        sample_ids=_sample(con, f"{offending} order by month"),
        extras={"mart_total": float(mart_total), "invoices_total": float(invoices_total)},
    )


# ---------------------------------------------------------------------------------------------
# The catalogue of source rules, one entry per check on a source table.
# ---------------------------------------------------------------------------------------------

RuleEvaluator = Callable[[duckdb.DuckDBPyConnection, str, date], RuleResult]
"""Evaluate a rule given a connection, the schema holding the source tables and the as-of date."""


@dataclass(frozen=True)
class SourceRule:
    """One business rule, the source table it judges, and whether a violation stops the run."""

    name: str
    table: str
    description: str
    blocking: bool
    evaluate: RuleEvaluator
    other_tables: tuple[str, ...] = ()


def _relation(schema: str, table: str) -> str:
    return qualified(schema, table)


def _primary_key_rule(contract: TableContract, key: tuple[str, ...], name: str) -> SourceRule:
    return SourceRule(
        name=name,
        table=contract.table,
        description=(
            f"{' + '.join(key)} identifies one row of {contract.table}: never null, never twice "
            "within one delivery (batch)."
        ),
        blocking=True,
        evaluate=lambda con, schema, as_of: primary_key_is_unique_and_not_null(
            con, _relation(schema, contract.table), key
        ),
    )


def _foreign_key_rule(contract: TableContract, column: str, parent: tuple[str, str]) -> SourceRule:
    parent_table, parent_column = parent
    return SourceRule(
        name=f"{column}_exists_in_{parent_table}",
        table=contract.table,
        description=f"Every {contract.table}.{column} points to an existing {parent_table}.{parent_column}.",
        blocking=True,
        evaluate=lambda con, schema, as_of: foreign_key_resolves(
            con,
            _relation(schema, contract.table),
            contract.primary_key,
            column,
            _relation(schema, parent_table),
            parent_column,
            nullable=contract.column(column).nullable,
        ),
        other_tables=(parent_table,),
    )


def _accepted_values_rule(contract: TableContract, column: str, values: tuple[str, ...]) -> SourceRule:
    return SourceRule(
        name=f"{column}_is_accepted",
        table=contract.table,
        description=f"{contract.table}.{column} is one of: {', '.join(values)}.",
        blocking=True,
        evaluate=lambda con, schema, as_of: accepted_values(
            con,
            _relation(schema, contract.table),
            contract.primary_key,
            column,
            values,
            nullable=contract.column(column).nullable,
        ),
    )


def _build_source_rules() -> list[SourceRule]:
    rules: list[SourceRule] = []
    for contract in CONTRACTS.values():
        rules.append(_primary_key_rule(contract, contract.primary_key, "primary_key_is_unique_and_not_null"))
        if contract.table in ALTERNATE_KEYS:
            key = ALTERNATE_KEYS[contract.table]
            rules.append(_primary_key_rule(contract, key, f"{'_'.join(key)}_is_unique_and_not_null"))
    for contract in CONTRACTS.values():
        for column, parent in contract.foreign_keys.items():
            rules.append(_foreign_key_rule(contract, column, parent))
    for contract in CONTRACTS.values():
        for column in contract.columns:
            if column.accepted_values:
                rules.append(_accepted_values_rule(contract, column.name, column.accepted_values))
    low, high = SATISFACTION_SCORE_RANGE
    rules += [
        SourceRule(
            name="job_contracts_never_overlap",
            table="app__job_contracts",
            description=(
                "One freelancer's job contracts never overlap (an open contract runs forever), "
                "and at most one of them is open."
            ),
            blocking=True,
            evaluate=lambda con, schema, as_of: job_contracts_do_not_overlap(
                con, _relation(schema, "app__job_contracts")
            ),
        ),
        SourceRule(
            name="start_date_is_not_after_end_date",
            table="app__job_contracts",
            description="A job contract starts on or before the day it ends.",
            blocking=True,
            evaluate=lambda con, schema, as_of: job_contracts_start_before_they_end(
                con, _relation(schema, "app__job_contracts")
            ),
        ),
        SourceRule(
            name="issue_date_is_inside_the_job_contract",
            table="app__invoices",
            description="An invoice is issued between its job contract's start_date and end_date (open: no end).",
            blocking=True,
            evaluate=lambda con, schema, as_of: invoices_fall_inside_their_contract(
                con, _relation(schema, "app__invoices"), _relation(schema, "app__job_contracts")
            ),
            other_tables=("app__job_contracts",),
        ),
        SourceRule(
            name="amount_is_positive_with_two_decimals",
            table="app__invoices",
            description="An invoice amount is greater than 0 and has at most 2 decimals.",
            blocking=True,
            evaluate=lambda con, schema, as_of: invoice_amounts_are_positive_with_two_decimals(
                con, _relation(schema, "app__invoices")
            ),
        ),
        SourceRule(
            name="references_run_in_sequence",
            table="app__invoices",
            description=(
                "Invoice references are JMP + digits and run in sequence with no gap; "
                "the missing numbers are listed. A warning: the amounts stay right."
            ),
            blocking=False,
            evaluate=lambda con, schema, as_of: invoice_references_run_in_sequence(
                con, _relation(schema, "app__invoices")
            ),
        ),
        SourceRule(
            name="no_invoice_after_the_as_of_date",
            table="app__invoices",
            description="No invoice is issued after the as-of date (JUMP_AS_OF). A warning.",
            blocking=False,
            evaluate=lambda con, schema, as_of: nothing_dated_after(
                con, _relation(schema, "app__invoices"), INVOICES.primary_key, "issue_date", as_of
            ),
        ),
        SourceRule(
            name="no_job_contract_starts_after_the_as_of_date",
            table="app__job_contracts",
            description="No job contract starts after the as-of date (JUMP_AS_OF). A warning.",
            blocking=False,
            evaluate=lambda con, schema, as_of: nothing_dated_after(
                con, _relation(schema, "app__job_contracts"), JOB_CONTRACTS.primary_key, "start_date", as_of
            ),
        ),
        SourceRule(
            name="satisfaction_score_is_between_0_and_10",
            table="crm__customers",
            description=f"A CRM satisfaction score, when present, is between {low} and {high}.",
            blocking=True,
            evaluate=lambda con, schema, as_of: values_between(
                con,
                _relation(schema, "crm__customers"),
                CONTRACTS["crm__customers"].primary_key,
                "satisfaction_score",
                low,
                high,
            ),
        ),
    ]
    return rules


SOURCE_RULES: list[SourceRule] = _build_source_rules()


def evaluate_source_rules(
    con: duckdb.DuckDBPyConnection, as_of: date, schema: str = "sources"
) -> dict[tuple[str, str], RuleResult]:
    """Run every source rule; results keyed by (table, rule name)."""
    return {(rule.table, rule.name): rule.evaluate(con, schema, as_of) for rule in SOURCE_RULES}


def failing_rules(results: Mapping[tuple[str, str], RuleResult]) -> set[tuple[str, str]]:
    return {key for key, result in results.items() if not result.passed}
