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
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.catalog import MARTS_FRESHNESS, OWNERS
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.io_manager import table_metadata
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

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's description from its .yml, without dagster-dbt's "Raw SQL" section (the
        SQL is one click away, in the dbt docs and the repository)."""
        return dbt_resource_props.get("description") or f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        """dagster-dbt's spec, with the marts' freshness policy."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name == "marts":
            return spec.replace_attributes(freshness_policy=MARTS_FRESHNESS)
        return spec


translator = JumpDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_env() -> dict[str, str]:
    """The variables `profiles.yml` reads: the build this run holds (dbt never writes the published
    file) and DuckDB's memory cap inside dbt. Set by `dbt_environment`."""
    return {"JUMP_BUILD_DUCKDB_PATH": str(settings.build_duckdb_path()), "JUMP_DBT_MEMORY_LIMIT": settings.dbt_memory_limit()}


@contextmanager
def dbt_environment(build: Path, as_of: dt.date) -> Iterator[None]:
    """Set, while dbt starts, the environment its subprocess inherits: the build it writes and its
    memory cap (read by `profiles.yml`), and the run's as-of date (`JUMP_AS_OF`, read by
    `macros/as_of_date.sql` when it compiles, never when it parses).

    dagster-dbt copies this process's environment when it starts dbt (`DbtCliResource.cli`), so
    the variables are set for that call only and restored after: later steps of the process see
    their own settings. The date goes through the environment rather than `--vars` because a
    changed `--vars` makes dbt parse the whole project again.
    """
    values = {**dbt_env(), "JUMP_BUILD_DUCKDB_PATH": str(build), "JUMP_AS_OF": as_of.isoformat()}
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
    profile = hashlib.sha256(json.dumps(dbt_env(), sort_keys=True).encode()).hexdigest()[:12]
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


# The layers whose tables get a preview in the catalog, as the sources have (a view's would run it).
PREVIEWED = ("intermediate", "marts")


def preview(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """A few rows of an intermediate or mart table, as the sources' materializations show them."""
    if schema not in PREVIEWED:
        return {}
    return {"preview": table_metadata(con, schema, table)["preview"]}


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, pool="lakehouse")
def jump_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: LakehouseBuild) -> Iterator[Any]:
    """Build the selected dbt models and run their tests, as one dbt invocation, in the build.

    dbt holds the DuckDB file while it runs, so the row counts and column schemas are read
    after it exits, and the events are reported then.
    """
    with dbt_environment(duckdb.open(writing=True), run_as_of(context)):
        invocation = dbt.cli(dbt_build_args(), context=context, raise_on_error=False, target_path=dbt_target_path())
    events = list(invocation.stream())
    built = [context.asset_key_for_output(event.output_name) for event in events if isinstance(event, dg.Output)]
    duckdb.record_written(built)
    with duckdb.get_connection() as con:
        for event in events:
            if isinstance(event, dg.Output):
                schema, table = context.asset_key_for_output(event.output_name).path[:2]
                event = event.with_metadata({**event.metadata, **table_facts(con, schema, table), **preview(con, schema, table)})
            yield event
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")
