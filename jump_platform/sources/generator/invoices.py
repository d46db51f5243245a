"""Invoices, month by month, over the contracts active each month on the fixed timeline."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.generator.encoding import amounts, counter_ids, format_uuids, random_uuids
from jump_platform.sources.generator.freelancers import ContractSpans
from jump_platform.sources.generator.params import HISTORY_START, GeneratorParams, as_dates, day_number, stream_rng

# Invoices per active contract and month; about 5,000 invoices at scale 1 by late 2026.
INVOICES_PER_CONTRACT_MONTH = 0.125
# Months of invoices drawn at the same time.
_DRAWING_THREADS = 2


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = _next_month(current)
    return months


def _draw_invoice_month(
    params: GeneratorParams, spans: ContractSpans, clients: _Clients, month_index: int, month: dt.date
) -> pl.DataFrame:
    """The invoices of one month up to the as-of date, in issue order, without their references.

    Invoices of one day keep the order they were drawn in, and the cut at the as-of date keeps a
    prefix: the month's draws never depend on the as-of date.
    """
    rng = stream_rng(params, "invoices", month_index)
    month_first, month_last = day_number(month), day_number(_next_month(month)) - 1
    active = np.flatnonzero((spans.start_days <= month_last) & (spans.end_days >= month_first))
    contracts = np.repeat(active, rng.poisson(INVOICES_PER_CONTRACT_MONTH, size=active.size))
    n = contracts.size
    low = np.maximum(spans.start_days[contracts].astype(np.int64), month_first)
    high = np.minimum(spans.end_days[contracts].astype(np.int64), month_last)
    issue_days = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    cents = np.maximum(5_000, np.round(rng.lognormal(np.log(250_000), 0.6, n))).astype(np.int64)
    client = rng.choice(clients.ids.len(), size=n, p=clients.weights)
    ids = random_uuids(rng, n)
    order = np.argsort(issue_days, kind="stable")
    order = order[: np.searchsorted(issue_days[order], day_number(params.as_of), side="right")]
    return pl.DataFrame(
        {
            "id": format_uuids(ids[order]),
            "job_contract_id": counter_ids(params, "contracts", contracts[order]),
            "client_id": clients.ids.gather(client[order]),
            "amount": amounts(cents[order]),
            "issue_date": as_dates(issue_days[order]),
        }
    )


@dataclass(frozen=True)
class _Clients:
    """What an invoice needs of the clients: their ids, and how likely each one is invoiced."""

    ids: pl.Series
    weights: np.ndarray

    @classmethod
    def of(cls, params: GeneratorParams) -> _Clients:
        # A few clients take most invoices, as in real life.
        weights = 1.0 / np.arange(1, params.n_clients + 1) ** 0.8
        return cls(counter_ids(params, "clients", np.arange(params.n_clients)), weights / weights.sum())


def iter_invoice_chunks(params: GeneratorParams, spans: ContractSpans) -> Iterator[pl.DataFrame]:
    """Invoices up to the as-of date, one month per chunk, in issue order with their references.

    Months are drawn two at a time on threads (numpy and polars release the GIL), a few months
    ahead of the consumer at most; references are numbered here, in month order.
    """
    clients = _Clients.of(params)
    months = list(enumerate(_month_starts(HISTORY_START, params.as_of)))
    next_reference = 1
    with ThreadPoolExecutor(max_workers=_DRAWING_THREADS, thread_name_prefix="invoice-months") as pool:
        ahead: deque[Future[pl.DataFrame]] = deque()
        for month_index, month in months:
            ahead.append(pool.submit(_draw_invoice_month, params, spans, clients, month_index, month))
            if len(ahead) <= _DRAWING_THREADS:
                continue
            chunk = ahead.popleft().result()
            yield _with_references(chunk, next_reference)
            next_reference += chunk.height
        while ahead:
            chunk = ahead.popleft().result()
            yield _with_references(chunk, next_reference)
            next_reference += chunk.height


def _with_references(invoices: pl.DataFrame, first: int) -> pl.DataFrame:
    """JMP followed by the numbers first, first + 1, ..., zero-padded to 5 digits at least."""
    reference = pl.concat_str(pl.lit("JMP"), pl.int_range(first, first + pl.len()).cast(pl.String).str.zfill(5))
    return invoices.with_columns(reference=reference).select(CONTRACTS["app__invoices"].column_names)


def iter_invoice_months(params: GeneratorParams, spans: ContractSpans) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """`iter_invoice_chunks` with the first day of each chunk's month."""
    return zip(_month_starts(HISTORY_START, params.as_of), iter_invoice_chunks(params, spans), strict=True)
