"""The generator's parameters, its fixed timeline and its named random streams."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from jump_platform.sources.contracts import FIRST_BUSINESS_DAY

# The fixed timeline: freelancers join between these dates, whatever the as-of date.
HISTORY_START = FIRST_BUSINESS_DAY
JOINS_UNTIL = dt.date(2026, 12, 31)

FREELANCERS_PER_SCALE = 1_000
CLIENTS_PER_SCALE = 20

# Named random streams, so that adding a table never shifts the values of another.
STREAMS = {"pools": 0, "users": 1, "clients": 2, "contracts": 3, "crm": 4, "invoices": 5, "ids": 6}

OPEN_END = np.iinfo(np.int32).max  # the end day of a contract still open


@dataclass(frozen=True)
class GeneratorParams:
    seed: int = 42
    as_of: dt.date = field(default_factory=dt.date.today)
    scale: float = 1.0

    @property
    def n_freelancers(self) -> int:
        return max(1, round(FREELANCERS_PER_SCALE * self.scale))

    @property
    def n_clients(self) -> int:
        return max(2, round(CLIENTS_PER_SCALE * self.scale))


def stream_rng(params: GeneratorParams, stream: str, *sub: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([params.seed, STREAMS[stream], *sub]))


def day_number(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def as_dates(days: np.ndarray) -> pl.Series:
    """Day numbers since 1970-01-01 as a polars Date column."""
    return pl.Series(days.astype(np.int32)).cast(pl.Date)
