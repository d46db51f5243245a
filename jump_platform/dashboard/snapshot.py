"""The dashboard's own copy of the marts it shows, taken from the published lakehouse.

The dashboard never opens the lakehouse: it reads this copy, so a person looking at a chart never
holds the file a run must write. The copy is one DuckDB file, written beside its final place and
renamed over it, so the dashboard sees either the previous copy or the new one, whole. A dashboard
session that has the previous copy open keeps reading it until its next query.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from jump_platform.sql import qualified
from jump_platform.warehouses import Warehouse

MARTS = (
    "kpi__monthly_turnover",
    "kpi__monthly_turnover_by_entity",
    "kpi__nps",
    "kpi__turnover_by_cohort",
    "kpi__freelancer_movements",
    "kpi__freelancer_cumulative_turnover",
    "freelancer_health",
    "lakehouse_as_of",
)
"""The marts the dashboard reads, copied as they are into the schema `marts` of the copy."""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_snapshot(lakehouse: Path | Warehouse, snapshot: Path, published_at: dt.datetime) -> dict[str, int]:
    """Copy `MARTS` from `lakehouse` (the published DuckDB file, or the published lakehouse of
    another engine) into `snapshot`, with a `meta.about` row holding the as-of date, `published_at`
    (when the lakehouse was last published) and the time of the copy.

    Returns the row count of each table copied.
    """
    if isinstance(lakehouse, Path) and not lakehouse.exists():
        raise FileNotFoundError(f"No published lakehouse at {lakehouse}: `make run` builds it.")
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    temporary = snapshot.with_name(f".{snapshot.name}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        rows = _copy(lakehouse, temporary, published_at)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, snapshot)
    return rows


def _copy(lakehouse: Path | Warehouse, target: Path, published_at: dt.datetime) -> dict[str, int]:
    rows = {}
    with duckdb.connect(str(target)) as con:
        con.execute("create schema marts")
        if isinstance(lakehouse, Path):
            # DuckDB's ATTACH takes no parameter: the path goes in as a quoted string literal
            con.execute(f"attach {_sql_string(str(lakehouse))} as lakehouse (read_only)")
            for table in MARTS:
                con.execute(f"create table {qualified('marts', table)} as select * from {qualified('lakehouse', 'marts', table)}")
            con.execute("detach lakehouse")
        else:
            for table in MARTS:
                con.register("_mart", lakehouse.read_table("marts", table).to_arrow())
                con.execute(f"create table {qualified('marts', table)} as select * from _mart")
                con.unregister("_mart")
        for table in MARTS:
            rows[table] = con.execute(f"select count(*) from {qualified('marts', table)}").fetchone()[0]
        con.execute("create schema meta")
        con.execute(
            "create table meta.about as select "
            "(select as_of_date from marts.lakehouse_as_of) as as_of_date, "
            "cast(? as timestamptz) as published_at, "
            "cast(? as timestamptz) as refreshed_at",
            [published_at, dt.datetime.now(dt.UTC)],
        )
    return rows
