"""The dbt project: its sources match the Python contracts, it parses without a database, and a build on
a tiny hand-made lakehouse gives marts we can check by hand.

The build runs once per test session (about 20 s): every test on its marts reads the same DuckDB file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from jump_platform.sources.contracts import CONTRACTS, LOAD_METADATA_COLUMNS

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
AS_OF = "2024-06-15"

# How DuckDB (and the dbt `data_type` of the sources) name the load-metadata columns' polars types.
METADATA_SQL_TYPES = {pl.String: "varchar", pl.Datetime: "timestamp with time zone"}


def _metadata_sql_type(dtype: pl.DataType) -> str:
    return METADATA_SQL_TYPES[type(dtype)]


def _declared_sources() -> dict[str, dict[str, str]]:
    """`{table: {column: data_type}}` as `models/staging/_sources.yml` declares them."""
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    (source,) = declared["sources"]
    return {
        table["name"]: {column["name"]: column["data_type"] for column in table["columns"]}
        for table in source["tables"]
    }


def _contract_columns(table: str) -> dict[str, str]:
    columns = {column.name: column.sql_type for column in CONTRACTS[table].columns}
    columns |= {name: _metadata_sql_type(dtype) for name, dtype in LOAD_METADATA_COLUMNS.items()}
    return columns


# --- sources.yml against the contracts -------------------------------------------------------------


def test_dbt_sources_declare_exactly_the_contract_tables() -> None:
    assert set(_declared_sources()) == set(CONTRACTS)


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_dbt_sources_declare_every_contract_column_with_its_type_and_nothing_else(table: str) -> None:
    assert _declared_sources()[table] == _contract_columns(table)


def test_dbt_sources_map_to_the_dagster_source_assets() -> None:
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    (source,) = declared["sources"]
    assert source["schema"] == "sources"
    for table in source["tables"]:
        assert table["meta"]["dagster"]["asset_key"] == ["sources", table["name"]]
        assert table["description"]
        assert all(column["description"] for column in table["columns"])


# --- parse ----------------------------------------------------------------------------------------


def _dbt(args: list[str], workdir: Path, database: Path) -> None:
    """Run the dbt CLI in a subprocess, as dagster-dbt does: dbt-duckdb keeps its connection open for
    the life of the process, and DuckDB allows one process per database file."""
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env={**os.environ, "JUMP_DUCKDB_PATH": str(database), "JUMP_WAREHOUSE": "duckdb"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-5000:]}{result.stderr[-2000:]}"


def test_dbt_parse_needs_no_database_and_documents_every_model_and_column(tmp_path: Path) -> None:
    database = tmp_path / "absent" / "lakehouse.duckdb"

    _dbt(["parse"], tmp_path, database)

    assert not database.parent.exists()
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert {model["schema"] for model in models} == {"staging", "intermediate", "marts"}
    undocumented = [model["name"] for model in models if not model["description"]]
    undocumented += [
        f"{model['name']}.{column['name']}" for model in models for column in model["columns"].values()
        if not column["description"]
    ]
    assert undocumented == []
    # Every column a model selects is documented in its .yml: compare on the compiled marts' contracts.
    for model in models:
        if model["schema"] == "marts":
            assert model["config"]["contract"]["enforced"], model["name"]
            assert all(column["data_type"] for column in model["columns"].values()), model["name"]


# --- build on a hand-made lakehouse ----------------------------------------------------------------
#
# Three freelancers, one CRM-only contact, three clients of which two share a name, four contracts and
# five invoices. No invoice in March nor in May 2024. Invoice i4 and user u2 were delivered twice (batch
# b2 corrects b1). As of 2024-06-15:
#
#   u1 Alice Martin   jc1 blue  2024-01-10..2024-03-20   i1 2024-01-31 100.00 (Acme c1), i2 2024-02-15 50.50 (Acme c2)
#                     jc2 green 2024-04-01..open         i4 2024-04-10 300.00 (Acme c1; 299.00 in batch b1)
#   u2 Bruno Petit    jc3 blue  2024-02-01..2024-02-29   i3 2024-02-20 200.00 (Globex c3)
#   u3 Chloe Durand   jc4 green 2024-05-15..open         i5 2024-06-01  25.25 (Globex c3)

B1 = ("b1", dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC), "app/users.csv")
B2 = ("b2", dt.datetime(2024, 6, 2, 8, tzinfo=dt.UTC), "app/users.csv")

FIXTURE_ROWS: dict[str, list[tuple[object, ...]]] = {
    "app__users": [
        ("u1", "Alice", "Martin", "alice.martin@example.com", *B1),
        ("u2", "Bruno", "Petit", "old.address@example.com", *B1),
        (" u2", " Bruno ", "Petit", " Bruno.Petit@Example.com ", *B2),
        ("u3", "Chloe", "Durand", "chloe.durand@example.com", *B1),
    ],
    "app__clients": [
        ("c1", "Acme", *B1),
        ("c2", "Acme", *B1),
        ("c3", "Globex", *B1),
    ],
    "app__job_contracts": [
        ("jc1", "u1", "blue", dt.date(2024, 1, 10), dt.date(2024, 3, 20), *B1),
        ("jc2", "u1", "green", dt.date(2024, 4, 1), None, *B1),
        ("jc3", "u2", "blue", dt.date(2024, 2, 1), dt.date(2024, 2, 29), *B1),
        ("jc4", "u3", "Green", dt.date(2024, 5, 15), None, *B1),
    ],
    "app__invoices": [
        ("i1", "jc1", "c1", "JMP00001", Decimal("100.00"), dt.date(2024, 1, 31), *B1),
        ("i2", "jc1", "c2", "JMP00002", Decimal("50.50"), dt.date(2024, 2, 15), *B1),
        ("i3", "jc3", "c3", "JMP00003", Decimal("200.00"), dt.date(2024, 2, 20), *B1),
        ("i4", "jc2", "c1", "JMP00004", Decimal("299.00"), dt.date(2024, 4, 10), *B1),
        ("i4", "jc2", "c1", "JMP00004", Decimal("300.00"), dt.date(2024, 4, 10), *B2),
        ("i5", "jc4", "c3", "JMP00005", Decimal("25.25"), dt.date(2024, 6, 1), *B1),
    ],
    "crm__customers": [
        ("Martin", "Alice", "alice.martin@example.com", 10, *B1),
        ("Petit", "Bruno", "bruno.petit@example.com", 5, *B1),
        ("Durand", "Chloe", "chloe.durand@example.com", None, *B1),
        ("Zola", "Emile", "emile.zola@example.com", 8, *B1),
    ],
}


def create_fixture_lakehouse(path: Path) -> None:
    """A DuckDB file whose `sources` schema holds the hand-made rows above, typed as the contracts say."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema sources")
        for table, rows in FIXTURE_ROWS.items():
            columns = _contract_columns(table)
            con.execute(
                f"create table sources.{table} ("
                + ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
                + ")"
            )
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(f"insert into sources.{table} values ({placeholders})", rows)


