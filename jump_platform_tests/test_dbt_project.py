"""The dbt project: its sources are generated from the Python contracts, it parses without a database, and
a build on a tiny hand-made lakehouse gives marts we can check by hand.

The build runs once per test session (about 20 s): every test on its marts reads the same DuckDB file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from jump_platform.sources import dbt_sources
from jump_platform.sources.contracts import CONTRACTS, LOAD_METADATA_COLUMNS
from jump_platform.sql import qualified, quote_identifier

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
AS_OF = "2024-06-15"

# How DuckDB (and the dbt `data_type` of the sources) name the load-metadata columns' polars types.
METADATA_SQL_TYPES = {pl.String: "varchar", pl.Datetime: "timestamp with time zone", pl.Int64: "bigint"}


def _metadata_sql_type(dtype: pl.DataType) -> str:
    return METADATA_SQL_TYPES[type(dtype)]


def _declared_sources() -> dict[str, dict[str, str]]:
    """`{table: {column: data_type}}` as `models/staging/_sources.yml` declares them."""
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    (source,) = declared["sources"]
    return {table["name"]: {column["name"]: column["data_type"] for column in table["columns"]} for table in source["tables"]}


def _contract_columns(table: str) -> dict[str, str]:
    columns = {column.name: column.sql_type for column in CONTRACTS[table].columns}
    columns |= {name: _metadata_sql_type(dtype) for name, dtype in LOAD_METADATA_COLUMNS.items()}
    return columns


# --- sources.yml, generated from the contracts -----------------------------------------------------


def test_the_dbt_sources_file_is_what_the_contracts_give() -> None:
    """`make sources-yml` was run after the last change to the contracts (CI fails otherwise)."""
    assert dbt_sources.SOURCES_YML.read_text(encoding="utf-8") == dbt_sources.sources_yml()
    assert dbt_sources.main(["--check"]) == 0


def test_the_check_of_the_dbt_sources_file_sees_a_stale_one(tmp_path: Path) -> None:
    stale = tmp_path / "_sources.yml"
    stale.write_text(dbt_sources.sources_yml().replace("Invoice id (uuid).", "Invoice id."), encoding="utf-8")
    assert dbt_sources.main(["--check", "--path", str(stale)]) == 1
    assert dbt_sources.main(["--path", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == dbt_sources.sources_yml()


def test_every_rule_of_the_contracts_is_a_test_on_its_source_table_or_column() -> None:
    (source,) = yaml.safe_load(dbt_sources.SOURCES_YML.read_text())["sources"]
    for table in source["tables"]:
        contract = CONTRACTS[table["name"]]
        declared = [
            (column["name"], name, spec["name"])
            for column in table["columns"]
            for test in column.get("data_tests", [])
            for name, spec in test.items()
        ]
        declared += [(None, name, spec["name"]) for test in table.get("data_tests", []) for name, spec in test.items()]
        assert sorted(declared, key=str) == sorted(((rule.column, rule.test, rule.name) for rule in contract.rules), key=str)


def test_dbt_sources_declare_exactly_the_contract_tables() -> None:
    assert set(_declared_sources()) == set(CONTRACTS)


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_dbt_sources_declare_every_contract_column_with_its_type_and_nothing_else(table: str) -> None:
    assert _declared_sources()[table] == _contract_columns(table)


def test_every_dbt_name_fits_postgresql_identifiers() -> None:
    """PostgreSQL cuts names at 63 characters: dbt refuses a longer model or unit test name there
    (a unit test's name names its temporary relation), so `JUMP_WAREHOUSE=postgres` would fail."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    names = [
        node["name"]
        for node in [*manifest["nodes"].values(), *manifest["unit_tests"].values()]
        if node["resource_type"] != "test"
    ]
    assert names and [name for name in names if len(name) > 63] == []


def test_dbt_sources_map_to_the_dagster_source_assets() -> None:
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    (source,) = declared["sources"]
    # The schema is `sources` but on PostgreSQL, where the loader writes the build's `sources__build`.
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    assert {node["schema"] for node in manifest["sources"].values()} == {"sources"}
    for table in source["tables"]:
        assert table["meta"]["dagster"]["asset_key"] == ["sources", table["name"]]
        assert table["description"]
        assert all(column["description"] for column in table["columns"])


# --- parse ----------------------------------------------------------------------------------------


def _dbt(args: list[str], workdir: Path, database: Path, env: dict[str, str] | None = None) -> str:
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
        env={**os.environ, "JUMP_BUILD_DUCKDB_PATH": str(database), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-5000:]}{result.stderr[-2000:]}"
    return result.stdout


