"""The dbt models (staging, intermediate, marts) as Dagster assets, in one lineage graph with
the Python source assets."""

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.sources.checks import SOURCES_SCHEMA, blocking_rule_failures, check_key
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.sources.rules import SOURCE_RULES
from jump_platform.warehouses import Warehouse


class JumpDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `[schema, name]` and grouped by schema; sources map through their
    `meta.dagster.asset_key` to the Python source assets. Models follow their upstream assets:
    when one updates, the automation condition sensor brings them up to date (eager)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["schema"]
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AutomationCondition.eager()
        return None


translator = JumpDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_vars(as_of: dt.date) -> str:
    """Variables every dbt command gets: the as-of date the marts describe (see `run_as_of`)."""
    return json.dumps({"as_of_date": as_of.isoformat()})


def use_lakehouse_path() -> None:
    """dbt runs in a subprocess whose profile reads JUMP_WAREHOUSE (the target) and the engine's
    connection variables (JUMP_DUCKDB_PATH, PG*, JUMP_SPARK_DIR): point it at our lakehouse."""
    os.environ.update(settings.dbt_env())


def checks_passed_in_this_run(context: dg.AssetExecutionContext) -> set[dg.AssetCheckKey]:
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    evaluations = [r.event_log_entry.dagster_event.asset_check_evaluation_data for r in records]
    return {e.asset_check_key for e in evaluations if e.passed}


def source_tables_upstream(context: dg.AssetExecutionContext) -> set[str]:
    """The `sources` tables the selected models read, directly or not."""
    graph = context.job_def.asset_layer.asset_graph
    upstream = {key for selected in context.selected_asset_keys for key in graph.upstream_key_iterator(selected)}
    return {key.path[-1] for key in upstream if key.path[0] == "sources"}


def refuse_unchecked_sources(context: dg.AssetExecutionContext, warehouse: Warehouse) -> None:
    """Build on sources that hold every blocking rule, or not at all (until write-audit-publish).

    A blocking check that fails stops the dbt step of its own run; a run that does not load the
    table (`make transform` after a failed `make load`, a delivery of another table) would not see
    it. So every blocking rule on the tables the selected models read that did not pass earlier in
    this run is judged again, here, on the tables dbt is about to read: the run holds the lakehouse
    from its first step to its last (jump_platform/runs.py), so what passed earlier in the run is
    still what dbt reads.
    """
    passed = checks_passed_in_this_run(context)
    tables = source_tables_upstream(context)
    rules = [
        rule
        for rule in SOURCE_RULES
        if rule.blocking and {rule.table, *rule.other_tables} <= tables and check_key(rule) not in passed
    ]
    tables_judged = sorted({table for rule in rules for table in (rule.table, *rule.other_tables)})
    with warehouse.rules_connection([(SOURCES_SCHEMA, table) for table in tables_judged]) as con:
        failures = blocking_rule_failures(con, rules)
    if not failures:
        return
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [check_key(rule) for rule, _ in failures]
    )
    lines = []
    for rule, reason in failures:
        line = f"- sources.{rule.table} / {rule.name}: {reason}."
        if (record := latest.get(check_key(rule))) is not None:
            when = dt.datetime.fromtimestamp(record.create_timestamp).strftime("%Y-%m-%d %H:%M:%S")
            line += f" Last checked {when} in run {record.run_id}: {record.status.value.lower()}."
        lines.append(line)
    raise dg.Failure(
        description=f"Not building the models: {len(failures)} blocking check(s) fail on the sources as "
        "they are now. The marts keep the last good build; deliver corrected files, then run again.\n"
        + "\n".join(lines),
        metadata={"failing_checks": ", ".join(f"{rule.table}.{rule.name}" for rule, _ in failures)},
    )


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, pool="lakehouse")
def jump_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse) -> Iterator[Any]:
    """Build the selected dbt models and run their tests, as one dbt invocation, on the warehouse
    `JUMP_WAREHOUSE` picks, on sources that hold every blocking rule (see `refuse_unchecked_sources`).

    dbt holds the DuckDB file while it runs, so the row counts and column schemas are read
    after it exits, and the events are reported then.
    """
    refuse_unchecked_sources(context, warehouse)
    use_lakehouse_path()
    invocation = dbt.cli(["build", "--vars", dbt_vars(run_as_of(context))], context=context, raise_on_error=False)
    events = list(invocation.stream())
    for event in events:
        if isinstance(event, dg.Output):
            schema, table = context.asset_key_for_output(event.output_name).path[-2:]
            event = event.with_metadata({**event.metadata, **warehouse.table_facts(schema, table)})
        yield event
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")
