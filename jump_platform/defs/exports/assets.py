"""The `exports` group: every dbt model in `dbt_project/exports/`, a view in schema `exports` that
the dbt build makes, streamed to `data/exports/<name>.csv` for people who read it in a spreadsheet
(by DuckDB, from the build, or from the rows PostgreSQL or Spark stream out of it).

A run writes its exports beside the build (`data/lakehouse/build/exports/`), from the build; they
reach `data/exports/` when the build is published, so the exports people read always come from the
published lakehouse.

Adding a model to that folder adds an export: the specs come from the dbt manifest, each export
downstream of its view. The view is built in the same dbt invocation as every other model, so an
export needs no dbt call of its own; it runs after the checks on the models it reads.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from jump_platform import settings
from jump_platform.defs.catalog import OWNERS
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.transform.assets import EXPORTS_SCHEMA, MONTHLY_TURNOVER, translator
from jump_platform.defs.transform.resources import dbt_project


def _export_views() -> dict[str, dict]:
    """The export views of the dbt manifest, by name."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    views = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == EXPORTS_SCHEMA
    }
    return dict(sorted(views.items()))


EXPORT_VIEWS = _export_views()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["exports", name]),
            description=(node.get("description") or f"Export of the dbt view `{EXPORTS_SCHEMA}.{name}`.")
            + f"\n\nPublished to `data/exports/{name}.csv` with the lakehouse, from the view `{EXPORTS_SCHEMA}.{name}`.",
            # Every export also waits for the monthly turnover and its blocking reconciliation test
            # (dbt_project/tests/): nothing is exported from marts that do not add up.
            deps=[translator.get_asset_key(node), MONTHLY_TURNOVER],
            group_name="exports",
            owners=OWNERS,
            kinds={"csv", settings.warehouse()},
            metadata={"path": f"data/exports/{name}.csv", "view": f"{EXPORTS_SCHEMA}.{name}"},
            skippable=True,
            # Rewritten as soon as a model it reads changes (see defs/automation/sensors.py).
            automation_condition=dg.AutomationCondition.eager(),
        )
        for name, node in EXPORT_VIEWS.items()
    ],
    can_subset=True,
    pool="lakehouse",
)
def csv_exports(context: dg.AssetExecutionContext, warehouse: LakehouseBuild) -> Iterator[dg.MaterializeResult]:
    """Stream each selected export view of the build into its CSV beside the build (a temporary
    file, then renamed); the publish puts them in `data/exports/`."""
    warehouse.open(writing=True)
    for key in sorted(context.selected_asset_keys):
        name = key.path[-1]
        staged = warehouse.layout.build_exports / f"{name}.csv"
        rows = warehouse.export_csv(EXPORTS_SCHEMA, name, staged)
        warehouse.record_written([key])
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": rows,
                "path": dg.MetadataValue.path(str(warehouse.layout.exports / staged.name)),
                "staged_at": dg.MetadataValue.path(str(staged)),
            },
        )
