"""Demo data for the Jump applications, drawn at random but reproducible.

How it stays fast: Faker only makes small pools of values (names, companies, email domains);
numpy samples the rows from those pools, so no Python code runs once per row.

How it stays reproducible and keeps a stable history:
- every table comes from its own random stream, derived from the seed;
- contracts are drawn on a fixed timeline that does not depend on the as-of date, then cut at the
  as-of date (a contract that starts later is dropped, one that ends later is still open);
- invoices are drawn month by month, each month from its own stream, over the contracts active
  that month on the fixed timeline, then cut at the as-of date. References number them in issue
  order, month after month.
So for two as-of dates D1 < D2, everything dated on or before D1 is identical in both, except a
contract open at D1 that has ended since.

How it scales: invoices, the one large table, come out one month at a time
(`iter_invoice_chunks`), so a writer can stream 100M invoices to disk without holding them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from faker import Faker

from jump_platform.sources.contracts import AMOUNT_DTYPE, CONTRACTS

# The fixed timeline: freelancers join between these dates, whatever the as-of date.
HISTORY_START = dt.date(2019, 1, 1)
JOINS_UNTIL = dt.date(2026, 12, 31)

FREELANCERS_PER_SCALE = 1_000
CLIENTS_PER_SCALE = 20
# Invoices per active contract and month; about 5,000 invoices at scale 1 by late 2026.
INVOICES_PER_CONTRACT_MONTH = 0.125

FAKER_LOCALES = ("fr_FR", "fr_FR", "fr_FR", "en_US", "de_DE", "it_IT", "es_ES", "pt_PT")
EMAIL_DOMAINS_POOL = 60

# Named random streams, so that adding a table never shifts the values of another.
_STREAMS = {"pools": 0, "users": 1, "clients": 2, "contracts": 3, "crm": 4, "invoices": 5}


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


def _rng(params: GeneratorParams, stream: str, *sub: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([params.seed, _STREAMS[stream], *sub]))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass(frozen=True)
class Pools:
    first_names: np.ndarray
    last_names: np.ndarray
    companies: np.ndarray
    email_domains: np.ndarray


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
    return Pools(
        first_names=np.array(first),
        last_names=np.array(last),
        companies=np.array(companies),
        email_domains=np.array(domains[:EMAIL_DOMAINS_POOL]),
    )


def _uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` random version-4 UUIDs, as text, drawn from `rng`."""
    if n == 0:
        return pl.Series([], dtype=pl.String)
    hexes = pl.Series(np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype="S32").astype(str))
    variant = pl.Series(np.array(list("89ab"))[rng.integers(0, 4, n)])
    return pl.select(
        pl.concat_str(
            hexes.str.slice(0, 8), pl.lit("-"),
            hexes.str.slice(8, 4), pl.lit("-4"),
            hexes.str.slice(13, 3), pl.lit("-"),
            variant, hexes.str.slice(17, 3), pl.lit("-"),
            hexes.str.slice(20, 12),
        )
    ).to_series()


def _emails(first: pl.Series, last: pl.Series, domains: pl.Series) -> pl.Series:
    """first.last@domain, with a number appended where that address is already taken."""
    frame = pl.DataFrame({"first": first, "last": last, "domain": domains}).with_columns(
        local=pl.concat_str(
            pl.col("first").map_elements(_ascii, return_dtype=pl.String, skip_nulls=True),
            pl.lit("."),
            pl.col("last").map_elements(_ascii, return_dtype=pl.String, skip_nulls=True),
        ).str.replace_all(r"[^a-z.]", "")
    )
    taken = pl.int_range(pl.len()).over("local", "domain")
    return frame.select(
        pl.concat_str(
            "local",
            pl.when(taken > 0).then(taken.cast(pl.String)).otherwise(pl.lit("")),
            pl.lit("@"),
            "domain",
        )
    ).to_series()


def generate_users(params: GeneratorParams, pools: Pools) -> pl.DataFrame:
    rng = _rng(params, "users")
    n = params.n_freelancers
    first = pl.Series(pools.first_names[rng.integers(0, len(pools.first_names), n)])
    last = pl.Series(pools.last_names[rng.integers(0, len(pools.last_names), n)])
    domains = pl.Series(pools.email_domains[rng.integers(0, len(pools.email_domains), n)])
    return pl.DataFrame(
        {"id": _uuids(rng, n), "first_name": first, "last_name": last, "email": _emails(first, last, domains)}
    )


