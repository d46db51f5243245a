"""Freelancers: their app users, their CRM entries and their job contracts, chunk by chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from jump_platform.sources.generator.encoding import counter_ids
from jump_platform.sources.generator.params import (
    HISTORY_START,
    JOINS_UNTIL,
    OPEN_END,
    GeneratorParams,
    as_dates,
    day_number,
    stream_rng,
)
from jump_platform.sources.generator.pools import EmailAddresses, Pools

# Freelancers (with their CRM entries and contracts) are drawn this many at a time.
FREELANCERS_PER_CHUNK = 200_000
CRM_ONLY_DOMAIN = "prospects.jump.fr"


@dataclass(frozen=True)
class ContractSpans:
    """Every contract of the fixed timeline as two day numbers (days since 1970-01-01), in contract
    number order: what invoices are drawn from. Contract `i`'s id is `counter_ids(.., "contracts", i)`."""

    start_days: np.ndarray  # int32
    end_days: np.ndarray  # int32; a contract open forever ends on OPEN_END

    @classmethod
    def concat(cls, spans: Iterable[ContractSpans]) -> ContractSpans:
        spans = list(spans)
        return cls(
            np.concatenate([s.start_days for s in spans]).astype(np.int32),
            np.concatenate([s.end_days for s in spans]).astype(np.int32),
        )


@dataclass(frozen=True)
class _Contracts:
    """The contracts of one chunk of freelancers, as drawn."""

    first_number: int  # the number of the chunk's first contract among all contracts
    holder: np.ndarray  # the holder's position in the chunk
    blue: np.ndarray
    start_days: np.ndarray
    end_days: np.ndarray  # OPEN_END when open

    @property
    def spans(self) -> ContractSpans:
        return ContractSpans(self.start_days.astype(np.int32), self.end_days.astype(np.int32))


def _draw_contracts(params: GeneratorParams, chunk: int, n: int, first_number: int) -> _Contracts:
    """Each freelancer holds 1 to 3 contracts in a row, with a gap between them; the last one is
    often still open."""
    rng = stream_rng(params, "contracts", chunk)
    slots = 3
    span = (JOINS_UNTIL - HISTORY_START).days
    count = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    durations = rng.integers(90, 1_100, size=(n, slots))
    gaps = rng.integers(1, 180, size=(n, slots))
    gaps[:, 0] = 0
    offsets = np.cumsum(gaps + np.hstack([np.zeros((n, 1), np.int64), durations[:, :-1] + 1]), axis=1)
    starts = day_number(HISTORY_START) + rng.integers(0, span + 1, size=n)[:, None] + offsets
    ends = starts + durations
    open_last = rng.random(n) < 0.65
    blue = rng.random((n, slots)) < 0.6
    slot = np.arange(slots)[None, :]
    keep = slot < count[:, None]
    is_open = (slot == count[:, None] - 1) & open_last[:, None]
    return _Contracts(
        first_number=first_number,
        holder=np.broadcast_to(np.arange(n)[:, None], (n, slots))[keep],
        blue=blue[keep],
        start_days=starts[keep],
        end_days=np.where(is_open, OPEN_END, ends)[keep],
    )


def _chunks(params: GeneratorParams) -> Iterator[tuple[int, int, int]]:
    """(chunk number, number of its first freelancer, freelancers in it)."""
    for chunk, first in enumerate(range(0, params.n_freelancers, FREELANCERS_PER_CHUNK)):
        yield chunk, first, min(FREELANCERS_PER_CHUNK, params.n_freelancers - first)


@dataclass(frozen=True)
class FreelancerChunk:
    """A chunk of freelancers: their app users, their CRM entries (with some CRM-only contacts),
    and their contracts on the fixed timeline, before the cut at the as-of date."""

    users: pl.DataFrame
    crm_customers: pl.DataFrame
    contracts_timeline: pl.DataFrame
    spans: ContractSpans


