"""Asset checks that stop bad data where it enters the lakehouse.

One check per business rule of `jump_platform.sources.rules.SOURCE_RULES`, on the source table it
judges, in the run's build. The rules of one table run together, as one step on one DuckDB
connection: a step of its own per check would cost each of them a step's start-up and
bookkeeping, several times its query at the demo scale. A blocking check that fails keeps every
downstream asset (staging, intermediate, marts, exports, and the publish) from materializing in
that run: nothing of the run is published, and the next run starts its build again from the
published lakehouse (see `jump_platform/lakehouse/`), so no later run builds on the rows it
refused. Warnings (reference gaps, dates after the as-of date) are reported without stopping
anything.

A check runs whenever its table is loaded, against the other tables as they are now: a rule that
reads other tables (an invoice's client must exist...) does not wait for them to be re-loaded, so
an invoices-only delivery is judged against the clients and contracts already in the build.

Every check records `offending_rows` and `sample_ids` (at most 10) in its metadata, plus the
rule's extras (missing references, unexpected values...). The SQL runs inside DuckDB: the build
itself by default, or an in-memory DuckDB holding the judged tables of the PostgreSQL or Spark
build (`Warehouse.rules_connection`); only counts and samples come back.
"""


import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import duckdb

from jump_platform.defs.as_of import run_as_of
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


def check_result(
    result: RuleResult, blocking: bool, asset_key: dg.AssetKey | None = None, check_name: str | None = None
) -> dg.AssetCheckResult:
    """A rule's verdict as Dagster shows it: passed, severity, counts and a sample of ids."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=result.rule if result.passed else f"{result.offending_rows} row(s) break: {result.rule}",
        metadata={
            "offending_rows": result.offending_rows,
            "sample_ids": dg.MetadataValue.text(", ".join(result.sample_ids)),
            **{name: _metadata_value(value) for name, value in result.extras.items()},
        },
    )


def evaluate_source_rule(con: duckdb.DuckDBPyConnection, rule: SourceRule, as_of: dt.date) -> dg.AssetCheckResult:
    """Judge one rule on the lakehouse's `sources` tables; "after the as-of date" means after `as_of`."""
    key, severity = source_key(rule.table), dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN
    missing = missing_tables(con, [rule.table, *rule.other_tables])
    if missing:
        # E.g. a run that loaded job contracts into a lakehouse that never held users.
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=rule.name,
            passed=False,
            severity=severity,
            description=f"Cannot judge the rule: {', '.join(missing)} not in the lakehouse yet.",
            metadata={"missing_tables": ", ".join(missing)},
        )
    return check_result(rule.evaluate(con, SOURCES_SCHEMA, as_of), rule.blocking, key, rule.name)


def _spec(rule: SourceRule) -> dg.AssetCheckSpec:
    consequence = "Blocking: downstream assets wait for clean data." if rule.blocking else "Warning only."
    return dg.AssetCheckSpec(
        rule.name,
        asset=source_key(rule.table),
        description=f"{rule.description} {consequence}",
        blocking=rule.blocking,
        # No `additional_deps` on `rule.other_tables`: in a run that loads this table but not the
        # others (load_sources yields only the tables delivered), the check would be skipped as
        # "upstream failed" and stop nothing. It reads the other tables as they are.
    )


def check_key(rule: SourceRule) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(source_key(rule.table), rule.name)


def _table_checks(table: str) -> dg.AssetChecksDefinition:
    rules = [rule for rule in SOURCE_RULES if rule.table == table]

    @dg.multi_asset_check(
        specs=[_spec(rule) for rule in rules],
        name=f"{table}_rules",
        can_subset=True,
        # A DuckDB connection locks the file, reading or writing: one step of the pool at a time.
        pool="lakehouse",
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        # "After the as-of date" means after the run's own as-of date (its tag, for a backfill).
        as_of = run_as_of(context)
        judged = sorted({name for rule in rules if check_key(rule) in selected for name in (rule.table, *rule.other_tables)})
        with warehouse.rules_connection([(SOURCES_SCHEMA, name) for name in judged]) as con:
            for rule in rules:
                if check_key(rule) in selected:
                    yield evaluate_source_rule(con, rule, as_of)

    _checks.__doc__ = f"Judge the selected business rules on sources.{table}, on one connection."
    return _checks


# One step per source table (not one per rule): it runs when its table is loaded, whatever other
# tables the run loads, and its rules share one connection.
source_checks: list[dg.AssetChecksDefinition] = [_table_checks(table) for table in dict.fromkeys(r.table for r in SOURCE_RULES)]