@pytest.fixture(scope="module")
def built_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("dbt_build")
    database = workdir / "lakehouse.duckdb"
    create_fixture_lakehouse(database)
    _dbt(["build", "--vars", json.dumps({"as_of_date": AS_OF})], workdir, database)
    return database


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_monthly_turnover_shows_months_without_invoices_as_zero(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select month, amount from marts.kpi__monthly_turnover order by month")

    assert rows == [
        (dt.date(2024, 1, 1), Decimal("100.00")),
        (dt.date(2024, 2, 1), Decimal("250.50")),
        (dt.date(2024, 3, 1), Decimal("0.00")),
        (dt.date(2024, 4, 1), Decimal("300.00")),
        (dt.date(2024, 5, 1), Decimal("0.00")),
        (dt.date(2024, 6, 1), Decimal("25.25")),
    ]


def test_turnover_totals_reconcile_with_the_latest_invoice_versions(built_lakehouse: Path) -> None:
    totals = _query(
        built_lakehouse,
        """
        select
            (select sum(amount) from marts.kpi__monthly_turnover),
            (select sum(turnover) from marts.kpi__monthly_turnover_by_entity),
            (select sum(amount) from marts.fct_invoices),
            (select count(*) from marts.fct_invoices)
        """,
    )

    assert totals == [(Decimal("675.75"), Decimal("675.75"), Decimal("675.75"), 5)]


def test_staging_keeps_the_latest_version_of_each_row_cleaned(built_lakehouse: Path) -> None:
    users = _query(built_lakehouse, "select user_id, first_name, email from staging.app__users order by 1")

    assert users == [
        ("u1", "Alice", "alice.martin@example.com"),
        ("u2", "Bruno", "bruno.petit@example.com"),
        ("u3", "Chloe", "chloe.durand@example.com"),
    ]


def test_clients_sharing_a_name_are_merged_and_their_invoices_follow(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select clients.client_name, clients.app_client_count, count(*), sum(fct.amount)
        from marts.fct_invoices as fct
        inner join marts.dim_clients as clients on fct.client_key = clients.client_key
        group by all
        order by 1
        """,
    )

    assert rows == [("Acme", 2, 3, Decimal("450.50")), ("Globex", 1, 2, Decimal("225.25"))]


def test_nps_counts_only_app_freelancers_who_answered(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select * from marts.kpi__nps")

    # Alice 10 (promoter), Bruno 5 (detractor), Chloe no answer, Emile is CRM-only.
    assert rows == [(2, 1, 0, 1, Decimal("0.00"))]


def test_monthly_turnover_by_entity_fills_zeros_and_compares_with_the_previous_month(
    built_lakehouse: Path,
) -> None:
    rows = _query(
        built_lakehouse,
        """
        select month, turnover, active_freelancers, invoicing_freelancers, previous_month_turnover,
            turnover_change_pct
        from marts.kpi__monthly_turnover_by_entity
        where entity = 'blue'
        order by month
        """,
    )

    assert rows == [
        (dt.date(2024, 1, 1), Decimal("100.00"), 1, 1, Decimal("0.00"), None),
        (dt.date(2024, 2, 1), Decimal("250.50"), 2, 2, Decimal("100.00"), Decimal("150.50")),
        (dt.date(2024, 3, 1), Decimal("0.00"), 1, 0, Decimal("250.50"), Decimal("-100.00")),
        (dt.date(2024, 4, 1), Decimal("0.00"), 0, 0, Decimal("0.00"), None),
        (dt.date(2024, 5, 1), Decimal("0.00"), 0, 0, Decimal("0.00"), None),
        (dt.date(2024, 6, 1), Decimal("0.00"), 0, 0, Decimal("0.00"), None),
    ]


def test_cumulative_turnover_runs_through_the_as_of_month_for_open_contracts(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select entity, month, cumulative_turnover
        from marts.kpi__freelancer_cumulative_turnover
        where last_name = 'Martin'
        order by month
        """,
    )

    assert rows == [
        ("blue", dt.date(2024, 1, 1), Decimal("100.00")),
        ("blue", dt.date(2024, 2, 1), Decimal("150.50")),
        ("blue", dt.date(2024, 3, 1), Decimal("150.50")),
        ("green", dt.date(2024, 4, 1), Decimal("300.00")),
        ("green", dt.date(2024, 5, 1), Decimal("300.00")),
        ("green", dt.date(2024, 6, 1), Decimal("300.00")),
    ]


def test_freelancer_movements_count_joins_leaves_and_month_end_actives(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select month, entity, joined, "left", active_at_month_end
        from marts.kpi__freelancer_movements
        where joined > 0 or "left" > 0 or active_at_month_end > 0
        order by entity, month
        """,
    )

    assert rows == [
        (dt.date(2024, 1, 1), "blue", 1, 0, 1),
        (dt.date(2024, 2, 1), "blue", 1, 1, 2),  # Bruno's contract ends on the last day: still active then
        (dt.date(2024, 4, 1), "green", 0, 0, 1),
        (dt.date(2024, 5, 1), "green", 1, 0, 2),
        (dt.date(2024, 6, 1), "green", 0, 0, 2),
    ]


def test_dim_dates_covers_whole_years_of_data(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select min(date_day), max(date_day), count(*) from marts.dim_dates")

    assert rows == [(dt.date(2024, 1, 1), dt.date(2024, 12, 31), 366)]


def test_auditor_cohort_analysis_lists_every_month_held_with_zeros(built_lakehouse: Path, tmp_path: Path) -> None:
    _dbt(
        ["compile", "--select", "turnovers_by_cohort_for_auditor", "--vars", json.dumps({"as_of_date": AS_OF})],
        tmp_path,
        built_lakehouse,
    )
    (compiled,) = (tmp_path / "target" / "compiled").rglob("turnovers_by_cohort_for_auditor.sql")

    rows = _query(built_lakehouse, compiled.read_text())

    assert rows == [
        ("Durand", "Chloe", "2024/05", "green", "2024/05", Decimal("0.00")),
        ("Durand", "Chloe", "2024/05", "green", "2024/06", Decimal("25.25")),
        ("Martin", "Alice", "2024/01", "blue", "2024/01", Decimal("100.00")),
        ("Martin", "Alice", "2024/01", "blue", "2024/02", Decimal("50.50")),
        ("Martin", "Alice", "2024/01", "blue", "2024/03", Decimal("0.00")),
        ("Martin", "Alice", "2024/01", "green", "2024/04", Decimal("300.00")),
        ("Martin", "Alice", "2024/01", "green", "2024/05", Decimal("0.00")),
        ("Martin", "Alice", "2024/01", "green", "2024/06", Decimal("0.00")),
        ("Petit", "Bruno", "2024/02", "blue", "2024/02", Decimal("200.00")),
    ]
