"""The `exports` group: every dbt analysis in `dbt_project/analyses/`, written to
`data/exports/<name>.csv` for people who read it in a spreadsheet.

Adding a `.sql` file to the analyses folder adds an export: the specs come from the dbt manifest,
with the models each analysis reads as upstream assets.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.transform.assets import dbt_vars, translator, use_lakehouse_path
from jump_platform.defs.transform.checks import MONTHLY_TURNOVER
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.exports import for_spreadsheet
from jump_platform.files import write_csv_atomically
from jump_platform.warehouses import Warehouse


def _analyses() -> dict[str, dict]:
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    analyses = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "analysis":
            upstream = [translator.get_asset_key(nodes[uid]) for uid in node["depends_on"]["nodes"] if uid in nodes]
            analyses[node["name"]] = {**node, "upstream": upstream}
    return dict(sorted(analyses.items()))


ANALYSES = _analyses()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["exports", name]),
            description=(node.get("description") or f"Export of the dbt analysis `{name}`.")
            + f"\n\nWritten to `data/exports/{name}.csv`.",
            # Every export also waits for the monthly turnover and its blocking reconciliation check
            # (defs/transform/checks.py): nothing is exported from marts that do not add up.
            deps=list(dict.fromkeys([*node["upstream"], MONTHLY_TURNOVER])),
            group_name="exports",
            kinds={"csv", settings.warehouse()},
            metadata={"path": f"data/exports/{name}.csv", "analysis": node["original_file_path"]},
            skippable=True,
            # Rewritten as soon as a model it reads changes (see defs/automation/sensors.py).
            automation_condition=dg.AutomationCondition.eager(),
        )
        for name, node in ANALYSES.items()
    ],
    can_subset=True,
    pool="lakehouse",
)
def analysis_exports(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    """Compile the selected analyses with dbt, run them on the warehouse, write each CSV atomically."""
    names = [key.path[-1] for key in context.selected_asset_keys]
    use_lakehouse_path()
    arguments = ["compile", "--select", *names, "--vars", dbt_vars(run_as_of(context))]
    invocation = dbt.cli(arguments, raise_on_error=True).wait()
    for name in names:
        compiled = Path(invocation.target_path) / "compiled" / dbt_project.name / ANALYSES[name]["original_file_path"]
        frame = for_spreadsheet(warehouse.query(compiled.read_text()))
        path = settings.exports_dir() / f"{name}.csv"
        rows = write_csv_atomically(frame, path)
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["exports", name]),
            metadata={"dagster/row_count": rows, "path": dg.MetadataValue.path(str(path))},
        )
