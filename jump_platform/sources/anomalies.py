"""Anomaly injection: break clean source tables on purpose, one business rule at a time.

`inject_anomalies(tables, ["duplicate_ids"], as_of, seed)` returns copies of the generated source
tables (keyed by contract table name, e.g. `app__invoices`) with the named anomalies added. Used by
tests, demos and to train analysts (env var `JUMP_ANOMALIES`).

Each anomaly trips the rule it is named after and no other (the rules: `TableContract.rules` in
`jump_platform.sources.contracts`, judged by dbt tests on the sources):
- it never creates a gap in the reference sequence unless that is the point (rows are appended
  with the next references, removed rows are followed by a renumbering);
- it never dates anything after the as-of date unless that is the point, nor before Jump's first
  business day (the rules `*_is_plausible`);
- it never leaves an invoice outside its contract, nor points to a missing row, by accident.
The same tables, anomalies, as-of date and seed always give the same result.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

import polars as pl

from jump_platform.sources.contracts import FIRST_BUSINESS_DAY, REFERENCE_MIN_DIGITS, REFERENCE_PREFIX

Tables = dict[str, pl.DataFrame]
Anomaly = Callable[[Tables, date, random.Random], Tables]

UNKNOWN_ENTITY = "red"
REFERENCE_GAP_SIZE = 3


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _pick(rng: random.Random, frame: pl.DataFrame, what: str, n: int = 1) -> pl.DataFrame:
    """`n` distinct rows drawn deterministically (whatever the frame's order), as a frame."""
    if frame.height < n:
        raise ValueError(f"cannot inject this anomaly: it needs {n} {what}, the data holds {frame.height}")
    ordered = frame.sort("id") if "id" in frame.columns else frame
    return ordered[sorted(rng.sample(range(ordered.height), n))]


def _reference_numbers() -> pl.Expr:
    return pl.col("reference").str.slice(len(REFERENCE_PREFIX)).cast(pl.Int64)


def _format_references(numbers: pl.Expr, invoices: pl.DataFrame, highest: int) -> pl.Expr:
    """`JMP` + zero-padded numbers, as wide as the widest existing reference (or wider if needed)."""
    existing = invoices["reference"].str.len_chars().max() if invoices.height else None
    width = max(REFERENCE_MIN_DIGITS, (existing or 0) - len(REFERENCE_PREFIX), len(str(highest)))
    return pl.lit(REFERENCE_PREFIX) + numbers.cast(pl.String).str.zfill(width)


def _renumber_in_issue_order(invoices: pl.DataFrame) -> pl.DataFrame:
    """References 1..n again, keeping the existing order of the numbers (so: issue order)."""
    numbers = _reference_numbers().rank("ordinal").cast(pl.Int64)
    return invoices.with_columns(reference=_format_references(numbers, invoices, invoices.height))


def _with_rows(frame: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, rows.select(frame.columns).cast(frame.schema)])


def _set(frame: pl.DataFrame, ids: Sequence[str], **values: pl.Expr | object) -> pl.DataFrame:
    """Set columns on the rows whose id is in `ids`."""
    selected = pl.col("id").is_in(list(ids))
    return frame.with_columns(
        **{
            column: pl.when(selected)
            .then(value if isinstance(value, pl.Expr) else pl.lit(value, frame.schema[column]))
            .otherwise(pl.col(column))
            .cast(frame.schema[column])
            for column, value in values.items()
        }
    )


