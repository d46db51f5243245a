"""The monthly invoices: a partitioned job that delivers demo invoices month by month.

It stands in for the Jump app delivering one increment per month, `data/sources/app/invoices/
<YYYY-MM>.csv`, which the landing-zone sensor then loads like any delivery: it is a producer of
landing-zone files, outside the lakehouse's asset graph, like the real deliveries it imitates. As
a job (not a partitioned asset) it keeps the graph unpartitioned, so *Materialize all* on the
global lineage and job `refresh` launch without asking for partitions.
"""

import dataclasses
import datetime as dt

import dagster as dg

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.sources.assets import ExtractConfig, ensure_generator_on
from jump_platform.defs.sources.partitions import INVOICE_MONTHS
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.extracts import write_invoice_months


@dg.op
def write_monthly_invoices(context: dg.OpExecutionContext, config: ExtractConfig) -> None:
    """Draw the invoices of the run's issue months and write one increment file per month.

    A run holds one month (a schedule tick, a backfill from the job's Partitions page) or a range
    of months (`dagster job launch` with the `dagster/asset_partition_range_start` and `_end` tags,
    or the schedule's catch-up). The generator draws each month from its own random stream, with
    references continuing from the months before, so a month drawn alone is exactly that month of
    the full snapshot `app/invoices.csv`: every month delivered gives staging the same invoices as
    an unpartitioned run, hence the same marts.

    Anomalies (config or JUMP_ANOMALIES) are not injected here: they rewrite rows across tables.
    """
    ensure_generator_on()
    window = context.partition_time_window
    first_month, end = window.start.date(), window.end.date()
    params = config.params(run_as_of(context))
    # Months after the run's as-of date have no invoices yet; the month of the as-of date is cut at it.
    params = dataclasses.replace(params, as_of=min(params.as_of, end - dt.timedelta(days=1)))
    root = settings.landing_dir()
    contract = CONTRACTS["app__invoices"]
    rows_by_month = write_invoice_months(params, root, first_month, config.file_format())
    context.log.info(
        f"Wrote {sum(rows_by_month.values())} invoices in {len(rows_by_month)} monthly file(s) "
        f"under {root / contract.system / contract.name}: {rows_by_month}"
    )


@dg.job(
    partitions_def=INVOICE_MONTHS,
    description="Write the demo invoices of a month as an increment in the landing zone "
    "(`data/sources/app/invoices/<YYYY-MM>.csv`); the landing-zone sensor loads it.",
)
def invoices_by_month() -> None:
    write_monthly_invoices()
