"""The engine setting and each engine's writers and readers: all or nothing, no column sneaked in.

Write-audit-publish on PostgreSQL, piece by piece on tiny tables of a real server, is in
test_postgres_publish.py; the whole pipeline on the three engines in test_engines.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import adbc_driver_manager
import dagster as dg
import polars as pl
import pytest

from jump_platform import settings
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.transform.resources import dbt_env
from jump_platform.io_manager import FileScan, LakehouseIOManager, SchemaChangeError, TableParts
from jump_platform.warehouses.base import arrow_parts
from jump_platform.warehouses.postgres import PostgresIOManager, PostgresWarehouse, connect
from jump_platform.warehouses.postgres import write_table as write_postgres_table
from jump_platform.warehouses.spark import SparkParquetIOManager, SparkWarehouse, spark_conf
from jump_platform.warehouses.spark import write_table as write_parquet_table

ROWS = pl.DataFrame(
    {
        "id": ["a", "b"],
        "amount": [Decimal("10.05"), Decimal("0.10")],
        "issue_date": [dt.date(2024, 1, 31), None],
        "_loaded_at": [dt.datetime(2024, 2, 1, tzinfo=dt.UTC)] * 2,
    },
    schema={"id": pl.String, "amount": pl.Decimal(18, 2), "issue_date": pl.Date, "_loaded_at": pl.Datetime("us", "UTC")},
)


def parts(*frames: pl.DataFrame) -> Iterator:
    """Each frame as one part, as the IO managers hand them to the writers."""
    return arrow_parts(TableParts([[frame] for frame in frames]), landing="/nonexistent")


def failing(*frames: pl.DataFrame) -> Iterator:
    """Parts whose last one breaks half-way, as a delivery cut short would."""

    def broken() -> Iterable[pl.DataFrame]:
        yield ROWS
        raise OSError("disk full")

    return arrow_parts(TableParts([*([frame] for frame in frames), broken()]), landing="/nonexistent")


# --- the settings ----------------------------------------------------------------------------------


def test_duckdb_is_the_default_warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JUMP_WAREHOUSE", raising=False)
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))
    assert settings.warehouse() == "duckdb"
    resources = lakehouse_resources()
    assert isinstance(resources["io_manager"], LakehouseIOManager)
    assert isinstance(resources["warehouse"], LakehouseBuild) and resources["warehouse"].engine == "duckdb"


def test_an_unknown_warehouse_is_refused_naming_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_WAREHOUSE", "oracle")
    assert [str(error) for error in settings.validate()] == [
        "JUMP_WAREHOUSE: expected one of duckdb, postgres, spark, found 'oracle'"
    ]


def test_postgres_without_a_server_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUMP_WAREHOUSE", "postgres")
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))  # no cluster of `make postgres` there
    for name in ("JUMP_POSTGRES_URL", *settings.PG_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    [error] = settings.validate()
    assert error.variable == "JUMP_POSTGRES_URL" and "make postgres" in str(error)


def test_a_postgres_url_that_is_not_one_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_WAREHOUSE", "postgres")
    monkeypatch.setenv("JUMP_POSTGRES_URL", "mysql://jump:s3cret@db/jump")
    monkeypatch.setenv("JUMP_CRM_POSTGRES_URL", "crm.example:5432")
    errors = [str(error) for error in settings.validate()]
    assert [error.split(":")[0] for error in errors] == ["JUMP_POSTGRES_URL", "JUMP_CRM_POSTGRES_URL"]
    assert not any("s3cret" in error or "crm.example" in error for error in errors)


def test_the_warehouse_and_the_crm_have_their_own_databases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUMP_POSTGRES_URL", "postgresql://jump@warehouse.example:5432/lake")
    monkeypatch.delenv("JUMP_CRM_POSTGRES_URL", raising=False)
    assert settings.crm_postgres_url() is None  # the reverse ETL does not write to the warehouse
    monkeypatch.setenv("JUMP_CRM_POSTGRES_URL", "postgresql://care@crm.example:5432/crm")
    assert settings.crm_postgres_url() == "postgresql://care@crm.example:5432/crm"
    assert settings.postgres_warehouse_url() == "postgresql://jump@warehouse.example:5432/lake"


def test_the_pg_variables_make_the_url_and_dbt_gets_them_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_WAREHOUSE", "postgres")
    monkeypatch.delenv("JUMP_POSTGRES_URL", raising=False)
    for name, value in {
        "PGHOST": "db.example",
        "PGPORT": "6432",
        "PGUSER": "jump",
        "PGPASSWORD": "p@ss:word",
        "PGDATABASE": "lake",
    }.items():
        monkeypatch.setenv(name, value)
    assert settings.postgres_warehouse_url() == "postgresql://jump:p%40ss%3Aword@db.example:6432/lake"
    env = dbt_env()
    assert (env["JUMP_WAREHOUSE"], env["PGHOST"], env["PGPORT"], env["PGPASSWORD"], env["PGDATABASE"]) == (
        "postgres",
        "db.example",
        "6432",
        "p@ss:word",
        "lake",
    )


def test_each_engine_gets_its_own_io_manager_and_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUMP_POSTGRES_URL", "postgresql://jump@127.0.0.1:5432/jump")
    monkeypatch.setenv("JUMP_WAREHOUSE", "postgres")
    resources = lakehouse_resources()
    assert isinstance(resources["io_manager"], PostgresIOManager) and resources["io_manager"].schema_suffix == "__build"
    assert isinstance(resources["warehouse"].build_warehouse, PostgresWarehouse)
    monkeypatch.setenv("JUMP_WAREHOUSE", "Spark")
    resources = lakehouse_resources()
    assert isinstance(resources["io_manager"], SparkParquetIOManager)
    assert isinstance(resources["warehouse"].build_warehouse, SparkWarehouse)
    assert resources["warehouse"].build_warehouse.spark_dir == str(tmp_path / "spark")


def test_the_postgres_password_reaches_the_resources_as_an_env_var_name_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The Dagster UI shows a resource's configuration: the URL, password included, must not be in it."""
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUMP_POSTGRES_URL", "postgresql://jump:s3cret@127.0.0.1:5432/jump")
    monkeypatch.setenv("JUMP_WAREHOUSE", "postgres")
    resources = lakehouse_resources()
    url = resources["io_manager"].url
    assert isinstance(url, dg.EnvVar) and url.env_var_name == "JUMP_POSTGRES_URL"
    for resource in resources.values():
        shown = {name: value for name, value in resource if not isinstance(value, dg.EnvVar)}
        assert "s3cret" not in repr(shown), f"{type(resource).__name__} shows the password: {shown}"