def test_dbt_parse_needs_no_database_and_documents_every_model_and_column(tmp_path: Path) -> None:
    database = tmp_path / "absent" / "lakehouse.duckdb"

    _dbt(["parse"], tmp_path, database)

    assert not database.parent.exists()
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert {model["schema"] for model in models} == {"staging", "intermediate", "marts", "exports"}
    undocumented = [model["name"] for model in models if not model["description"]]
    undocumented += [
        f"{model['name']}.{column['name']}"
        for model in models
        for column in model["columns"].values()
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
# Four freelancers, one CRM-only contact, three clients of which two share a name, five contracts and
# seven invoices. No invoice in March nor in May 2024. Invoice i4 and user u2 were delivered twice (batch
# b2 corrects b1). As of 2024-06-15, with dates after it as real extracts hold them (dbt_project/README.md,
# "As of the as-of date"): jc4 has an end date after the as-of date, jc5 starts after it, i6 and i7 are
# dated after it.
#
#   u1 Alice Martin   jc1 blue  2024-01-10..2024-03-20   i1 2024-01-31 100.00 (Acme c1), i2 2024-02-15 50.50 (Acme c2)
#                     jc2 green 2024-04-01..open         i4 2024-04-10 300.00 (Acme c1; 299.00 in batch b1)
#                                                        i6 2024-06-20  40.00 (Acme c1)    after the as-of date
#   u2 Bruno Petit    jc3 blue  2024-02-01..2024-02-29   i3 2024-02-20 200.00 (Globex c3)
#   u3 Chloe Durand   jc4 green 2024-05-15..2024-09-30   i5 2024-06-01  25.25 (Globex c3)  end after the as-of date
#   u4 Denis Moreau   jc5 blue  2024-07-01..open         i7 2024-08-05  60.00 (Globex c3)  starts after it

B1 = ("b1", dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC), "app/users.csv", 2)
B2 = ("b2", dt.datetime(2024, 6, 2, 8, tzinfo=dt.UTC), "app/users.csv", 3)