def overlapping_contracts(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """A second contract of one freelancer covering the first month of one of their contracts."""
    contracts = tables["app__job_contracts"]
    closed = contracts.filter(pl.col("end_date").is_not_null())
    contract = _pick(rng, closed if closed.height else contracts, "job contracts").row(0, named=True)
    start = contract["start_date"]
    end = max(start, min(start + timedelta(days=30), as_of))
    added = pl.DataFrame([{**contract, "id": _new_id(rng), "end_date": end}], schema=contracts.schema)
    return {**tables, "app__job_contracts": _with_rows(contracts, added)}


def two_open_contracts(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """A freelancer with two open contracts: a new one opens while theirs is still open."""
    contracts = tables["app__job_contracts"]
    open_contracts = contracts.filter(pl.col("end_date").is_null())
    holder = _pick(rng, open_contracts if open_contracts.height else contracts, "job contracts")
    user_id = holder["user_id"][0]
    own = contracts.filter(pl.col("user_id") == user_id)
    latest_start = own["start_date"].max()
    start = latest_start + timedelta(days=(max(as_of, latest_start) - latest_start).days // 2)
    missing = 2 - own.filter(pl.col("end_date").is_null()).height
    latest = own.sort("start_date").row(-1, named=True)
    added = pl.DataFrame(
        [{**latest, "id": _new_id(rng), "start_date": start, "end_date": None} for _ in range(missing)],
        schema=contracts.schema,
    )
    return {**tables, "app__job_contracts": _with_rows(contracts, added)}


def invoice_outside_contract(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """One invoice dated the day before its contract started (a contract starting after Jump's first
    day, so that the invoice's date stays plausible)."""
    invoices, contracts = tables["app__invoices"], tables["app__job_contracts"]
    starts = contracts.filter(pl.col("start_date") > FIRST_BUSINESS_DAY).select(job_contract_id="id", start_date="start_date")
    invoice = _pick(rng, invoices.join(starts, on="job_contract_id", how="inner"), "invoices with a contract")
    day_before = invoice["start_date"][0] - timedelta(days=1)
    return {**tables, "app__invoices": _set(invoices, invoice["id"].to_list(), issue_date=day_before)}


def reference_gaps(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """`REFERENCE_GAP_SIZE` consecutive reference numbers missing, in the middle of the sequence."""
    invoices = tables["app__invoices"]
    numbers = _reference_numbers()
    ordered = invoices.select(numbers.alias("number")).sort("number")["number"]
    if ordered.len() < 2:
        raise ValueError("cannot inject reference_gaps: it needs at least 2 invoices")
    first_after_gap = ordered[rng.randrange(1, ordered.len())]
    shifted = pl.when(numbers >= first_after_gap).then(numbers + REFERENCE_GAP_SIZE).otherwise(numbers)
    highest = int(ordered.max()) + REFERENCE_GAP_SIZE
    return {**tables, "app__invoices": invoices.with_columns(reference=_format_references(shifted, invoices, highest))}


def empty_month(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """No invoice at all in one month between the first and the last invoiced months.

    The later invoices are renumbered, so the references still run without a gap: an empty month
    breaks no rule, it must only show as a month with 0 in the monthly turnover.
    """
    invoices = tables["app__invoices"]
    month = pl.col("issue_date").dt.truncate("1mo")
    months = invoices.select(month.unique().sort())["issue_date"]
    if months.len() < 3:
        raise ValueError("cannot inject empty_month: the invoices must span at least 3 months")
    emptied = months[rng.randrange(1, months.len() - 1)]
    kept = invoices.filter(month != emptied)
    return {**tables, "app__invoices": _renumber_in_issue_order(kept)}


def duplicate_ids(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """One invoice delivered twice in the same extract: two identical rows sharing an id.

    Identical, so every other rule (which judges one version per id) still sees the same invoice.
    """
    invoices = tables["app__invoices"]
    return {**tables, "app__invoices": _with_rows(invoices, _pick(rng, invoices, "invoices"))}


def non_positive_amounts(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """One invoice of 0 and one of a negative amount."""
    invoices = tables["app__invoices"]
    zero, negative = _pick(rng, invoices, "invoices", n=2)["id"].to_list()
    invoices = _set(invoices, [zero], amount=0)
    invoices = _set(invoices, [negative], amount=-pl.col("amount"))
    return {**tables, "app__invoices": invoices}


def unknown_entity(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """One job contract under an entity that is neither blue nor green."""
    contracts = tables["app__job_contracts"]
    contract = _pick(rng, contracts, "job contracts")["id"].to_list()
    return {**tables, "app__job_contracts": _set(contracts, contract, entity=UNKNOWN_ENTITY)}


def dangling_foreign_key(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """One invoice pointing to a job contract that does not exist, another to a missing client."""
    invoices = tables["app__invoices"]
    to_contract, to_client = _pick(rng, invoices, "invoices", n=2)["id"].to_list()
    invoices = _set(invoices, [to_contract], job_contract_id=_new_id(rng))
    invoices = _set(invoices, [to_client], client_id=_new_id(rng))
    return {**tables, "app__invoices": invoices}


def future_invoices(tables: Tables, as_of: date, rng: random.Random) -> Tables:
    """Two invoices issued after the as-of date, on an open contract, with the next references.

    Without any open contract, one freelancer's latest contract is reopened first (extending it
    keeps its invoices inside it and overlaps nothing, as it is their latest).
    """
    invoices, contracts, clients = tables["app__invoices"], tables["app__job_contracts"], tables["app__clients"]
    running = contracts.filter(pl.col("end_date").is_null() & (pl.col("start_date") <= as_of))
    if running.height:
        contract_id = _pick(rng, running, "open job contracts")["id"][0]
    else:
        latest = contracts.filter(pl.col("start_date") <= as_of).sort("start_date").group_by("user_id").last()
        contract_id = _pick(rng, latest, "job contracts started by the as-of date")["id"][0]
        contracts = _set(contracts, [contract_id], end_date=None)
    template = _pick(rng, invoices, "invoices").row(0, named=True)
    client_ids = _pick(rng, clients, "clients", n=1)["id"].to_list() * 2
    highest = int(invoices.select(_reference_numbers().max()).item() or 0)
    days_after = [1, rng.randint(2, 30)]
    added = pl.DataFrame(
        [
            {
                **template,
                "id": _new_id(rng),
                "job_contract_id": contract_id,
                "client_id": client_id,
                "issue_date": as_of + timedelta(days=days),
                "reference": None,
            }
            for client_id, days in zip(client_ids, days_after, strict=True)
        ],
        schema=invoices.schema,
    ).with_columns(reference=_format_references(pl.int_range(highest + 1, highest + 3, dtype=pl.Int64), invoices, highest + 2))
    return {**tables, "app__job_contracts": contracts, "app__invoices": _with_rows(invoices, added)}


ANOMALIES: dict[str, Anomaly] = {
    "overlapping_contracts": overlapping_contracts,
    "two_open_contracts": two_open_contracts,
    "invoice_outside_contract": invoice_outside_contract,
    "reference_gaps": reference_gaps,
    "empty_month": empty_month,
    "duplicate_ids": duplicate_ids,
    "non_positive_amounts": non_positive_amounts,
    "unknown_entity": unknown_entity,
    "dangling_foreign_key": dangling_foreign_key,
    "future_invoices": future_invoices,
}


def validate_anomaly_names(anomalies: Sequence[str]) -> list[str]:
    """The names, stripped, with empty ones dropped; raise on an unknown name."""
    names = [name.strip() for name in anomalies if name.strip()]
    unknown = [name for name in names if name not in ANOMALIES]
    if unknown:
        raise ValueError(f"unknown anomaly {unknown[0]!r}; valid anomalies are: {', '.join(ANOMALIES)}")
    return names


def parse_anomalies(value: str) -> list[str]:
    """Parse a comma-separated list such as the env var `JUMP_ANOMALIES`."""
    return validate_anomaly_names(value.split(","))


def inject_anomalies(
    tables: Mapping[str, pl.DataFrame], anomalies: Sequence[str], as_of: date, seed: int
) -> dict[str, pl.DataFrame]:
    """Return copies of `tables` with each named anomaly injected, in the given order."""
    names = validate_anomaly_names(anomalies)
    result = dict(tables)
    for name in names:
        # One random stream per anomaly: adding an anomaly to the list does not move the others.
        result = ANOMALIES[name](result, as_of, random.Random(f"{seed}:{name}"))
    return result
