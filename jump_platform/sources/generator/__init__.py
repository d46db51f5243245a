"""Demo data for the Jump applications, drawn at random but reproducible.

How it stays fast: Faker only makes small pools of values (names, companies, email domains);
numpy draws indices into those pools and polars gathers them, so no Python code runs once per row.
Ids and amounts are built from raw bytes and integer cents, without a detour through Python values.

How it stays reproducible and keeps a stable history:
- every table comes from its own random streams, derived from the seed; freelancers come in chunks
  of `FREELANCERS_PER_CHUNK`, each chunk from its own stream;
- the ids of freelancers, clients and contracts are a function of the seed and the row's number
  (`counter_ids`), so an invoice can name its contract without anyone keeping the contracts;
- contracts are drawn on a fixed timeline that does not depend on the as-of date, then cut at the
  as-of date (a contract that starts later is dropped, one that ends later is still open);
- invoices are drawn month by month, each month from its own stream, over the contracts active
  that month on the fixed timeline, put in issue order, then cut at the as-of date. References
  number them in issue order, month after month.
So for two as-of dates D1 < D2, everything dated on or before D1 is identical in both, except a
contract open at D1 that has ended since.

How it scales: every table comes out in chunks (`iter_freelancer_chunks`, `iter_invoice_chunks`:
a chunk of freelancers, a month of invoices), so a writer streams 100M invoices to disk without
holding them. What stays in memory across chunks is small: two day numbers per contract
(`ContractSpans`) for the invoices, and a counter per possible email address.

The modules: `params` (parameters, timeline, random streams), `encoding` (ids and amounts from
bytes), `pools` (Faker's pools, email addresses), `clients`, `freelancers` (users, CRM entries,
contracts) and `invoices`; this module puts them together.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.generator.clients import generate_clients
from jump_platform.sources.generator.freelancers import (
    ContractSpans,
    contract_spans,
    cut_contracts_at,
    iter_freelancer_chunks,
)
from jump_platform.sources.generator.invoices import iter_invoice_chunks, iter_invoice_months
from jump_platform.sources.generator.params import HISTORY_START, GeneratorParams
from jump_platform.sources.generator.pools import make_pools

__all__ = [
    "HISTORY_START",
    "GeneratorParams",
    "contract_spans",
    "generate_tables",
    "iter_demo_tables",
    "iter_invoice_months",
]


def _typed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    contract = CONTRACTS[table]
    return frame.select(contract.column_names).cast(contract.schema)


def iter_demo_tables(params: GeneratorParams) -> Iterator[tuple[str, pl.DataFrame]]:
    """Every table in chunks, as (table, chunk), typed by its contract: freelancers' tables chunk
    by chunk, then clients, then invoices month by month. The chunks of one table come in order."""
    pools = make_pools(params)
    spans = []
    for chunk in iter_freelancer_chunks(params, pools):
        yield "app__users", _typed("app__users", chunk.users)
        yield "crm__customers", _typed("crm__customers", chunk.crm_customers)
        yield "app__job_contracts", _typed("app__job_contracts", cut_contracts_at(chunk.contracts_timeline, params.as_of))
        spans.append(chunk.spans)
    yield "app__clients", _typed("app__clients", generate_clients(params, pools))
    for invoices in iter_invoice_chunks(params, ContractSpans.concat(spans)):
        yield "app__invoices", _typed("app__invoices", invoices)


def generate_tables(params: GeneratorParams) -> dict[str, pl.DataFrame]:
    """All five source tables in memory, keyed by lakehouse table name (fine at demo scale)."""
    chunks: dict[str, list[pl.DataFrame]] = {table: [] for table in CONTRACTS}
    for table, chunk in iter_demo_tables(params):
        chunks[table].append(chunk)
    return {table: pl.concat(chunks[table]) for table in CONTRACTS}
