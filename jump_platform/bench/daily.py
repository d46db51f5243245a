"""The daily refresh of `make bench`: what the landing zone receives the day after the full run.

The delivery is made of increments (`<system>/<table>/<name>.<format>`, appended to the sources,
staging keeps the latest version of each row), as an application exporting its changes would
deliver them, and then loaded by the `load_and_refresh` job (what the landing-zone sensor launches):

- the day's invoices, and the contracts started or ended that day: the generator's tables as of
  the next day (`iter_demo_tables`) differ from the full run's exactly there (its stable history,
  see `jump_platform/sources/generator/__init__.py`);
- one late invoice for a month two years back, on a contract held then, with the next reference;
- one open contract whose end date is set after the fact, to its last invoice (months ago): the
  months after it are no longer held;
- one CRM satisfaction score changed.

It goes through the generator's own chunks once, keeping only the few rows it needs, so it holds
no table in memory at any scale.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import polars as pl

from jump_platform.files import write_tables_atomically
from jump_platform.sources.contracts import CONTRACTS, REFERENCE_MIN_DIGITS, REFERENCE_PREFIX
from jump_platform.sources.generator import GeneratorParams, iter_demo_tables

# Open contracts among which one gets its end date set: the first ones met, started long enough ago.
_CANDIDATES = 200


def _increment_path(landing: Path, table: str, name: str, fmt: str) -> Path:
    contract = CONTRACTS[table]
    return landing / contract.system / contract.name / f"{name}.{fmt}"


def _reference_number(reference: str) -> int:
    return int(reference.removeprefix(REFERENCE_PREFIX))


def daily_delivery(params: GeneratorParams) -> dict[str, tuple[str, pl.DataFrame]]:
    """The delivery of the day `params.as_of` after a lakehouse loaded as of the day before, with
    the same seed and scale: each increment's table and rows, by name (see the module docstring)."""
    day = params.as_of
    two_years_back = day.replace(year=day.year - 2, day=1)
    since = day - dt.timedelta(days=365)
    new_invoices: list[pl.DataFrame] = []
    contracts_of_the_day: list[pl.DataFrame] = []
    candidates = pl.DataFrame(schema=CONTRACTS["app__job_contracts"].schema)
    last_invoice: dict[str, dt.date] = {}
    customer: dict | None = None
    template: dict | None = None
    last_reference = 0
    for table, chunk in iter_demo_tables(params):
        if table == "crm__customers" and customer is None:
            scored = chunk.filter(pl.col("satisfaction_score").is_not_null())
            customer = scored.row(0, named=True) if scored.height else None
        elif table == "app__job_contracts":
            contracts_of_the_day.append(chunk.filter((pl.col("start_date") == day) | (pl.col("end_date") == day)))
            if candidates.height < _CANDIDATES:
                open_ = chunk.filter(pl.col("end_date").is_null() & (pl.col("start_date") < since))
                candidates = pl.concat([candidates, open_.head(_CANDIDATES - candidates.height)])
        elif table == "app__invoices":
            new_invoices.append(chunk.filter(pl.col("issue_date") == day))
            if template is None:
                old = chunk.filter(pl.col("issue_date") >= two_years_back)
                template = old.row(0, named=True) if old.height else None
            held = chunk.filter(pl.col("job_contract_id").is_in(candidates["id"].implode()))
            for contract_id, issued in held.group_by("job_contract_id").agg(pl.col("issue_date").max()).iter_rows():
                last_invoice[contract_id] = max(issued, last_invoice.get(contract_id, issued))
            if chunk.height:
                last_reference = max(last_reference, _reference_number(chunk["reference"][-1]))
    if customer is None or template is None or candidates.is_empty():
        raise ValueError(
            f"scale {params.scale} as of {day}: too small for a daily delivery (no CRM score, old invoice or old open contract)"
        )
    delivery = {
        "invoices_of_the_day": ("app__invoices", pl.concat(new_invoices)),
        "contracts_of_the_day": ("app__job_contracts", pl.concat(contracts_of_the_day)),
    }
    # The contract whose last invoice is oldest: its end date, set today, lies furthest back.
    ended = min(candidates.iter_rows(named=True), key=lambda c: (last_invoice.get(c["id"], c["start_date"]), c["id"]))
    ended["end_date"] = last_invoice.get(ended["id"], ended["start_date"])
    delivery["contract_ended_after_the_fact"] = ("app__job_contracts", pl.DataFrame([ended], schema=candidates.schema))
    late = {
        **template,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jump-bench/late-invoice/{params.seed}/{day}")),
        "reference": f"{REFERENCE_PREFIX}{last_reference + 1:0{REFERENCE_MIN_DIGITS}d}",
    }
    delivery["late_invoice"] = ("app__invoices", pl.DataFrame([late], schema=CONTRACTS["app__invoices"].schema))
    score = customer["satisfaction_score"] % 10 + 1
    changed = pl.DataFrame([{**customer, "satisfaction_score": score}], schema=CONTRACTS["crm__customers"].schema)
    delivery["crm_score_changed"] = ("crm__customers", changed)
    return delivery


def write_daily_delivery(landing: Path, params: GeneratorParams, fmt: str) -> dict[str, int]:
    """Write the day's increments into the landing zone (none empty: the loader refuses a file
    without rows); return the rows of each, by file."""
    delivery = {name: (table, frame) for name, (table, frame) in daily_delivery(params).items() if frame.height}
    paths = {
        name: _increment_path(landing, table, f"{params.as_of:%Y-%m-%d}-{name}", fmt) for name, (table, _) in delivery.items()
    }
    written = write_tables_atomically(((name, frame) for name, (_, frame) in delivery.items()), paths)
    return {paths[name].relative_to(landing).as_posix(): rows for name, rows in written.items()}
