"""Pools of realistic values made by Faker, and unique email addresses drawn from them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl
from faker import Faker

from jump_platform.sources.generator.params import GeneratorParams

FAKER_LOCALES = ("fr_FR", "fr_FR", "fr_FR", "en_US", "de_DE", "it_IT", "es_ES", "pt_PT")
EMAIL_DOMAINS_POOL = 60


def _email_part(text: str) -> str:
    """A name as it shows in an email address: ASCII letters only, lowercase."""
    return re.sub("[^a-z]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()) or "jump"


def _parts(names: list[str]) -> tuple[pl.Series, np.ndarray]:
    """The distinct email parts of `names`, and for each name the number of its part."""
    parts = [_email_part(name) for name in names]
    distinct = sorted(set(parts))
    number = {part: index for index, part in enumerate(distinct)}
    return pl.Series(distinct, dtype=pl.String), np.array([number[part] for part in parts], dtype=np.int64)


@dataclass(frozen=True)
class Pools:
    first_names: pl.Series
    last_names: pl.Series
    companies: pl.Series
    email_domains: pl.Series
    # The email parts of the names: `first_parts[first_part_of[i]]` is first name i's.
    first_parts: pl.Series
    first_part_of: np.ndarray
    last_parts: pl.Series
    last_part_of: np.ndarray


def make_pools(params: GeneratorParams, size: int = 2_000) -> Pools:
    """Pools of realistic values made by Faker, French first, then international."""
    fakers = []
    for index, locale in enumerate(FAKER_LOCALES):
        faker = Faker(locale)
        faker.seed_instance(params.seed * 1_000 + index)
        fakers.append(faker)
    per_locale = max(1, size // len(fakers))
    first = sorted({f.first_name() for f in fakers for _ in range(per_locale)})
    last = sorted({f.last_name() for f in fakers for _ in range(per_locale)})
    companies = sorted({f.company() for f in fakers[:4] for _ in range(per_locale)})
    domains = sorted({f.free_email_domain() for f in fakers} | {f.domain_name() for f in fakers for _ in range(8)})
    first_parts, first_part_of = _parts(first)
    last_parts, last_part_of = _parts(last)
    return Pools(
        first_names=pl.Series(first, dtype=pl.String),
        last_names=pl.Series(last, dtype=pl.String),
        companies=pl.Series(companies, dtype=pl.String),
        email_domains=pl.Series(domains[:EMAIL_DOMAINS_POOL], dtype=pl.String),
        first_parts=first_parts,
        first_part_of=first_part_of,
        last_parts=last_parts,
        last_part_of=last_part_of,
    )


class EmailAddresses:
    """Hands out `first.last@domain` addresses, with a number once an address is taken.

    It counts the addresses handed out so far, one byte per possible address (first-name part x
    last-name part x domain: about 70M, and a counter never touched costs no memory), so addresses
    stay unique across chunks whatever the number of freelancers.
    """

    def __init__(self, pools: Pools, domains: pl.Series) -> None:
        self._pools, self._domains = pools, domains
        self._shape = (pools.first_parts.len(), pools.last_parts.len(), domains.len())
        self._taken = np.zeros(int(np.prod(self._shape)), dtype=np.uint8)

    def hand_out(self, first: np.ndarray, last: np.ndarray, domain: np.ndarray) -> pl.Series:
        """Addresses for names `first`, `last` (indices into the name pools), at `domain` (index)."""
        first_part, last_part = self._pools.first_part_of[first], self._pools.last_part_of[last]
        address = np.ravel_multi_index((first_part, last_part, domain), self._shape)
        # How many earlier rows hold the same address: in earlier chunks, then earlier in this one.
        order = np.argsort(address, kind="stable")
        ordered = address[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        run_lengths = np.diff(np.r_[starts, ordered.size])
        rank = np.arange(ordered.size) - np.repeat(starts, run_lengths)
        taken = np.empty_like(address)
        taken[order] = self._taken[ordered].astype(np.int64) + rank
        holders = self._taken[ordered[starts]] + run_lengths
        if holders.max(initial=0) > np.iinfo(self._taken.dtype).max:
            # Some 255 freelancers of the same name at one domain: the pools are far too small.
            raise ValueError("more freelancers share a name and an email domain than the address counter holds")
        self._taken[ordered[starts]] = holders
        parts = pl.DataFrame(
            {
                "first": self._pools.first_parts.gather(first_part),
                "last": self._pools.last_parts.gather(last_part),
                "taken": taken,
                "domain": self._domains.gather(domain),
            }
        )
        return parts.select(
            pl.concat_str(
                "first",
                pl.lit("."),
                "last",
                pl.when(pl.col("taken") > 0).then(pl.col("taken").cast(pl.String)).otherwise(pl.lit("")),
                pl.lit("@"),
                "domain",
            ).alias("email")
        ).to_series()
