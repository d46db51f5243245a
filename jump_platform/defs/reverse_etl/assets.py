"""The `reverse_etl` group: marts pushed back into the tools teams work in, with dlt.

- `reverse_etl/crm__freelancer_health` (PostgreSQL): marts.freelancer_health into the CRM database,
  table `crm.freelancer_health`, keyed by the CRM's own key (last name, first name, email).
- `reverse_etl/finance__monthly_kpis` (HTTP): marts.kpi__monthly_turnover_by_entity posted as JSON
  batches to finance's endpoint.

Each sync sends only what changed since the last one, deletes or flags rows that left the mart
(`JUMP_SYNC_DELETED`), retries transient failures, and records the rows inserted, updated, deleted
and failed as metadata. A sync whose target is not configured is skipped (nothing materialized);
one that fails fails its asset, which the run-failure notification reports. Logic:
`jump_platform/reverse_etl/`.
"""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import dagster as dg

from jump_platform import published, settings
from jump_platform.defs.catalog import OWNERS
from jump_platform.defs.lakehouse.resources import PUBLISHED
from jump_platform.notifications import check_webhook_url
from jump_platform.reverse_etl.runner import SyncFailedError, SyncRetries, SyncSpec, result_metadata, run_sync
from jump_platform.reverse_etl.targets import http_destination, postgres_destination

if TYPE_CHECKING:
    from dlt.common.destination import Destination

CRM_SYNC = SyncSpec(
    name="crm__freelancer_health",
    table="freelancer_health",
    keys=("last_name", "first_name", "email"),
    dataset="crm",
)
KPI_SYNC = SyncSpec(name="finance__monthly_kpis", table="kpi__monthly_turnover_by_entity", keys=("month", "entity"))

# A sync runs after each update of its mart, once the mart's blocking checks passed.
SYNC_AUTOMATION = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()


def without_password(url: str) -> str:
    """`url` with its password removed, fit for metadata and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def endpoint_origin(url: str) -> str:
    """`scheme://host[:port]` of an endpoint: its path and query may carry a token (as Slack's and
    Google's webhooks do), so they stay out of metadata and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def sync_mart(
    spec: SyncSpec, mart: str, destination_for: Callable[[int, float], "Destination"], target: str
) -> dg.MaterializeResult:
    """Read the mart from the published lakehouse, sync it, and report the counts."""
    frame = published.read_table("marts", mart)
    attempts, wait = settings.sync_retries()
    delete_mode = settings.sync_delete_mode()
    try:
        result = run_sync(
            spec,
            frame,
            destination_for(attempts, wait),
            settings.reverse_etl_dir(),
            delete_mode,
            SyncRetries(attempts=attempts, wait=wait),
        )
    except SyncFailedError as error:
        raise dg.Failure(
            description=f"Sync {spec.name} to {target} failed: {error}",
            metadata={**result_metadata(error.result), "target": target},
        ) from error
    return dg.MaterializeResult(
        metadata={**result_metadata(result), "target": target, "deleted_rows": delete_mode, "mart": f"marts.{mart}"}
    )


@dg.asset(
    key=dg.AssetKey(["reverse_etl", CRM_SYNC.name]),
    # marts.freelancer_health, as published (the sync reads only the published lakehouse)
    deps=[PUBLISHED],
    group_name="reverse_etl",
    owners=OWNERS,
    kinds={"postgres", "dlt"},
    automation_condition=SYNC_AUTOMATION,
    output_required=False,
    # it reads the lakehouse file, which no writer may hold meanwhile
    pool="lakehouse",
)
def crm__freelancer_health(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """marts.freelancer_health in the CRM's PostgreSQL database, table `crm.freelancer_health`: one row
    per freelancer, keyed by last name, first name and email, with their entity, contract status,
    last invoice, 12-month turnover, NPS category and at-risk flag, so the care team acts on it in the
    CRM. Database: `JUMP_CRM_POSTGRES_URL`, else the local cluster of `make postgres`; skipped without one.
    """
    url = settings.crm_postgres_url()
    if url is None:
        context.log.warning(
            "No CRM database configured (JUMP_CRM_POSTGRES_URL, or `make postgres` for a local one): sync skipped."
        )
        return
    target = f"{without_password(url)} table {CRM_SYNC.dataset}.{CRM_SYNC.table}"
    yield sync_mart(CRM_SYNC, "freelancer_health", lambda attempts, wait: postgres_destination(url), target)


@dg.asset(
    key=dg.AssetKey(["reverse_etl", KPI_SYNC.name]),
    # marts.kpi__monthly_turnover_by_entity, as published
    deps=[PUBLISHED],
    group_name="reverse_etl",
    owners=OWNERS,
    kinds={"http", "dlt"},
    automation_condition=SYNC_AUTOMATION,
    output_required=False,
    pool="lakehouse",
)
def finance__monthly_kpis(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """marts.kpi__monthly_turnover_by_entity posted to finance's HTTP endpoint (`JUMP_KPI_ENDPOINT_URL`)
    as JSON batches, `{"sync", "table", "rows": [...]}`, the way a Google Sheets or Slack integration
    receives them. Only new or changed months are sent. Skipped without an endpoint.
    """
    url = settings.kpi_endpoint_url()
    if url is None:
        context.log.warning("No finance endpoint configured (JUMP_KPI_ENDPOINT_URL): sync skipped.")
        return
    try:
        check_webhook_url(url, setting="JUMP_KPI_ENDPOINT_URL")
    except ValueError as error:
        raise dg.Failure(description=str(error)) from None
    yield sync_mart(
        KPI_SYNC,
        "kpi__monthly_turnover_by_entity",
        lambda attempts, wait: http_destination(url, KPI_SYNC.name, attempts, wait),
        endpoint_origin(url),
    )
