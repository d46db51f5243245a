"""Asset checks that stop bad data where it enters the lakehouse.

One check per business rule of `jump_platform.sources.rules.SOURCE_RULES`, on the source table it
judges. A blocking check that fails keeps every downstream asset (staging, intermediate, marts,
exports) from materializing in that run, so the marts keep the numbers of the last good run.
Warnings (reference gaps, dates after the as-of date) are reported without stopping anything.

A check runs whenever its table is loaded, against the other tables as they are now: a rule that
reads other tables (an invoice's client must exist...) does not wait for them to be re-loaded, so
an invoices-only delivery is judged against the clients and contracts already in the lakehouse. And
since a failed check is no longer there to stop a later run that does not load its table (`make
transform` after a failed `make load`, a clients-only delivery), the dbt step judges the sources
again before building (`blocking_rule_failures`, see defs/transform/assets.py).

Every check records `offending_rows` and `sample_ids` (at most 10) in its metadata, plus the
rule's extras (missing references, unexpected values...). The SQL runs inside DuckDB: the
lakehouse itself by default, or an in-memory DuckDB holding the judged tables of the PostgreSQL or
Spark warehouse (`Warehouse.rules_connection`); only counts and samples come back.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from jump_platform import settings
from jump_platform.defs.sources.assets import source_key
from jump_platform.sources.rules import SOURCE_RULES, RuleResult, SourceRule
from jump_platform.warehouses import Warehouse

SOURCES_SCHEMA = "sources"


def missing_tables(con: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """The `sources.<table>` names among `tables` that do not exist in the lakehouse."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [SOURCES_SCHEMA]
        ).fetchall()
    }
    return [f"{SOURCES_SCHEMA}.{table}" for table in tables if table not in present]


def _metadata_value(value: Any) -> Any:
    if isinstance(value, list):
        return dg.MetadataValue.text(", ".join(str(item) for item in value))
    return value


def check_result(result: RuleResult, blocking: bool) -> dg.AssetCheckResult:
    """A rule's verdict as Dagster shows it: passed, severity, counts and a sample of ids."""
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=result.rule if result.passed else f"{result.offending_rows} row(s) break: {result.rule}",
        metadata={
            "offending_rows": result.offending_rows,
            "sample_ids": dg.MetadataValue.text(", ".join(result.sample_ids)),
            **{name: _metadata_value(value) for name, value in result.extras.items()},
        },
    )


def _source_check(rule: SourceRule) -> dg.AssetChecksDefinition:
    consequence = "Blocking: downstream assets wait for clean data." if rule.blocking else "Warning only."

    @dg.asset_check(
        asset=source_key(rule.table),
        name=rule.name,
        description=f"{rule.description} {consequence}",
        blocking=rule.blocking,
        # No `additional_deps` on `rule.other_tables`: in a run that loads this table but not the
        # others (load_sources yields only the tables delivered), the check would be skipped as
        # "upstream failed" and stop nothing. It reads the other tables as they are.
        # A DuckDB connection locks the file, reading or writing: one step of the pool at a time.
        pool="lakehouse",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        tables = [rule.table, *rule.other_tables]
        with warehouse.rules_connection([(SOURCES_SCHEMA, table) for table in tables]) as con:
            missing = missing_tables(con, [rule.table, *rule.other_tables])
            if missing:
                # E.g. a run that loaded job contracts into a lakehouse that never held users.
                return dg.AssetCheckResult(
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
                    description=f"Cannot judge the rule: {', '.join(missing)} not in the lakehouse yet.",
                    metadata={"missing_tables": ", ".join(missing)},
                )
            result = rule.evaluate(con, SOURCES_SCHEMA, settings.as_of_date())
        return check_result(result, rule.blocking)

    return _check


def check_key(rule: SourceRule) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(source_key(rule.table), rule.name)


def blocking_rule_failures(con: duckdb.DuckDBPyConnection, rules: list[SourceRule]) -> list[tuple[SourceRule, str]]:
    """The blocking rules among `rules` that the current source tables break, each with the
    reason: the offending rows (a sample of their ids), or the tables missing to judge it."""
    failures = []
    for rule in (r for r in rules if r.blocking):
        missing = missing_tables(con, [rule.table, *rule.other_tables])
        if missing:
            failures.append((rule, f"cannot be judged: {', '.join(missing)} not in the lakehouse"))
            continue
        result = rule.evaluate(con, SOURCES_SCHEMA, settings.as_of_date())
        if not result.passed:
            sample = f" (e.g. {', '.join(result.sample_ids)})" if result.sample_ids else ""
            failures.append((rule, f"{result.offending_rows} row(s) break it{sample}"))
    return failures


source_checks: list[dg.AssetChecksDefinition] = [_source_check(rule) for rule in SOURCE_RULES]
