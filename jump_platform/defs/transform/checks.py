"""Checks on the marts: the numbers finance reads must add up to the invoices they come from."""

from __future__ import annotations

import dagster as dg

from jump_platform.defs.sources.checks import SOURCES_SCHEMA, check_result, source_key
from jump_platform.sources.rules import monthly_turnover_reconciles
from jump_platform.warehouses import Warehouse

MONTHLY_TURNOVER = dg.AssetKey(["marts", "kpi__monthly_turnover"])


@dg.asset_check(
    asset=MONTHLY_TURNOVER,
    name="reconciles_with_invoice_amounts",
    description=(
        "marts.kpi__monthly_turnover adds up, month by month, to the amounts of sources.app__invoices "
        "(latest version of each invoice), so its total equals the invoices' total. Blocking: "
        "every export depends on this mart, so no export is written from a turnover that does not reconcile."
    ),
    blocking=True,
    additional_deps=[source_key("app__invoices")],
    # A DuckDB connection locks the file, reading or writing: one step of the pool at a time.
    pool="lakehouse",
)
def monthly_turnover_reconciles_with_invoices(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.rules_connection([("marts", "kpi__monthly_turnover"), (SOURCES_SCHEMA, "app__invoices")]) as con:
        result = monthly_turnover_reconciles(
            con, monthly_turnover="marts.kpi__monthly_turnover", invoices=f"{SOURCES_SCHEMA}.app__invoices"
        )
    return check_result(result, blocking=True)


mart_checks: list[dg.AssetChecksDefinition] = [monthly_turnover_reconciles_with_invoices]