def generate_clients(params: GeneratorParams, pools: Pools) -> pl.DataFrame:
    """Clients; about one in ten repeats an earlier client's name under a new id (entered twice)."""
    rng = _rng(params, "clients")
    n = params.n_clients
    pool = pools.companies[rng.permutation(len(pools.companies))]
    # Past the pool's size, names repeat with a number: "Acme", ..., "Acme 2", ...
    round_ = np.arange(n) // len(pool)
    names = np.char.add(pool[np.arange(n) % len(pool)], np.where(round_ > 0, np.char.add(" ", (round_ + 1).astype(str)), ""))
    duplicated = rng.random(n) < 0.08
    duplicated[0] = False
    duplicated[min(n - 1, 1)] = n > 2  # at least one duplicate whenever there are clients enough
    earlier = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
    names = np.where(duplicated, names[earlier], names)
    return pl.DataFrame({"id": _uuids(rng, n), "name": pl.Series(names, dtype=pl.String)})


def _days(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[D]").astype(np.int64)


def generate_contracts_timeline(params: GeneratorParams, users: pl.DataFrame) -> pl.DataFrame:
    """Every contract on the fixed timeline, before the cut at the as-of date.

    Each freelancer holds 1 to 3 contracts in a row, with a gap between them; the last one is
    often still open. Columns: id, user_id, entity, start_date, end_date (null = open forever).
    """
    rng = _rng(params, "contracts")
    n, slots = users.height, 3
    start0 = np.datetime64(HISTORY_START, "D").astype(np.int64)
    span = (JOINS_UNTIL - HISTORY_START).days
    count = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    durations = rng.integers(90, 1_100, size=(n, slots))
    gaps = rng.integers(1, 180, size=(n, slots))
    gaps[:, 0] = 0
    offsets = np.cumsum(gaps + np.hstack([np.zeros((n, 1), np.int64), durations[:, :-1] + 1]), axis=1)
    starts = start0 + rng.integers(0, span + 1, size=n)[:, None] + offsets
    ends = starts + durations
    open_last = rng.random(n) < 0.65
    entity = np.where(rng.random((n, slots)) < 0.6, "blue", "green")
    slot = np.arange(slots)[None, :]
    keep = slot < count[:, None]
    is_open = (slot == count[:, None] - 1) & open_last[:, None]
    epoch = np.datetime64("1970-01-01", "D")
    timeline = pl.DataFrame(
        {
            "user_id": np.repeat(users["id"].to_numpy(), slots)[keep.ravel()],
            "entity": entity[keep],
            "start_date": (epoch + starts[keep]).astype("datetime64[D]"),
            "end_date": (epoch + ends[keep]).astype("datetime64[D]"),
            "open": is_open[keep],
        }
    ).with_columns(
        pl.col("start_date").cast(pl.Date),
        pl.when(pl.col("open")).then(None).otherwise(pl.col("end_date").cast(pl.Date)).alias("end_date"),
    )
    return timeline.select(pl.Series("id", _uuids(rng, timeline.height)), "user_id", "entity", "start_date", "end_date")


def cut_contracts_at(timeline: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The contracts as the app shows them on `as_of`: started by then, open if not yet ended."""
    return timeline.filter(pl.col("start_date") <= as_of).with_columns(
        pl.when(pl.col("end_date") <= as_of).then(pl.col("end_date")).alias("end_date")
    )


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = _next_month(current)
    return months


def _amounts(cents: np.ndarray) -> pl.Series:
    """Exact 2-decimal amounts from integer cents (no float rounding on the way)."""
    frame = pl.DataFrame({"cents": cents})
    return frame.select(
        pl.concat_str(
            (pl.col("cents") // 100).cast(pl.String), pl.lit("."), (pl.col("cents") % 100).cast(pl.String).str.zfill(2)
        ).cast(AMOUNT_DTYPE)
    ).to_series()


def iter_invoice_chunks(
    params: GeneratorParams, timeline: pl.DataFrame, clients: pl.DataFrame
) -> Iterator[pl.DataFrame]:
    """Invoices up to the as-of date, one month per chunk, in issue order with their references."""
    start_days = _days(timeline["start_date"].to_numpy())
    end_days = timeline["end_date"].fill_null(dt.date(9999, 12, 31)).to_numpy().astype("datetime64[D]").astype(np.int64)
    contract_ids = timeline["id"].to_numpy()
    client_ids = clients["id"].to_numpy()
    # A few clients take most invoices, as in real life.
    client_weights = 1.0 / np.arange(1, len(client_ids) + 1) ** 0.8
    client_weights /= client_weights.sum()
    next_reference = 1
    for month_index, month in enumerate(_month_starts(HISTORY_START, params.as_of)):
        rng = _rng(params, "invoices", month_index)
        month_first = np.datetime64(month, "D").astype(np.int64)
        month_last = np.datetime64(_next_month(month), "D").astype(np.int64) - 1
        active = np.flatnonzero((start_days <= month_last) & (end_days >= month_first))
        per_contract = rng.poisson(INVOICES_PER_CONTRACT_MONTH, size=active.size)
        rows = np.repeat(active, per_contract)
        n = rows.size
        low = np.maximum(start_days[rows], month_first)
        high = np.minimum(end_days[rows], month_last)
        issue_days = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
        cents = np.maximum(5_000, np.round(rng.lognormal(np.log(250_000), 0.6, n))).astype(np.int64)
        chunk = (
            pl.DataFrame(
                {
                    "id": _uuids(rng, n),
                    "job_contract_id": pl.Series(contract_ids[rows], dtype=pl.String),
                    "client_id": pl.Series(client_ids[rng.choice(len(client_ids), size=n, p=client_weights)], dtype=pl.String),
                    "amount": _amounts(cents),
                    "issue_date": pl.Series((np.datetime64("1970-01-01", "D") + issue_days).astype("datetime64[D]")).cast(pl.Date),
                }
            )
            .filter(pl.col("issue_date") <= params.as_of)
            .sort("issue_date", "id")
        )
        chunk = chunk.with_columns(
            reference=pl.concat_str(
                pl.lit("JMP"), pl.int_range(next_reference, next_reference + chunk.height).cast(pl.String).str.zfill(5)
            )
        )
        next_reference += chunk.height
        yield chunk.select(CONTRACTS["app__invoices"].column_names)


def iter_invoice_months(
    params: GeneratorParams, timeline: pl.DataFrame, clients: pl.DataFrame
) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """`iter_invoice_chunks` with the first day of each chunk's month."""
    return zip(_month_starts(HISTORY_START, params.as_of), iter_invoice_chunks(params, timeline, clients), strict=True)


def generate_crm_customers(params: GeneratorParams, users: pl.DataFrame, pools: Pools) -> pl.DataFrame:
    """The CRM: most app users under the same names and email, plus a few CRM-only contacts.

    About half of the matched users answered the satisfaction survey.
    """
    rng = _rng(params, "crm")
    matched = users.filter(pl.Series(rng.random(users.height) < 0.9))
    n_only = max(1, users.height // 20)
    only_first = pl.Series(pools.first_names[rng.integers(0, len(pools.first_names), n_only)])
    only_last = pl.Series(pools.last_names[rng.integers(0, len(pools.last_names), n_only)])
    crm_only = pl.DataFrame(
        {
            "first_name": only_first,
            "last_name": only_last,
            # A domain of the CRM's own, so a CRM-only contact never collides with an app user.
            "email": _emails(only_first, only_last, pl.Series(["prospects.jump.fr"] * n_only)),
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


@dataclass(frozen=True)
class GeneratedSmallTables:
    """Every table but invoices, plus what invoices are drawn from."""

    users: pl.DataFrame
    clients: pl.DataFrame
    crm_customers: pl.DataFrame
    contracts_timeline: pl.DataFrame
    job_contracts: pl.DataFrame


def generate_small_tables(params: GeneratorParams) -> GeneratedSmallTables:
    pools = make_pools(params)
    users = generate_users(params, pools)
    timeline = generate_contracts_timeline(params, users)
    return GeneratedSmallTables(
        users=users,
        clients=generate_clients(params, pools),
        crm_customers=generate_crm_customers(params, users, pools),
        contracts_timeline=timeline,
        job_contracts=cut_contracts_at(timeline, params.as_of),
    )


def generate_tables(params: GeneratorParams) -> dict[str, pl.DataFrame]:
    """All five source tables in memory, keyed by lakehouse table name (fine at demo scale)."""
    small = generate_small_tables(params)
    invoices = pl.concat(
        list(iter_invoice_chunks(params, small.contracts_timeline, small.clients)),
    )
    tables = {
        "app__users": small.users,
        "app__clients": small.clients,
        "app__job_contracts": small.job_contracts,
        "app__invoices": invoices,
        "crm__customers": small.crm_customers,
    }
    return {name: frame.select(CONTRACTS[name].column_names).cast(CONTRACTS[name].schema) for name, frame in tables.items()}
