"""The dbt models (staging, intermediate, marts) as Dagster assets, in one lineage graph with
the Python source assets."""

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.sources.checks import blocking_rule_failures, check_key
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.sources.rules import SOURCE_RULES
from jump_platform.sql import qualified


# The schema of the export views (dbt_project/exports/); each one is written to a CSV by
# `defs/exports/assets.py`.
EXPORTS_SCHEMA = "exports"


class JumpDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `[schema, name]` and grouped by schema; an export view is keyed
    `[exports, name, view]`, since the CSV written from it is `[exports, name]`. Sources map through
    their `meta.dagster.asset_key` to the Python source assets. Models follow their upstream
    assets: when one updates, the automation condition sensor brings them up to date (eager)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            schema, name = dbt_resource_props["schema"], dbt_resource_props["name"]
            return dg.AssetKey([schema, name, "view"] if schema == EXPORTS_SCHEMA else [schema, name])
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


@contextmanager
def dbt_environment(as_of: dt.date) -> Iterator[None]:
    """Set, while dbt starts, the environment its subprocess inherits: the lakehouse file and its
    memory cap (read by `profiles.yml`), and the run's as-of date
    (`JUMP_AS_OF`, read by `macros/as_of_date.sql` when it compiles, never when it parses).

    dagster-dbt copies this process's environment when it starts dbt (`DbtCliResource.cli`), so
    the variables are set for that call only and restored after: later steps of the process see
    their own settings. The date goes through the environment rather than `--vars` because a
    changed `--vars` makes dbt parse the whole project again.
    """
    values = {**settings.dbt_env(), "JUMP_AS_OF": as_of.isoformat()}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_target_path() -> Path:
    """dbt's target folder for this lakehouse: one per profile (file, memory cap), kept from run
    to run.

    dbt parses the project partially only if the profile is the one its saved parse was made with
    (`partial_parse.msgpack` in the target folder); dagster-dbt's default, a new folder for each
    invocation seeded with the parse `make prepare` made, would parse the whole project again
    whenever the lakehouse lives elsewhere than at prepare time. This one is seeded with that parse
    too, the first time (dagster-dbt copies it when the folder has none).
    """
    profile = hashlib.sha256(json.dumps(settings.dbt_env(), sort_keys=True).encode()).hexdigest()[:12]
    # Under DBT_TARGET_PATH when it is set (the Docker image keeps dbt's artifacts out of the code).
    return settings.DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target") / f"lakehouse-{profile}"


def dbt_build_args() -> list[str]:
    """`dbt build` with one thread per core."""
    return ["build", "--threads", str(settings.dbt_threads())]


def table_facts(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Column schema of a model as built in the lakehouse, and its row count if it is a table.

    A view's rows are not counted: counting them would run its query once more (a staging view
    deduplicates its whole source table).
    """
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    facts: dict[str, Any] = {
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, str(kind)) for name, kind in columns])
    }
    [(kind,)] = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()
    if kind == "BASE TABLE":
        facts["dagster/row_count"] = con.execute(f"select count(*) from {qualified(schema, table)}").fetchone()[0]
    return facts


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


def refuse_unchecked_sources(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> None:
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
    with duckdb.get_connection() as con:
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
def jump_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource) -> Iterator[Any]:
    """Build the selected dbt models and run their tests, as one dbt invocation, on sources that
    hold every blocking rule (see `refuse_unchecked_sources`).

    dbt holds the DuckDB file while it runs, so the row counts and column schemas are read
    after it exits, and the events are reported then.
    """
    refuse_unchecked_sources(context, duckdb)
    with dbt_environment(run_as_of(context)):
        invocation = dbt.cli(dbt_build_args(), context=context, raise_on_error=False, target_path=dbt_target_path())
    events = list(invocation.stream())
    with duckdb.get_connection() as con:
        for event in events:
            if isinstance(event, dg.Output):
                schema, table = context.asset_key_for_output(event.output_name).path[:2]
                event = event.with_metadata({**event.metadata, **table_facts(con, schema, table)})
            yield event
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")
