"""The dbt models (staging, intermediate, marts) as Dagster assets, in one lineage graph with
the Python source assets."""

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.sql import qualified


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


def point_dbt_at(build: Path) -> None:
    """dbt runs in a subprocess whose profile reads JUMP_BUILD_DUCKDB_PATH: point it at the build
    this run holds (never at the published file)."""
    os.environ["JUMP_BUILD_DUCKDB_PATH"] = str(build)


def table_facts(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Row count and column schema of a model as built in the lakehouse."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    return {
        "dagster/row_count": con.execute(f"select count(*) from {qualified(schema, table)}").fetchone()[0],
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, str(kind)) for name, kind in columns]),
    }


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, pool="lakehouse")
def jump_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: LakehouseBuild) -> Iterator[Any]:
    """Build the selected dbt models and run their tests, as one dbt invocation, in the build.

    dbt holds the DuckDB file while it runs, so the row counts and column schemas are read
    after it exits, and the events are reported then.
    """
    point_dbt_at(duckdb.open(writing=True))
    invocation = dbt.cli(["build", "--vars", dbt_vars(run_as_of(context))], context=context, raise_on_error=False)
    events = list(invocation.stream())
    built = [context.asset_key_for_output(event.output_name) for event in events if isinstance(event, dg.Output)]
    duckdb.record_written(built)
    with duckdb.get_connection() as con:
        for event in events:
            if isinstance(event, dg.Output):
                schema, table = context.asset_key_for_output(event.output_name).path[-2:]
                event = event.with_metadata({**event.metadata, **table_facts(con, schema, table)})
            yield event
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")
