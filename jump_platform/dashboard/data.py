"""The dashboard's queries, on its copy of the marts (see `snapshot`).

Each function opens the copy read-only, runs one parameterized query and closes it. Figures come
from the marts as they are: filters select rows, and sums over entities add the marts' own rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl


@dataclass(frozen=True)
class About:
    """What every page says about the figures."""

    as_of_date: dt.date
    published_at: dt.datetime
    refreshed_at: dt.datetime


@contextmanager
def _connect(snapshot: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _query(snapshot: Path, sql: str, parameters: Sequence[object] = ()) -> pl.DataFrame:
    with _connect(snapshot) as con:
        return con.execute(sql, list(parameters)).pl()


def about(snapshot: Path) -> About | None:
    """The as-of date and publish time of the copy, or None when there is no copy yet."""
    if not snapshot.exists():
        return None
    with _connect(snapshot) as con:
        row = con.execute("select as_of_date, published_at, refreshed_at from meta.about").fetchone()
    return About(*row)


def entities(snapshot: Path) -> list[str]:
    return _query(snapshot, "select distinct entity from marts.kpi__monthly_turnover_by_entity order by entity")[
        "entity"
    ].to_list()


def months(snapshot: Path) -> list[dt.date]:
    """Every month of the turnover reports, first to last."""
    return _query(snapshot, "select month from marts.kpi__monthly_turnover order by month")["month"].to_list()


def monthly_turnover(snapshot: Path, start: dt.date, end: dt.date) -> pl.DataFrame:
    """kpi__monthly_turnover from `start` through `end` (months): every month, 0 when empty, with the
    part dated after the as-of date (`scheduled_amount`)."""
    return _query(
        snapshot,
        "select month, amount, scheduled_amount from marts.kpi__monthly_turnover where month between ? and ? order by month",
        [start, end],
    )


def turnover_by_entity(snapshot: Path, entities: Sequence[str], start: dt.date, end: dt.date) -> pl.DataFrame:
    """kpi__monthly_turnover_by_entity for the entities and months chosen (`active_freelancers` is
    null after the as-of month)."""
    return _query(
        snapshot,
        """
        select month, entity, turnover, previous_month_turnover, turnover_change_pct,
               invoice_count, active_freelancers, invoicing_freelancers, scheduled_turnover
        from marts.kpi__monthly_turnover_by_entity
        where list_contains(?, entity) and month between ? and ?
        order by month, entity
        """,
        [list(entities), start, end],
    )


def nps(snapshot: Path) -> dict[str, object]:
    """kpi__nps, its one row."""
    return _query(snapshot, "select * from marts.kpi__nps").row(0, named=True)


def cohort_turnover(snapshot: Path, entities: Sequence[str], start: dt.date, end: dt.date) -> pl.DataFrame:
    """kpi__turnover_by_cohort for the months chosen, summed over the entities chosen."""
    return _query(
        snapshot,
        """
        select cohort_month, month, months_since_cohort,
               sum(freelancers) as freelancers, sum(turnover) as turnover
        from marts.kpi__turnover_by_cohort
        where list_contains(?, entity) and month between ? and ?
        group by cohort_month, month, months_since_cohort
        order by cohort_month, month
        """,
        [list(entities), start, end],
    )


def movements(snapshot: Path, entities: Sequence[str], start: dt.date, end: dt.date) -> pl.DataFrame:
    """kpi__freelancer_movements (arrivals, departures, actives) for the entities and months chosen."""
    return _query(
        snapshot,
        """
        select month, entity, joined, "left", active_at_month_end
        from marts.kpi__freelancer_movements
        where list_contains(?, entity) and month between ? and ?
        order by month, entity
        """,
        [list(entities), start, end],
    )


def find_freelancers(snapshot: Path, text: str, entities: Sequence[str], limit: int = 50) -> pl.DataFrame:
    """Freelancers whose name contains `text`, in either order, ignoring case and accents."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return _query(
        snapshot,
        """
        select distinct last_name, first_name
        from marts.kpi__freelancer_cumulative_turnover
        where list_contains(?, entity)
          and (strip_accents(last_name || ' ' || first_name) ilike strip_accents(?) escape '\\'
               or strip_accents(first_name || ' ' || last_name) ilike strip_accents(?) escape '\\')
        order by last_name, first_name
        limit ?
        """,
        [list(entities), pattern, pattern, limit],
    )


def cumulative_turnover(
    snapshot: Path, last_name: str, first_name: str, entities: Sequence[str], start: dt.date, end: dt.date
) -> pl.DataFrame:
    """kpi__freelancer_cumulative_turnover of one freelancer: each contract, month by month."""
    return _query(
        snapshot,
        """
        select month, entity, job_contract_start_date, job_contract_end_date, cumulative_turnover
        from marts.kpi__freelancer_cumulative_turnover
        where last_name = ? and first_name = ? and list_contains(?, entity) and month between ? and ?
        order by job_contract_start_date, month
        """,
        [last_name, first_name, list(entities), start, end],
    )


AT_RISK_ORDER = "contract_status = 'active' desc, turnover_last_12_months desc, last_name, first_name, user_id"
"""The care team's order: freelancers still under contract first, then those who invoiced the most."""


def _entity_filter(column: str) -> str:
    """Rows of the entities chosen, and those of no entity (no contract yet): nobody drops out of the list."""
    return f"({column} is null or list_contains(?, {column}))"


def at_risk_count(snapshot: Path, entities: Sequence[str]) -> int:
    """How many freelancers of the entities chosen marts.freelancer_health flags at risk."""
    sql = f"select count(*) as n from marts.freelancer_health where is_at_risk and {_entity_filter('current_entity')}"
    return _query(snapshot, sql, [list(entities)])["n"][0]


def freelancers_at_risk(snapshot: Path, entities: Sequence[str], limit: int = 100) -> pl.DataFrame:
    """marts.freelancer_health's at-risk freelancers (`is_at_risk`) of the entities chosen, in the
    care team's order (`AT_RISK_ORDER`), with why each is at risk."""
    return _query(
        snapshot,
        f"""
        select last_name, first_name, email, current_entity, contract_status, last_invoice_date,
               turnover_last_12_months, nps_category,
               concat_ws(', ',
                   case when has_no_recent_invoice then 'no recent invoice' end,
                   case when nps_category = 'detractor' then 'detractor' end) as why
        from marts.freelancer_health
        where is_at_risk and {_entity_filter("current_entity")}
        order by {AT_RISK_ORDER}
        limit ?
        """,
        [list(entities), limit],
    )


def top_freelancers(snapshot: Path, entities: Sequence[str], limit: int = 20) -> pl.DataFrame:
    """The freelancers of the entities chosen who invoiced the most over the last 12 months
    (marts.freelancer_health), as `last_name, first_name`, most first."""
    return _query(
        snapshot,
        """
        select last_name, first_name
        from marts.freelancer_health
        where list_contains(?, current_entity) and turnover_last_12_months > 0
        order by turnover_last_12_months desc, last_name, first_name
        limit ?
        """,
        [list(entities), limit],
    )
