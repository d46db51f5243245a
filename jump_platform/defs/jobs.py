"""One job per step of the previous platform's CLI, and one that refreshes everything.

`make extract|load|transform|export|run` run these jobs.
"""

import dagster as dg

extract_job = dg.define_asset_job(
    "extract", selection=dg.AssetSelection.groups("extract"), description="Write demo extracts to the landing zone."
)
load_job = dg.define_asset_job(
    "load", selection=dg.AssetSelection.groups("sources"), description="Load the landing zone into `sources`."
)
transform_job = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.groups("staging", "intermediate", "marts"),
    description="Build the dbt models (staging, intermediate, marts) and run their tests.",
)
export_job = dg.define_asset_job(
    "export", selection=dg.AssetSelection.groups("exports"), description="Rewrite every export CSV."
)
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(), description="Extract, load, transform and export: the whole graph."
)

JOBS = [extract_job, load_job, transform_job, export_job, refresh_job]
