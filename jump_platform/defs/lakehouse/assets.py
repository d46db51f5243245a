"""`lakehouse/published`: the publish of write-audit-publish, as an asset downstream of everything a
run writes.

Runs write and check the build; this asset makes it what readers see, at the end of a run whose
blocking checks all passed (a failed blocking check upstream skips it). See `jump_platform/lakehouse/`.
"""

import functools
from collections.abc import Iterator

import dagster as dg

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.catalog import OWNERS
from jump_platform.defs.exports.assets import EXPORT_VIEWS, csv_exports
from jump_platform.defs.lakehouse.resources import PUBLISHED, LakehouseBuild
from jump_platform.defs.sources.assets import load_sources
from jump_platform.defs.transform.assets import jump_dbt_models
from jump_platform.lakehouse import snapshots

# Everything a run writes into the build: the sources, the dbt models and the exports.
BUILT = sorted({*load_sources.keys, *jump_dbt_models.keys, *csv_exports.keys})


@functools.cache
def downstream_in_build() -> dict[str, set[str]]:
    """For each asset written into the build, the build's assets downstream of it (from the specs'
    dependencies: Dagster's asset graph has no public constructor)."""
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {key: set() for key in BUILT}
    for assets in (load_sources, jump_dbt_models, csv_exports):
        for spec in assets.specs:
            for dep in spec.deps:
                children.setdefault(dep.asset_key, set()).add(spec.key)
    downstream: dict[str, set[str]] = {}
    for key in BUILT:
        seen: set[dg.AssetKey] = set()
        waiting = list(children[key])
        while waiting:
            other = waiting.pop()
            if other not in seen:
                seen.add(other)
                waiting.extend(children.get(other, ()))
        downstream[key.to_user_string()] = {other.to_user_string() for other in seen & set(BUILT) - {key}}
    return downstream


@dg.asset(
    key=PUBLISHED,
    deps=BUILT,
    group_name="lakehouse",
    owners=OWNERS,
    kinds={settings.warehouse()},
    output_required=False,
    pool="lakehouse",
    # After the marts refresh (in a run that did not publish, say from the UI), publish them.
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "The published lakehouse, `data/lakehouse/lakehouse.duckdb`, and its exports in `data/exports/`: "
        "what analysts, `make query`, dbt docs and BI tools read, read-only. Runs write and check a build "
        "copy; this publishes it, atomically, once every blocking check of the run passed and every change "
        "in it went through the models and exports downstream. Readers of the previous snapshot keep "
        "reading it until they reconnect; `make rollback` puts it back."
    ),
)
def published_lakehouse(context: dg.AssetExecutionContext, warehouse: LakehouseBuild) -> Iterator[dg.MaterializeResult]:
    """Publish the build, or say why not (the run then leaves it for a later publish)."""
    outcome = warehouse.publish(
        as_of=run_as_of(context).isoformat(),
        export_names=list(EXPORT_VIEWS),
        downstream=downstream_in_build(),
    )
    if isinstance(outcome, str):
        context.log.warning(f"Not published: {outcome}.")
        context.log_event(dg.AssetObservation(asset_key=PUBLISHED, metadata={"not_published": outcome}))
        return
    yield dg.MaterializeResult(metadata=publish_metadata(outcome))


def publish_metadata(published: snapshots.Published) -> dict[str, object]:
    snapshot = published.snapshot
    return {
        "snapshot_id": snapshot.snapshot_id,
        "run_id": snapshot.run_id,
        "as_of": snapshot.as_of,
        "path": dg.MetadataValue.path(str(published.path)),
        "size_mib": round(published.size_bytes / 2**20, 1),
        "tables": dg.MetadataValue.text(", ".join(published.tables)),
        "table_count": len(published.tables),
        "batches": dg.MetadataValue.text(", ".join(snapshot.batches) or "none"),
        "publish_seconds": round(published.seconds, 2),
        "copied_by": published.copied_by,
        **({"free_block_share": round(published.free_block_share, 3)} if published.free_block_share is not None else {}),
    }
