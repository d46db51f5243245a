"""The dbt models (staging, intermediate, marts) as Dagster assets, in one lineage graph with
the Python source assets, and dbt's tests as their asset checks.

The business rules of the source tables are dbt tests on the sources (generated into
`dbt_project/models/staging/_sources.yml` from `jump_platform/sources/contracts.py`): dagster-dbt
shows them as asset checks of the source assets (`sources/app__invoices`...). They run in the same
`dbt build` as the models, before the models that read their table, so they judge the data as it is
each time: a failed `error` test makes dbt skip every model downstream of its table, and the check's
failure stops the exports and the publish (write-audit-publish, `jump_platform/lakehouse/`). A
`warn` test only warns. Each failed check carries the rows it failed on: dagster-dbt's count, and a
sample read back after dbt exits (`jump_platform/failed_rows.py`).
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtProject,
    dbt_assets,
)
from pydantic import Field

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.catalog import MARTS_FRESHNESS, OWNERS
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.transform.resources import (
    LakehouseDbtCliResource,
    dbt_invocation_env,
    dbt_project,
    dbt_target_path,
)
from jump_platform.failed_rows import failed_nodes, offending_rows_by_file, one_line, origins_query, sample_failed_rows
from jump_platform.io_manager import markdown_preview
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.warehouses import Warehouse

# The schema of the export views (dbt_project/exports/); each one is written to a CSV by
# `defs/exports/assets.py`.
EXPORTS_SCHEMA = "exports"
# The mart every export waits for, with its blocking reconciliation test
# (dbt_project/tests/assert_monthly_turnover_reconciles_with_invoices.sql).
MONTHLY_TURNOVER = dg.AssetKey(["marts", "kpi__monthly_turnover"])


class JumpDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `[schema, name]` and grouped by schema; an export view is keyed
    `[exports, name, view]`, since the CSV written from it is `[exports, name]`. Sources map through
    their `meta.dagster.asset_key` to the Python source assets, and their tests are checks of those
    assets. A check is described by its test's description. Models follow their upstream assets:
    when one updates, the automation condition sensor brings them up to date (eager)."""

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

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        # dagster-dbt reads a description from the test's meta only; ours are the tests' own.
        described = spec.description or manifest["nodes"][unique_id].get("description") or None
        consequence = (
            "Blocking: what reads it waits for clean data, and nothing is published." if spec.blocking else "A warning only."
        )
        return dg.AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=f"{described} {consequence}" if described else consequence,
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
        )

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


translator = JumpDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
)


def dbt_build_args(full_refresh: bool = False) -> list[str]:
    """`dbt build` with one thread per core, without dbt's unit tests; with `--full-refresh` when
    asked (the incremental models rebuilt whole, see dbt_project/macros/incremental_months.sql).

    Unit tests check the models' logic on fixed rows, not the data: they run in `make test` (and
    with `dbt build` by hand), as dbt advises, and a run does not pay for them.
    """
    args = ["build", "--threads", str(settings.dbt_threads()), "--exclude-resource-type", "unit_test"]
    return [*args, "--full-refresh"] if full_refresh else args


class DbtBuildConfig(dg.Config):
    """How a run builds the dbt models: incrementally by default, whole with `full_refresh`."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild every incremental model (the invoices, the month grids, the turnover reports) "
        "whole instead of only the months whose rows changed: `make run FULL_REFRESH=1`.",
    )


def table_facts(warehouse: Warehouse, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, dict[str, Any]]:
    """Column schema of each model as built in the build, and its row count if it is a table.

    A view's rows are not counted: counting them would run its query once more (a staging view
    deduplicates its whole source table).
    """
    return dict(zip(keys, warehouse.table_facts([(key.path[0], key.path[1]) for key in keys]), strict=True))


def _metadata_value(metadata: Mapping[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return getattr(value, "value", value)


def failed_check_details(
    warehouse: Warehouse, result: dg.AssetCheckResult, tests: Mapping[str, Mapping[str, Any]]
) -> dg.AssetCheckResult:
    """A failed check as dagster-dbt reports it, with what a user looks for: how many rows break the
    rule (`offending_rows`), a sample of their keys (`sample_ids`) and of the rows themselves
    (`sample_rows`, with what is wrong with each), or dbt's error when the test could not run.
    `tests` holds dbt's run results by node id."""
    test = tests.get(_metadata_value(result.metadata, "unique_id"), {})
    offending = _metadata_value(result.metadata, "dagster_dbt/failed_row_count")
    details: dict[str, Any] = {}
    if test.get("status") == "error" or offending is None:
        message = (test.get("message") or "the test could not run").strip()
        details["error"] = dg.MetadataValue.text(message)
        description = f"Could not judge: {message.splitlines()[0]}"
    else:
        details["offending_rows"] = int(offending)
        description = f"{int(offending)} offending row(s)."
        if test.get("compiled_code"):
            try:
                sample = sample_failed_rows(warehouse.query, test["compiled_code"])
            except Exception as error:  # the sample is a help, not the verdict, on whatever engine
                details["sample_error"] = dg.MetadataValue.text(str(error).splitlines()[0])
            else:
                details["sample_ids"] = dg.MetadataValue.text(", ".join(sample.sample_ids))
                details["sample_rows"] = dg.MetadataValue.table(
                    records=[dg.TableRecord(record) for record in sample.records],
                    schema=dg.TableSchema(columns=[dg.TableColumn(name) for name in sample.columns]),
                )
    return dg.AssetCheckResult(
        passed=result.passed,
        asset_key=result.asset_key,
        check_name=result.check_name,
        severity=result.severity,
        metadata={**result.metadata, **details},
        description=description,
    )


