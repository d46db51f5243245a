"""Demo extracts written to the landing zone, as the Jump app and CRM would deliver them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from jump_platform.files import TABLE_FORMATS, write_table_atomically, write_tables_atomically
from jump_platform.sources.anomalies import inject_anomalies
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.generator import (
    GeneratorParams,
    contract_spans,
    generate_tables,
    iter_demo_tables,
    iter_invoice_months,
)


def snapshot_path(table: str, fmt: str = "csv") -> str:
    """Where a table's snapshot lands, relative to the landing root: `<system>/<table>.<fmt>`."""
    contract = CONTRACTS[table]
    return f"{contract.system}/{contract.name}.{fmt}"


def _check_format(fmt: str) -> None:
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"extract format must be one of {', '.join(TABLE_FORMATS)}, found {fmt!r}")


def write_demo_extracts(params: GeneratorParams, root: Path, fmt: str = "csv", anomalies: Sequence[str] = ()) -> dict[str, int]:
    """Draw the five tables and write them as snapshots under `root`; returns the rows per table.

    Without anomalies every table streams to disk chunk by chunk (a chunk of freelancers, a month
    of invoices), so memory stays flat at any scale. Anomalies rewrite rows across tables, so with
    them the tables are held in memory (demo scale). A snapshot waiting in the other format is
    removed: the new one supersedes it.
    """
    _check_format(fmt)
    paths = {table: root / snapshot_path(table, fmt) for table in CONTRACTS}
    if anomalies:
        tables = inject_anomalies(generate_tables(params), list(anomalies), as_of=params.as_of, seed=params.seed)
        written = write_tables_atomically(tables.items(), paths)
    else:
        written = write_tables_atomically(iter_demo_tables(params), paths)
    for table in CONTRACTS:
        for other in (f for f in TABLE_FORMATS if f != fmt):
            (root / snapshot_path(table, other)).unlink(missing_ok=True)
    return written


def write_invoice_months(params: GeneratorParams, root: Path, first_month: dt.date, fmt: str = "csv") -> dict[str, int]:
    """Write the invoices of each month from `first_month` through the as-of date as increments
    `app/invoices/<YYYY-MM>.<fmt>`; returns the rows per month written. A month without invoices
    delivers nothing (the loader refuses a file without rows)."""
    _check_format(fmt)
    contract = CONTRACTS["app__invoices"]
    rows_by_month: dict[str, int] = {}
    if params.as_of < first_month:
        return rows_by_month
    for month, chunk in iter_invoice_months(params, contract_spans(params)):
        if month < first_month or chunk.is_empty():
            continue
        path = root / contract.system / contract.name / f"{month:%Y-%m}.{fmt}"
        rows_by_month[f"{month:%Y-%m}"] = write_table_atomically(chunk, path)
    return rows_by_month