def _users(params: GeneratorParams, pools: Pools, emails: EmailAddresses, chunk: int, first: int, n: int) -> pl.DataFrame:
    rng = stream_rng(params, "users", chunk)
    first_name = rng.integers(0, pools.first_names.len(), n)
    last_name = rng.integers(0, pools.last_names.len(), n)
    domain = rng.integers(0, pools.email_domains.len(), n)
    return pl.DataFrame(
        {
            "id": counter_ids(params, "users", first + np.arange(n)),
            "first_name": pools.first_names.gather(first_name),
            "last_name": pools.last_names.gather(last_name),
            "email": emails.hand_out(first_name, last_name, domain),
        }
    )


def _crm_customers(
    params: GeneratorParams, pools: Pools, emails: EmailAddresses, chunk: int, users: pl.DataFrame
) -> pl.DataFrame:
    """The CRM: most app users under the same names and email, plus a few CRM-only contacts.

    About half of the matched users answered the satisfaction survey.
    """
    rng = stream_rng(params, "crm", chunk)
    matched = users.filter(pl.Series(rng.random(users.height) < 0.9))
    n_only = max(1, users.height // 20)
    first_name = rng.integers(0, pools.first_names.len(), n_only)
    last_name = rng.integers(0, pools.last_names.len(), n_only)
    crm_only = pl.DataFrame(
        {
            "first_name": pools.first_names.gather(first_name),
            "last_name": pools.last_names.gather(last_name),
            # A domain of the CRM's own, so a CRM-only contact never collides with an app user.
            "email": emails.hand_out(first_name, last_name, np.zeros(n_only, np.int64)),
        }
    )
    people = pl.concat([matched.select("first_name", "last_name", "email"), crm_only])
    answered = rng.random(people.height) < 0.5
    scores = rng.choice(11, size=people.height, p=np.array([1, 1, 1, 1, 2, 3, 4, 8, 12, 14, 10]) / 57)
    return people.select(
        "last_name",
        "first_name",
        "email",
        pl.Series("satisfaction_score", np.where(answered, scores, -1), dtype=pl.Int32).replace(-1, None),
    )


def _timeline(params: GeneratorParams, contracts: _Contracts, users: pl.DataFrame) -> pl.DataFrame:
    """Contracts as a table: id, user_id, entity, start_date, end_date (null = open forever)."""
    is_open = contracts.end_days == OPEN_END
    return pl.DataFrame(
        {
            "id": counter_ids(params, "contracts", contracts.first_number + np.arange(contracts.holder.size)),
            "user_id": users["id"].gather(contracts.holder),
            "entity": pl.Series(np.where(contracts.blue, "blue", "green"), dtype=pl.String),
            "start_date": as_dates(contracts.start_days),
            "end_date": as_dates(np.where(is_open, 0, contracts.end_days)),
        }
    ).with_columns(pl.when(pl.Series(~is_open)).then(pl.col("end_date")).alias("end_date"))


def iter_freelancer_chunks(params: GeneratorParams, pools: Pools) -> Iterator[FreelancerChunk]:
    """Freelancers `FREELANCERS_PER_CHUNK` at a time, each chunk from its own random streams."""
    app_emails = EmailAddresses(pools, pools.email_domains)
    crm_emails = EmailAddresses(pools, pl.Series([CRM_ONLY_DOMAIN]))
    next_contract = 0
    for chunk, first, n in _chunks(params):
        users = _users(params, pools, app_emails, chunk, first, n)
        contracts = _draw_contracts(params, chunk, n, next_contract)
        next_contract += contracts.holder.size
        yield FreelancerChunk(
            users=users,
            crm_customers=_crm_customers(params, pools, crm_emails, chunk, users),
            contracts_timeline=_timeline(params, contracts, users),
            spans=contracts.spans,
        )


def contract_spans(params: GeneratorParams) -> ContractSpans:
    """The spans of every contract, drawn alone (no names, no ids): what the invoices need."""
    spans, next_contract = [], 0
    for chunk, _, n in _chunks(params):
        contracts = _draw_contracts(params, chunk, n, next_contract)
        next_contract += contracts.holder.size
        spans.append(contracts.spans)
    return ContractSpans.concat(spans)


def cut_contracts_at(timeline: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The contracts as the app shows them on `as_of`: started by then, open if not yet ended."""
    return timeline.filter(pl.col("start_date") <= as_of).with_columns(
        pl.when(pl.col("end_date") <= as_of).then(pl.col("end_date")).alias("end_date")
    )
