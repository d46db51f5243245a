"""Demo data for the Jump applications, drawn at random but reproducible.

How it stays fast: Faker only makes small pools of values (names, companies, email domains);
numpy draws indices into those pools and polars gathers them, so no Python code runs once per row.
Ids and amounts are built from raw bytes and integer cents, without a detour through Python values.

How it stays reproducible and keeps a stable history:
- every table comes from its own random streams, derived from the seed; freelancers come in chunks
  of `FREELANCERS_PER_CHUNK`, each chunk from its own stream;
- the ids of freelancers, clients and contracts are a function of the seed and the row's number
  (`_counter_ids`), so an invoice can name its contract without anyone keeping the contracts;
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
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
from faker import Faker

from jump_platform.sources.contracts import AMOUNT_DTYPE, CONTRACTS

# The fixed timeline: freelancers join between these dates, whatever the as-of date.
HISTORY_START = dt.date(2019, 1, 1)
JOINS_UNTIL = dt.date(2026, 12, 31)

FREELANCERS_PER_SCALE = 1_000
CLIENTS_PER_SCALE = 20
# Invoices per active contract and month; about 5,000 invoices at scale 1 by late 2026.
INVOICES_PER_CONTRACT_MONTH = 0.125
# Freelancers (with their CRM entries and contracts) are drawn this many at a time.
FREELANCERS_PER_CHUNK = 200_000
# Months of invoices drawn at the same time.
_DRAWING_THREADS = 2

FAKER_LOCALES = ("fr_FR", "fr_FR", "fr_FR", "en_US", "de_DE", "it_IT", "es_ES", "pt_PT")
EMAIL_DOMAINS_POOL = 60
CRM_ONLY_DOMAIN = "prospects.jump.fr"

# Named random streams, so that adding a table never shifts the values of another.
_STREAMS = {"pools": 0, "users": 1, "clients": 2, "contracts": 3, "crm": 4, "invoices": 5, "ids": 6}

_OPEN_END = np.iinfo(np.int32).max  # the end day of a contract still open


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


def _day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _dates(days: np.ndarray) -> pl.Series:
    """Day numbers since 1970-01-01 as a polars Date column."""
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


# --- ids and amounts, built from bytes --------------------------------------------------------------

# The two hex digits of every byte value, as one little-endian uint16.
_HEX_PAIRS = np.array([ord(a) | ord(b) << 8 for a in "0123456789abcdef" for b in "0123456789abcdef"], dtype="<u2")
_VARIANTS = np.frombuffer(b"89ab", dtype=np.uint8)


def _format_uuids(raw: np.ndarray) -> pl.Series:
    """Version-4 UUIDs as text from 16 random bytes per row (`raw`, shape (n, 16), uint8).

    Hex digit 12 becomes the version `4`, digit 16 the variant (8, 9, a or b, from that digit's low
    bits); the text is assembled as bytes and handed to polars as one Arrow buffer.
    """
    n = raw.shape[0]
    hexes = _HEX_PAIRS[raw].view(np.uint8)  # (n, 32) hex digits
    text = np.empty((n, 36), np.uint8)
    text[:, 0:8] = hexes[:, 0:8]
    text[:, 9:13] = hexes[:, 8:12]
    text[:, 14] = ord("4")
    text[:, 15:18] = hexes[:, 13:16]
    text[:, 19] = _VARIANTS[(raw[:, 8] >> 4) & 3]
    text[:, 20:23] = hexes[:, 17:20]
    text[:, 24:36] = hexes[:, 20:32]
    text[:, [8, 13, 18, 23]] = ord("-")
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pl.Series(pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text.reshape(-1))))


def _random_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """The raw bytes of `n` random UUIDs drawn from `rng` (format them with `_format_uuids`)."""
    return np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)


def _mix64(words: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 that looks random."""
    words = (words ^ (words >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    words = (words ^ (words >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return words ^ (words >> np.uint64(31))


def _counter_ids(params: GeneratorParams, table: str, numbers: np.ndarray) -> pl.Series:
    """The UUIDs of rows `numbers` (0, 1, ...) of `table`: a function of the seed and the row number
    alone, so that any row's id can be told without keeping the table. Row numbers that differ give
    first halves that differ (a bijection of the number)."""
    keys = np.random.SeedSequence([params.seed, _STREAMS["ids"], _STREAMS[table]]).generate_state(2, np.uint64)
    weyl = numbers.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    halves = np.stack([_mix64(weyl + keys[0]), _mix64(weyl + keys[1])], axis=1).astype(">u8")
    return _format_uuids(halves.view(np.uint8).reshape(-1, 16))


def _amounts(cents: np.ndarray) -> pl.Series:
    """Exact 2-decimal amounts from integer cents: the cents are the decimal's own integer."""
    words = np.empty((cents.size, 2), np.int64)  # little-endian 128-bit integers
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    arrow = pa.Array.from_buffers(pa.decimal128(AMOUNT_DTYPE.precision, AMOUNT_DTYPE.scale), cents.size, [None, pa.py_buffer(words)])
    return pl.Series(arrow)


# --- pools and email addresses ----------------------------------------------------------------------


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


# --- clients ----------------------------------------------------------------------------------------


def generate_clients(params: GeneratorParams, pools: Pools) -> pl.DataFrame:
    """Clients; about one in ten repeats an earlier client's name under a new id (entered twice)."""
    rng = _rng(params, "clients")
    n = params.n_clients
    pool = pools.companies.gather(rng.permutation(pools.companies.len()))
    # Past the pool's size, names repeat with a number: "Acme", ..., "Acme 2", ...
    rounds = pl.Series(np.arange(n) // pool.len())
    names = pl.DataFrame({"name": pool.gather(np.arange(n) % pool.len()), "round": rounds}).select(
        pl.concat_str(
            "name", pl.when(pl.col("round") > 0).then(pl.format(" {}", pl.col("round") + 1)).otherwise(pl.lit(""))
        )
    ).to_series()
    duplicated = rng.random(n) < 0.08
    duplicated[0] = False
    duplicated[min(n - 1, 1)] = n > 2  # at least one duplicate whenever there are clients enough
    earlier = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
    return pl.DataFrame(
        {
            "id": _counter_ids(params, "clients", np.arange(n)),
            "name": names.gather(np.where(duplicated, earlier, np.arange(n))),
        }
    )


# --- freelancers: users, their CRM entries, their contracts -----------------------------------------


@dataclass(frozen=True)
class ContractSpans:
    """Every contract of the fixed timeline as two day numbers (days since 1970-01-01), in contract
    number order: what invoices are drawn from. Contract `i`'s id is `_counter_ids(.., "contracts", i)`."""

    start_days: np.ndarray  # int32
    end_days: np.ndarray  # int32; a contract open forever ends on _OPEN_END

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
    end_days: np.ndarray  # _OPEN_END when open

    @property
    def spans(self) -> ContractSpans:
        return ContractSpans(self.start_days.astype(np.int32), self.end_days.astype(np.int32))


def _draw_contracts(params: GeneratorParams, chunk: int, n: int, first_number: int) -> _Contracts:
    """Each freelancer holds 1 to 3 contracts in a row, with a gap between them; the last one is
    often still open."""
    rng = _rng(params, "contracts", chunk)
    slots = 3
    span = (JOINS_UNTIL - HISTORY_START).days
    count = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    durations = rng.integers(90, 1_100, size=(n, slots))
    gaps = rng.integers(1, 180, size=(n, slots))
    gaps[:, 0] = 0
    offsets = np.cumsum(gaps + np.hstack([np.zeros((n, 1), np.int64), durations[:, :-1] + 1]), axis=1)
    starts = _day(HISTORY_START) + rng.integers(0, span + 1, size=n)[:, None] + offsets
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
        end_days=np.where(is_open, _OPEN_END, ends)[keep],
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
    rng = _rng(params, "users", chunk)
    first_name = rng.integers(0, pools.first_names.len(), n)
    last_name = rng.integers(0, pools.last_names.len(), n)
    domain = rng.integers(0, pools.email_domains.len(), n)
    return pl.DataFrame(
        {
            "id": _counter_ids(params, "users", first + np.arange(n)),
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
    rng = _rng(params, "crm", chunk)
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
    is_open = contracts.end_days == _OPEN_END
    return pl.DataFrame(
        {
            "id": _counter_ids(params, "contracts", contracts.first_number + np.arange(contracts.holder.size)),
            "user_id": users["id"].gather(contracts.holder),
            "entity": pl.Series(np.where(contracts.blue, "blue", "green"), dtype=pl.String),
            "start_date": _dates(contracts.start_days),
            "end_date": _dates(np.where(is_open, 0, contracts.end_days)),
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


# --- invoices ---------------------------------------------------------------------------------------


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
    rng = _rng(params, "invoices", month_index)
    month_first, month_last = _day(month), _day(_next_month(month)) - 1
    active = np.flatnonzero((spans.start_days <= month_last) & (spans.end_days >= month_first))
    contracts = np.repeat(active, rng.poisson(INVOICES_PER_CONTRACT_MONTH, size=active.size))
    n = contracts.size
    low = np.maximum(spans.start_days[contracts].astype(np.int64), month_first)
    high = np.minimum(spans.end_days[contracts].astype(np.int64), month_last)
    issue_days = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    cents = np.maximum(5_000, np.round(rng.lognormal(np.log(250_000), 0.6, n))).astype(np.int64)
    client = rng.choice(clients.ids.len(), size=n, p=clients.weights)
    ids = _random_uuids(rng, n)
    order = np.argsort(issue_days, kind="stable")
    order = order[: np.searchsorted(issue_days[order], _day(params.as_of), side="right")]
    return pl.DataFrame(
        {
            "id": _format_uuids(ids[order]),
            "job_contract_id": _counter_ids(params, "contracts", contracts[order]),
            "client_id": clients.ids.gather(client[order]),
            "amount": _amounts(cents[order]),
            "issue_date": _dates(issue_days[order]),
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
        return cls(_counter_ids(params, "clients", np.arange(params.n_clients)), weights / weights.sum())


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


# --- all of it --------------------------------------------------------------------------------------


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