# --- Spark: Parquet folders --------------------------------------------------------------------------


def test_a_parquet_table_is_replaced_whole_and_appended_to(tmp_path: Path) -> None:
    folder = tmp_path / "sources" / "app__invoices"
    assert write_parquet_table(folder, parts(ROWS, ROWS), replace=True) == 4
    assert write_parquet_table(folder, parts(ROWS), replace=True) == 2
    assert pl.read_parquet(folder / "*.parquet").height == 2
    write_parquet_table(folder, parts(ROWS.select(reversed(ROWS.columns))), replace=False)
    assert pl.read_parquet(folder / "*.parquet").sort("id").get_column("amount").to_list() == [
        Decimal("10.05"),
        Decimal("10.05"),
        Decimal("0.10"),
        Decimal("0.10"),
    ]
    assert [p.name for p in folder.parent.iterdir()] == ["app__invoices"]  # nothing left beside it


def test_a_parquet_write_that_fails_midway_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "sources" / "app__invoices"
    write_parquet_table(folder, parts(ROWS), replace=True)
    for replace in (True, False):
        with pytest.raises(OSError, match="disk full"):
            write_parquet_table(folder, failing(ROWS), replace=replace)
        assert pl.read_parquet(folder / "*.parquet").equals(ROWS)
    assert [p.name for p in folder.parent.iterdir()] == ["app__invoices"]


def test_a_parquet_append_cannot_add_a_column(tmp_path: Path) -> None:
    folder = tmp_path / "sources" / "app__invoices"
    write_parquet_table(folder, parts(ROWS), replace=True)
    with pytest.raises(SchemaChangeError, match=r"cannot add column.*'surprise'"):
        write_parquet_table(folder, parts(ROWS.with_columns(surprise=pl.lit(1))), replace=False)
    assert pl.read_parquet(folder / "*.parquet").equals(ROWS)


def test_spark_facts_read_the_parquet_tables_and_skip_the_missing_ones(tmp_path: Path) -> None:
    write_parquet_table(tmp_path / "sources" / "app__invoices", parts(ROWS), replace=True)
    warehouse = SparkWarehouse(spark_dir=str(tmp_path), build=True)
    facts, missing = warehouse.table_facts([("sources", "app__invoices"), ("marts", "kpi__nps")])
    assert facts["dagster/row_count"] == 2 and missing == {}
    assert warehouse.read_table("sources", "app__invoices").equals(ROWS)


