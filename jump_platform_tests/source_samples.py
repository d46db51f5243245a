"""A small, clean, hand-made set of source tables that obeys every business rule.

Used by the rule and anomaly tests until (and besides) the generator: small enough to reason about
row by row. Ids are readable (`u1`, `jc1`, `inv01`) so a failing test names the rows it expects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import polars as pl

from jump_platform.sources.contracts import CONTRACTS, LOAD_METADATA_COLUMNS

AS_OF = date(2025, 3, 31)

_USERS = [
    ("u1", "Marie", "Dupont", "marie.dupont@example.fr"),
    ("u2", "Jean", "Martin", "jean.martin@example.fr"),
    ("u3", "Aïcha", "Benali", "aicha.benali@example.com"),
    ("u4", "Tom", "Nguyen", "tom.nguyen@example.com"),
]
_CLIENTS = [("cl1", "Acme"), ("cl2", "Globex"), ("cl3", "Acme")]
# u1 held a closed contract then an open one; u2 one closed; u3 one open; u4 none.
_JOB_CONTRACTS = [
    ("jc1", "u1", "blue", date(2024, 1, 1), date(2024, 6, 30)),
    ("jc2", "u1", "green", date(2024, 7, 1), None),
    ("jc3", "u2", "blue", date(2024, 2, 1), date(2024, 12, 31)),
    ("jc4", "u3", "green", date(2024, 3, 15), None),
]
# (job contract, client, issue date, amount); every month from 2024-01 to 2025-03 has an invoice.
_INVOICES = [
    ("jc1", "cl1", date(2024, 1, 15), "1250.50"),
    ("jc1", "cl2", date(2024, 2, 20), "980.00"),
    ("jc3", "cl3", date(2024, 2, 5), "2100.75"),
    ("jc4", "cl1", date(2024, 3, 15), "450.10"),
    ("jc1", "cl1", date(2024, 4, 10), "1500.00"),
    ("jc3", "cl2", date(2024, 5, 12), "730.25"),
    ("jc1", "cl3", date(2024, 6, 30), "615.40"),
    ("jc2", "cl1", date(2024, 7, 1), "1800.00"),
    ("jc4", "cl2", date(2024, 8, 1), "320.99"),
    ("jc3", "cl1", date(2024, 9, 30), "1111.11"),
    ("jc2", "cl2", date(2024, 10, 15), "2500.00"),
    ("jc2", "cl3", date(2024, 11, 11), "875.60"),
    ("jc3", "cl2", date(2024, 12, 31), "640.00"),
    ("jc4", "cl3", date(2025, 1, 20), "990.90"),
    ("jc2", "cl1", date(2025, 2, 14), "1420.00"),
    ("jc4", "cl2", date(2025, 3, 31), "505.05"),
]
_CUSTOMERS = [
    ("Dupont", "Marie", "marie.dupont@example.fr", 9),
    ("Martin", "Jean", "jean.martin@example.fr", None),
    ("Benali", "Aïcha", "aicha.benali@example.com", 3),
    ("Petit", "Lou", "lou.petit@example.org", 7),
]


def clean_source_tables() -> dict[str, pl.DataFrame]:
    """The five source tables, keyed by contract table name, typed by their contracts."""
    invoices = sorted(_INVOICES, key=lambda row: row[2])
    rows = {
        "app__users": _USERS,
        "app__clients": _CLIENTS,
        "app__job_contracts": _JOB_CONTRACTS,
        "app__invoices": [
            (f"inv{n:02d}", contract, client, f"JMP{n:05d}", Decimal(amount), issued)
            for n, (contract, client, issued, amount) in enumerate(invoices, start=1)
        ],
        "crm__customers": _CUSTOMERS,
    }
    return {table: pl.DataFrame(rows[table], schema=contract.schema, orient="row") for table, contract in CONTRACTS.items()}


def write_sources(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, pl.DataFrame],
    schema: str = "sources",
    batch_id: str = "batch-1",
) -> None:
    """Replace `schema.<table>` with each frame, stamped with load metadata like the loader does."""
    con.execute(f"create schema if not exists {schema}")
    loaded_at = datetime(2025, 3, 31, 6, 0, tzinfo=UTC)
    for table, frame in tables.items():
        stamped = frame.with_columns(
            pl.lit(batch_id, LOAD_METADATA_COLUMNS["_batch_id"]).alias("_batch_id"),
            pl.lit(loaded_at, LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
            pl.lit(f"{table}.csv", LOAD_METADATA_COLUMNS["_source_file"]).alias("_source_file"),
            (pl.int_range(pl.len(), dtype=LOAD_METADATA_COLUMNS["_source_line"]) + 2).alias("_source_line"),
        )
        con.register("_frame", stamped)
        con.execute(f"create or replace table {schema}.{table} as select * from _frame")
        con.unregister("_frame")


# The rules (`<table>.<rule name>`) each anomaly must fail, and no other.
EXPECTED_FAILURES: dict[str, set[str]] = {
    "overlapping_contracts": {"app__job_contracts.job_contracts_never_overlap"},
    "two_open_contracts": {"app__job_contracts.job_contracts_never_overlap"},
    "invoice_outside_contract": {"app__invoices.issue_date_is_inside_the_job_contract"},
    "reference_gaps": {"app__invoices.references_run_in_sequence"},
    "empty_month": set(),
    "duplicate_ids": {"app__invoices.primary_key_is_unique_and_not_null"},
    "non_positive_amounts": {"app__invoices.amount_is_positive_with_two_decimals"},
    "unknown_entity": {"app__job_contracts.entity_is_accepted"},
    "dangling_foreign_key": {
        "app__invoices.job_contract_id_exists_in_app__job_contracts",
        "app__invoices.client_id_exists_in_app__clients",
    },
    "future_invoices": {"app__invoices.no_invoice_after_the_as_of_date"},
}
