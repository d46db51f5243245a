"""One job per step of the previous platform's CLI, one that refreshes everything, and the jobs the
schedules and sensors launch (see `defs/automation/`; the monthly invoices' job is in
`defs/sources/invoices_by_month.py`).

`make extract|load|transform|export|run` run the first five.
"""

import dagster as dg

from jump_platform.defs.lakehouse.assets import PUBLISHED

# Every job that writes the lakehouse ends with its publish: what it built reaches readers once its
# blocking checks pass and everything downstream of its changes was rebuilt (`make load` alone
# leaves the marts to rebuild, so its sources wait in the build for `make transform export`).
PUBLISH = dg.AssetSelection.assets(PUBLISHED)

extract_job = dg.define_asset_job(
    "extract",
    selection=dg.AssetSelection.groups("extract"),
    description="Write demo extracts to the landing zone.",
)
load_job = dg.define_asset_job(
    "load",
    selection=dg.AssetSelection.groups("sources") | PUBLISH,
    description="Load the landing zone into `sources` (published with the models that follow them).",
)
transform_job = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.groups("staging", "intermediate", "marts") | PUBLISH,
    description="Build the dbt models (staging, intermediate, marts) and run their tests.",
)
export_job = dg.define_asset_job(
    "export",
    selection=dg.AssetSelection.groups("exports") | PUBLISH,
    description="Rewrite every export CSV, and publish them with the lakehouse.",
)
refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Extract, load, transform and export: the whole graph.",
)
load_and_refresh_job = dg.define_asset_job(
    "load_and_refresh",
    selection=dg.AssetSelection.groups("sources").downstream(),
    description="Load the landing zone into `sources`, then refresh every model and export downstream. "
    "The landing-zone sensor launches it for the tables delivered.",
)
refresh_downstream_job = dg.define_asset_job(
    "refresh_downstream",
    selection=dg.AssetSelection.groups("sources").downstream() - dg.AssetSelection.groups("sources"),
    description="Rebuild every model and export from `sources` as they are, for the run's as-of date.",
)
dashboard_job = dg.define_asset_job(
    "dashboard",
    selection=dg.AssetSelection.groups("dashboard"),
    description="Refresh the dashboard's copy of the marts from the published lakehouse.",
)
sync_job = dg.define_asset_job(
    "sync",
    selection=dg.AssetSelection.groups("reverse_etl"),
    description="Push the marts back into the CRM and finance's endpoint (reverse ETL), changes only.",
)