FIXTURE_ROWS: dict[str, list[tuple[object, ...]]] = {
    "app__users": [
        ("u1", "Alice", "Martin", "alice.martin@example.com", *B1),
        ("u2", "Bruno", "Petit", "old.address@example.com", *B1),
        (" u2", " Bruno ", "Petit", " Bruno.Petit@Example.com ", *B2),
        ("u3", "Chloe", "Durand", "chloe.durand@example.com", *B1),
        ("u4", "Denis", "Moreau", "denis.moreau@example.com", *B1),
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
        ("jc4", "u3", "Green", dt.date(2024, 5, 15), dt.date(2024, 9, 30), *B1),
        ("jc5", "u4", "blue", dt.date(2024, 7, 1), None, *B1),
    ],
    "app__invoices": [
        ("i1", "jc1", "c1", "JMP00001", Decimal("100.00"), dt.date(2024, 1, 31), *B1),
        ("i2", "jc1", "c2", "JMP00002", Decimal("50.50"), dt.date(2024, 2, 15), *B1),
        ("i3", "jc3", "c3", "JMP00003", Decimal("200.00"), dt.date(2024, 2, 20), *B1),
        ("i4", "jc2", "c1", "JMP00004", Decimal("299.00"), dt.date(2024, 4, 10), *B1),
        ("i4", "jc2", "c1", "JMP00004", Decimal("300.00"), dt.date(2024, 4, 10), *B2),
        ("i5", "jc4", "c3", "JMP00005", Decimal("25.25"), dt.date(2024, 6, 1), *B1),
        ("i6", "jc2", "c1", "JMP00006", Decimal("40.00"), dt.date(2024, 6, 20), *B1),
        ("i7", "jc5", "c3", "JMP00007", Decimal("60.00"), dt.date(2024, 8, 5), *B1),
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
                f"create table {qualified('sources', table)} ("
                + ", ".join(f"{quote_identifier(name)} {sql_type}" for name, sql_type in columns.items())
                + ")"
            )
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(f"insert into {qualified('sources', table)} values ({placeholders})", rows)


@pytest.fixture(scope="module")
def built_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("dbt_build")
    database = workdir / "lakehouse.duckdb"
    create_fixture_lakehouse(database)
    # The rules of the sources are left out: the rows above are untidy on purpose (" u2", "Green"),
    # for the staging models to clean, and the rules have their own tests (test_source_rules.py).
    _dbt(["build", "--exclude", "source:sources", "--vars", json.dumps({"as_of_date": AS_OF})], workdir, database)
    return database


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_monthly_turnover_shows_months_without_invoices_as_zero_and_invoices_issued_in_advance_apart(
    built_lakehouse: Path,
) -> None:
    rows = _query(built_lakehouse, "select month, amount, scheduled_amount from marts.kpi__monthly_turnover order by month")

    zero = Decimal("0.00")
    assert rows == [
        (dt.date(2024, 1, 1), Decimal("100.00"), zero),
        (dt.date(2024, 2, 1), Decimal("250.50"), zero),
        (dt.date(2024, 3, 1), zero, zero),
        (dt.date(2024, 4, 1), Decimal("300.00"), zero),
        (dt.date(2024, 5, 1), zero, zero),
        (dt.date(2024, 6, 1), Decimal("65.25"), Decimal("40.00")),  # i6, June 20, is after the as-of date
        (dt.date(2024, 7, 1), zero, zero),
        (dt.date(2024, 8, 1), Decimal("60.00"), Decimal("60.00")),  # the months run through the last invoice
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

    assert totals == [(Decimal("775.75"), Decimal("775.75"), Decimal("775.75"), 7)]


def test_staging_keeps_the_latest_version_of_each_row_cleaned(built_lakehouse: Path) -> None:
    users = _query(built_lakehouse, "select user_id, first_name, email from staging.app__users order by 1")

    assert users == [
        ("u1", "Alice", "alice.martin@example.com"),
        ("u2", "Bruno", "bruno.petit@example.com"),
        ("u3", "Chloe", "chloe.durand@example.com"),
        ("u4", "Denis", "denis.moreau@example.com"),
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

    assert rows == [("Acme", 2, 4, Decimal("490.50")), ("Globex", 1, 3, Decimal("285.25"))]


def test_nps_counts_only_app_freelancers_who_answered(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select * from marts.kpi__nps")

    # Alice 10 (promoter), Bruno 5 (detractor), Chloe no answer, Denis not in the CRM, Emile is CRM-only.
    assert rows == [(2, 1, 0, 1, Decimal("0.00"))]


def test_monthly_turnover_by_entity_fills_zeros_and_compares_with_the_previous_month(
    built_lakehouse: Path,
) -> None:
    rows = _query(
        built_lakehouse,
        """
        select month, turnover, scheduled_turnover, active_freelancers, invoicing_freelancers,
            previous_month_turnover, turnover_change_pct
        from marts.kpi__monthly_turnover_by_entity
        where entity = 'blue'
        order by month
        """,
    )

    zero = Decimal("0.00")
    assert rows == [
        (dt.date(2024, 1, 1), Decimal("100.00"), zero, 1, 1, zero, None),
        (dt.date(2024, 2, 1), Decimal("250.50"), zero, 2, 2, Decimal("100.00"), Decimal("150.50")),
        (dt.date(2024, 3, 1), zero, zero, 1, 0, Decimal("250.50"), Decimal("-100.00")),
        (dt.date(2024, 4, 1), zero, zero, 0, 0, zero, None),
        (dt.date(2024, 5, 1), zero, zero, 0, 0, zero, None),
        (dt.date(2024, 6, 1), zero, zero, 0, 0, zero, None),  # Denis's contract has not started
        # after the as-of month: nobody is known to be active yet; i7 was issued in advance
        (dt.date(2024, 7, 1), zero, zero, None, 0, zero, None),
        (dt.date(2024, 8, 1), Decimal("60.00"), Decimal("60.00"), None, 1, zero, None),
    ]


def test_monthly_turnover_by_entity_counts_a_contract_with_a_scheduled_end_as_active(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select turnover, scheduled_turnover, active_freelancers, invoicing_freelancers
        from marts.kpi__monthly_turnover_by_entity
        where entity = 'green' and month = '2024-06-01'
        """,
    )

    # Alice (open) and Chloe (end scheduled in September); i5 by the as-of date, i6 after it.
    assert rows == [(Decimal("65.25"), Decimal("40.00"), 2, 2)]


def test_cumulative_turnover_runs_through_the_as_of_month_for_open_contracts(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select last_name, entity, job_contract_end_date, month, cumulative_turnover
        from marts.kpi__freelancer_cumulative_turnover
        where last_name in ('Martin', 'Durand', 'Moreau')
        order by last_name, month
        """,
    )

    # i6 (June 20) is after the as-of date: not in Alice's June total. Chloe's end is only
    # scheduled: open through June, the as-of month. Denis's contract has not started: no row.
    assert rows == [
        ("Durand", "green", None, dt.date(2024, 5, 1), Decimal("0.00")),
        ("Durand", "green", None, dt.date(2024, 6, 1), Decimal("25.25")),
        ("Martin", "blue", dt.date(2024, 3, 20), dt.date(2024, 1, 1), Decimal("100.00")),
        ("Martin", "blue", dt.date(2024, 3, 20), dt.date(2024, 2, 1), Decimal("150.50")),
        ("Martin", "blue", dt.date(2024, 3, 20), dt.date(2024, 3, 1), Decimal("150.50")),
        ("Martin", "green", None, dt.date(2024, 4, 1), Decimal("300.00")),
        ("Martin", "green", None, dt.date(2024, 5, 1), Decimal("300.00")),
        ("Martin", "green", None, dt.date(2024, 6, 1), Decimal("300.00")),
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

    # The months stop at June, the as-of month: Denis joins in July, Chloe leaves in September, both
    # after the as-of date, so neither counts yet.
    assert rows == [
        (dt.date(2024, 1, 1), "blue", 1, 0, 1),
        (dt.date(2024, 2, 1), "blue", 1, 1, 2),  # Bruno's contract ends on the last day: still active then
        (dt.date(2024, 4, 1), "green", 0, 0, 1),
        (dt.date(2024, 5, 1), "green", 1, 0, 2),
        (dt.date(2024, 6, 1), "green", 0, 0, 2),
    ]
    (last_month,) = _query(built_lakehouse, "select max(month) from marts.kpi__freelancer_movements")[0]
    assert last_month == dt.date(2024, 6, 1)


def test_dimensions_keep_dates_after_the_as_of_date_as_scheduled(built_lakehouse: Path) -> None:
    contracts = _query(
        built_lakehouse,
        """
        select job_contract_id, status, is_open, end_date, scheduled_end_date
        from marts.dim_job_contracts
        order by job_contract_id
        """,
    )
    freelancers = _query(
        built_lakehouse,
        "select user_id, first_contract_start_date, cohort_month from marts.dim_freelancers order by user_id",
    )
    after_as_of = _query(built_lakehouse, "select invoice_id from marts.fct_invoices where is_after_as_of order by invoice_id")

    assert contracts == [
        ("jc1", "ended", False, dt.date(2024, 3, 20), None),
        ("jc2", "open", True, None, None),
        ("jc3", "ended", False, dt.date(2024, 2, 29), None),
        ("jc4", "open", True, None, dt.date(2024, 9, 30)),
        ("jc5", "upcoming", False, None, None),
    ]
    assert freelancers == [
        ("u1", dt.date(2024, 1, 10), dt.date(2024, 1, 1)),
        ("u2", dt.date(2024, 2, 1), dt.date(2024, 2, 1)),
        ("u3", dt.date(2024, 5, 15), dt.date(2024, 5, 1)),
        ("u4", None, None),  # Denis joins in July, after the as-of date
    ]
    assert after_as_of == [("i6",), ("i7",)]


def test_freelancer_health_describes_each_freelancer_as_of_the_as_of_date(built_lakehouse: Path) -> None:
    rows = _query(
        built_lakehouse,
        """
        select user_id, current_entity, contract_status, scheduled_end_date, last_invoice_date,
               turnover_last_12_months, is_at_risk
        from marts.freelancer_health
        order by user_id
        """,
    )

    # Alice: i6 (June 20) is after the as-of date, so her last invoice is i4 (April 10, within the
    # last 3 months) and her turnover leaves i6 out. Chloe's end (September 30) is only scheduled:
    # active. Denis's contract starts in July: upcoming, and i7 (August 5, issued in advance) counts
    # nowhere, so he has no invoice yet (and is at risk, as anyone who never invoiced).
    assert rows == [
        ("u1", "green", "active", None, dt.date(2024, 4, 10), Decimal("450.50"), False),
        ("u2", "blue", "ended", None, dt.date(2024, 2, 20), Decimal("200.00"), True),
        ("u3", "green", "active", dt.date(2024, 9, 30), dt.date(2024, 6, 1), Decimal("25.25"), False),
        ("u4", None, "upcoming", None, None, Decimal("0.00"), True),
    ]


def test_dim_dates_covers_whole_years_of_data(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select min(date_day), max(date_day), count(*) from marts.dim_dates")

    assert rows == [(dt.date(2024, 1, 1), dt.date(2024, 12, 31), 366)]


def test_auditor_cohort_export_view_lists_every_month_held_with_zeros(built_lakehouse: Path) -> None:
    rows = _query(built_lakehouse, "select * from exports.turnovers_by_cohort_for_auditor")

    # Nothing after June, the as-of month; Alice's June invoice i6 is after the as-of date: 0.00.
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


def test_unique_combination_test_reports_each_duplicated_combination_once(built_lakehouse: Path, tmp_path: Path) -> None:
    # The generic test groups on a hash of the combination on DuckDB (tests/generic/): it must still
    # report exactly the repeated combinations, and nothing on unique rows.
    _dbt(
        [
            "compile",
            "--select",
            "freelancer_entity_months,test_name:unique_combination_of_columns",
            "--vars",
            json.dumps({"as_of_date": AS_OF}),
        ],
        tmp_path,
        built_lakehouse,
    )
    (compiled,) = (tmp_path / "target" / "compiled").rglob("unique_combination_of_columns*.sql")
    copy = tmp_path / "copy" / built_lakehouse.name  # the compiled SQL names the database after the file
    copy.parent.mkdir()
    shutil.copyfile(built_lakehouse, copy)

    assert _query(copy, compiled.read_text()) == []

    with duckdb.connect(str(copy)) as con:
        con.execute(
            """
            insert into intermediate.freelancer_entity_months
            select * from intermediate.freelancer_entity_months where user_id = 'u3' and month = '2024-06-01'
            union all
            select * replace (cast('2024-07-01' as date) as month)
            from intermediate.freelancer_entity_months where user_id = 'u3' and month = '2024-06-01'
            """
        )
    assert _query(copy, compiled.read_text()) == [("u3", "green", dt.date(2024, 6, 1), 2)]


def test_a_new_as_of_date_reaches_the_models_without_parsing_the_project_again(built_lakehouse: Path, tmp_path: Path) -> None:
    _dbt(["parse"], tmp_path, built_lakehouse)
    compiled = {}
    for as_of in ("2024-06-15", "2025-01-31"):
        output = _dbt(["compile", "--select", "dim_dates"], tmp_path, built_lakehouse, env={"JUMP_AS_OF": as_of})
        assert "Unable to do partial parsing" not in output
        (path,) = (tmp_path / "target" / "compiled").rglob("dim_dates.sql")
        compiled[as_of] = path.read_text()
    assert "cast('2024-06-15' as date)" in compiled["2024-06-15"]
    assert "cast('2025-01-31' as date)" in compiled["2025-01-31"]


def test_without_a_date_dbt_falls_back_to_the_same_day_as_python(
    built_lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's fallback is the local date of its process, as Python's, not the database's `current_date`."""
    from jump_platform import settings

    monkeypatch.delenv("JUMP_AS_OF", raising=False)
    _dbt(["compile", "--select", "dim_dates"], tmp_path, built_lakehouse)
    (path,) = (tmp_path / "target" / "compiled").rglob("dim_dates.sql")
    compiled = path.read_text()
    assert f"cast('{settings.today().isoformat()}' as date)" in compiled
    assert "current_date" not in compiled


def test_the_unit_tests_pass_here_and_a_run_leaves_them_out(built_lakehouse: Path, tmp_path: Path) -> None:
    from jump_platform.defs.transform.assets import dbt_build_args

    output = _dbt(["test", "--select", "test_type:unit"], tmp_path, built_lakehouse, env={"JUMP_AS_OF": AS_OF})
    unit_tests = json.loads((tmp_path / "target" / "manifest.json").read_text())["unit_tests"]
    assert len(unit_tests) >= 20
    passed = set(re.findall(r" PASS (\S+::\S+) ", output))
    assert passed == {f"{test['model']}::{test['name']}" for test in unit_tests.values()}
    assert " ERROR=0 " in output
    # a run's build: the models, the data tests and the source rules, not the unit tests
    assert dbt_build_args()[0] == "build"
    assert dbt_build_args()[-2:] == ["--exclude-resource-type", "unit_test"]


@pytest.mark.parametrize(("cap", "expected"), [("1GB", "2GB"), ("1.5GiB", "3GiB"), ("512 MB", "1024MB")])
def test_dbt_gets_the_memory_cap_once_per_thread(monkeypatch: pytest.MonkeyPatch, cap: str, expected: str) -> None:
    from jump_platform import settings

    monkeypatch.setenv("JUMP_DUCKDB_MEMORY_LIMIT", cap)
    monkeypatch.setattr(settings, "dbt_threads", lambda: 2)
    assert settings.dbt_memory_limit() == expected