def offending_rows_of_rule(warehouse: LakehouseBuild, result: dg.AssetCheckResult, test: Mapping[str, Any]) -> dict[str, str]:
    """`{"<batch id>/<file>": the rule and the offending rows from that file, with their lines}` for
    a failed rule on a source table with a one-column key (its test returns `offending_key`s): read
    back from the load metadata of the rows (`_source_file`, `_source_line`). Empty when the rule
    is on no source table, or the rows cannot be read back (the reason then names the rule alone)."""
    table = result.asset_key.path[-1]
    contract = CONTRACTS.get(table)
    if (
        result.asset_key.path[0] != "sources"
        or contract is None
        or len(contract.primary_key) != 1
        or not test.get("compiled_code")
    ):
        return {}
    sql = origins_query(warehouse.relation("sources", table), contract.primary_key[0], test["compiled_code"])
    try:
        origins = warehouse.query(sql)
    except Exception:  # a help beside the verdict, on whatever engine: the rule's name still says why
        return {}
    return offending_rows_by_file(origins, warehouse.state.batches, f"{result.check_name} ({test.get('unique_id')})")


def _run_results(invocation: DbtCliInvocation) -> dict[str, Any]:
    """dbt's results of this invocation (none when dbt stopped before running anything)."""
    try:
        return invocation.get_artifact("run_results.json")
    except (OSError, ValueError):
        return {}


def unexplained_failures(run_results: Mapping[str, Any], failed_checks: set[str]) -> list[str]:
    """The dbt nodes that failed (an error, or a failed test) other than the tests reported as failed
    blocking checks: those fail the step by themselves (Dagster stops what follows a failed blocking
    check), anything else must fail it here."""
    return sorted(
        result["unique_id"]
        for result in run_results.get("results", [])
        if result["status"] in ("error", "fail", "runtime error") and result["unique_id"] not in failed_checks
    )


# The layers whose tables get a preview in the catalog, as the sources have (a view's would run it).
PREVIEWED = ("intermediate", "marts")


def preview(warehouse: Warehouse, key: dg.AssetKey, rows: int = 5) -> dict[str, Any]:
    """A few rows of an intermediate or mart table, as the sources' materializations show them."""
    schema, table = key.path[:2]
    if schema not in PREVIEWED:
        return {}
    return {"preview": dg.MetadataValue.md(markdown_preview(warehouse.head(schema, table, rows)))}


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, pool="lakehouse")
def jump_dbt_models(
    context: dg.AssetExecutionContext, dbt: LakehouseDbtCliResource, warehouse: LakehouseBuild, config: DbtBuildConfig
) -> Iterator[Any]:
    """Build the selected dbt models and run their tests and the source tables' rules, as one dbt
    invocation, in the build, on the warehouse `JUMP_WAREHOUSE` picks. The models built by month
    rewrite only the months whose rows changed, unless the run's config asks for `full_refresh`.

    dbt holds the DuckDB file while it runs, so the row counts and column schemas, and the rows a
    failed test found, are read after it exits, and the events are reported then.
    """
    invocation = dbt.cli_with_env(
        dbt_build_args(config.full_refresh),
        env=dbt_invocation_env(warehouse.open(writing=True), run_as_of(context)),
        context=context,
        raise_on_error=False,
        target_path=dbt_target_path(),
    )
    events = list(invocation.stream())
    run_results = _run_results(invocation)
    tests = {result["unique_id"]: result for result in run_results.get("results", [])}
    built = [context.asset_key_for_output(event.output_name) for event in events if isinstance(event, dg.Output)]
    warehouse.record_written(built)
    metadata = table_facts(warehouse, built)
    failed_checks: set[str] = set()
    for event in events:
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            event = event.with_metadata({**event.metadata, **metadata[key], **preview(warehouse, key)})
        elif isinstance(event, dg.AssetCheckResult) and not event.passed:
            event = failed_check_details(warehouse, event, tests)
            spec = context.assets_def.get_spec_for_check_key(dg.AssetCheckKey(event.asset_key, event.check_name))
            if event.severity == dg.AssetCheckSeverity.ERROR and spec.blocking:
                unique_id = _metadata_value(event.metadata, "unique_id")
                failed_checks.add(unique_id)
                # Where its rows came from, said beside each file if the audit rejects the batch.
                warehouse.note_offending_rows(offending_rows_of_rule(warehouse, event, tests.get(unique_id, {})))
        yield event
    if not invocation.is_successful() and (unexplained_failures(run_results, failed_checks) or not failed_checks):
        # One line (the reason each rejected file carries): each failed node with the database's message.
        failed = failed_nodes(run_results, exclude=failed_checks) or [one_line(str(invocation.get_error()))]
        raise dg.Failure(
            description=one_line(f"dbt build failed: {'; '.join(failed)}", limit=2000),
            metadata={"failed_nodes": dg.MetadataValue.md("\n".join(f"- {node}" for node in failed))},
        )