def test_a_spark_table_s_preview_is_read_from_its_parquet_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog's preview of a model (its first rows) on Spark reads the table's files: no Spark
    application (on a cluster, executors on every worker) per model."""
    write_parquet_table(tmp_path / "sources" / "app__invoices", parts(ROWS, ROWS), replace=True)
    warehouse = SparkWarehouse(spark_dir=str(tmp_path), build=True)

    def no_spark(*args: object, **kwargs: object) -> None:
        raise AssertionError("a preview started Spark")

    monkeypatch.setattr("jump_platform.warehouses.spark.run_in_spark", no_spark)
    assert warehouse.head("sources", "app__invoices", 3).equals(pl.concat([ROWS, ROWS]).head(3))


def test_the_spark_profile_and_the_session_of_the_exports_agree(tmp_path: Path) -> None:
    """dbt's `spark` target and the child process that runs the exports open the same lakehouse
    with the same settings (dbt-spark adds spark.sql.ansi.enabled=false itself)."""
    import jinja2
    import yaml

    profile = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())
    parameters = profile["jump_platform"]["outputs"]["spark"]["server_side_parameters"]
    env = {"JUMP_SPARK_DIR": str(tmp_path)}
    rendered = {
        key: jinja2.Template(str(value)).render(env_var=lambda name, default="": env.get(name, default))
        for key, value in parameters.items()
    }
    assert rendered == {key: value for key, value in spark_conf(tmp_path).items() if key != "spark.sql.ansi.enabled"}


# --- PostgreSQL: COPY in one transaction ---------------------------------------------------------------


@pytest.mark.slow
def test_a_postgres_table_is_written_in_one_transaction_and_keeps_its_views(postgres_database) -> None:
    url = postgres_database("writer")
    warehouse = PostgresWarehouse(url=url)
    with connect(url) as connection:
        assert write_postgres_table(connection, "sources", "t_invoices", parts(ROWS, ROWS), replace=True) == 4
        with connection.cursor() as cursor:
            cursor.execute("create view sources.v_invoices as select * from sources.t_invoices")
        connection.commit()
        write_postgres_table(connection, "sources", "t_invoices", parts(ROWS), replace=True)
        write_postgres_table(connection, "sources", "t_invoices", parts(ROWS.select(reversed(ROWS.columns))), replace=False)
        assert warehouse.query("select count(*) as n from sources.v_invoices").item() == 4
        for replace in (True, False):
            # the driver reports the failure of the stream it was reading, with its message
            with pytest.raises((OSError, adbc_driver_manager.OperationalError), match="disk full"):
                write_postgres_table(connection, "sources", "t_invoices", failing(ROWS), replace=replace)
        with pytest.raises(SchemaChangeError, match="'surprise'"):
            write_postgres_table(connection, "sources", "t_invoices", parts(ROWS.with_columns(surprise=pl.lit(1))), replace=False)
    rows = warehouse.query("select * from sources.v_invoices order by id")
    assert rows.height == 4
    assert rows.get_column("amount").to_list() == [Decimal("10.05"), Decimal("10.05"), Decimal("0.10"), Decimal("0.10")]
    assert rows.get_column("_loaded_at").dtype == pl.Datetime("us", "UTC")


@pytest.mark.slow
def test_a_landing_file_streams_from_duckdb_into_postgres_and_back_into_a_csv(postgres_database, tmp_path: Path) -> None:
    """The loader's path on PostgreSQL: DuckDB reads the file (here a CSV of the landing zone),
    ADBC copies the rows in; and the exports' path: the rows stream back out into a CSV with its
    amounts to the cent."""
    url = postgres_database("landing")
    landing = tmp_path / "sources"
    landing.mkdir()
    (landing / "invoices.csv").write_text("id,amount\na,10.05\nb,0.1\n")
    scan = FileScan(
        "select id, cast(amount as decimal(18, 2)) as amount from read_csv(?, header = true, all_varchar = true)",
        [str(landing / "invoices.csv")],
    )
    with connect(url) as connection:
        written = write_postgres_table(
            connection, "exports__build", "amounts", arrow_parts(TableParts([scan]), str(landing)), replace=True
        )
    assert written == 2
    path = tmp_path / "exports" / "amounts.csv"
    assert PostgresWarehouse(url=url, schema_suffix="__build").export_csv("exports", "amounts", path) == 2
    assert path.read_text() == "id,amount\na,10.05\nb,0.10\n"
