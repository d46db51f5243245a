"""Incremental models (dbt_project/macros/incremental_months.sql): after any sequence of deliveries,
the lakehouse built run after run equals a full rebuild of the same sources, table by table and row
by row, and the exports are the same bytes.

The property test draws a seeded random sequence of deliveries into a small DuckDB lakehouse's
`sources` and after each one runs `dbt build` on it incrementally, as a run does, then rebuilds a
copy of it from scratch (`--full-refresh`) and compares the two. dbt runs in a subprocess on one
database path, so that dbt parses the project once (its profile never changes).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from jump_platform.exports import export_csv
from jump_platform.sources.contracts import CONTRACTS, LOAD_METADATA_COLUMNS
from jump_platform.sources.generator import GeneratorParams, generate_tables
from jump_platform.sql import qualified, quote_identifier

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
SEED = 20
FIRST_AS_OF = dt.date(2025, 3, 10)
SCALE = 0.05  # 50 freelancers, about 2,000 invoices
EXPORT = "turnovers_by_cohort_for_auditor"
# The models built by month (their config: materialized_by_month()).
INCREMENTAL_MODELS = (
    "intermediate.invoices",
    "intermediate.job_contract_months",
    "intermediate.freelancer_entity_months",
    "marts.fct_invoices",
    "marts.kpi__freelancer_cumulative_turnover",
    "marts.kpi__monthly_turnover",
    "marts.kpi__monthly_turnover_by_entity",
)


# --- a small lakehouse driven by dbt directly ---------------------------------------------------------


class Lakehouse:
    """A DuckDB lakehouse in `folder`: `incremental/lakehouse.duckdb` is built run after run as the
    platform builds it; `work/lakehouse.duckdb` is the one path dbt ever writes (a copy in, a copy
    out). Every copy has the same file name: DuckDB names the catalog after it, and views name it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.incremental = folder / "incremental" / "lakehouse.duckdb"
        self.work = folder / "work" / "lakehouse.duckdb"
        self.incremental.parent.mkdir()
        self.work.parent.mkdir()
        self.as_of = FIRST_AS_OF
        self.batches = 0

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        """dbt on `work.duckdb`, as of the lakehouse's as-of date (JUMP_AS_OF, as Dagster passes it)."""
        return dbt(self.folder, self.as_of, {"JUMP_BUILD_DUCKDB_PATH": str(self.work)}, *args)

    def run(self, *args: str, command: str = "run", expect_success: bool = True) -> str:
        """dbt on the incremental lakehouse, as a run does; returns dbt's output. `dbt run` unless
        told: the models are what this module tests, and dbt's 118 data tests would triple its time."""
        shutil.copyfile(self.incremental, self.work)
        result = self.dbt(command, *args)
        assert (result.returncode == 0) == expect_success, (
            f"dbt {command} {' '.join(args)} as of {self.as_of}: expected "
            f"{'success' if expect_success else 'a failure'}, got exit {result.returncode}:\n{result.stdout[-6000:]}"
        )
        shutil.copyfile(self.work, self.incremental)
        return result.stdout

    def full_rebuild(self) -> Path:
        """A copy of the incremental lakehouse's sources with every model rebuilt from scratch."""
        shutil.copyfile(self.incremental, self.work)
        result = self.dbt("run", "--full-refresh")
        assert result.returncode == 0, f"dbt run --full-refresh as of {self.as_of} failed:\n{result.stdout[-6000:]}"
        return self.work

    def deliver(self, table: str, frame: pl.DataFrame) -> str:
        """Append `frame` (the contract's columns) to `sources.<table>` as a new batch, as the loader does."""
        self.batches += 1
        batch, rows = as_batch(table, frame, self.batches)
        with duckdb.connect(str(self.incremental)) as con:
            con.register("delivered", rows.to_arrow())
            con.execute(f"insert into {qualified('sources', table)} by name select * from delivered")
        return batch

    def withdraw(self, batch: str) -> None:
        """Take a refused batch out of the sources, as the loader's quarantine does."""
        with duckdb.connect(str(self.incremental)) as con:
            for table in CONTRACTS:
                con.execute(f"delete from {qualified('sources', table)} where _batch_id = ?", [batch])

    def latest(self, table: str) -> pl.DataFrame:
        """The latest version of each row of `sources.<table>`, as staging reads them."""
        with duckdb.connect(str(self.incremental), read_only=True) as con:
            return latest_rows(table, con.sql(f"select * from {qualified('sources', table)}").pl())


def dbt(folder: Path, as_of: dt.date, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """dbt with `args` as of `as_of` (JUMP_AS_OF, as Dagster passes it), its target and logs in `folder`."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            *("--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)),
            *("--target-path", str(folder / "target"), "--log-path", str(folder / "logs")),
            *("--threads", "2"),
        ],
        env={**os.environ, **env, "JUMP_AS_OF": as_of.isoformat()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def as_batch(table: str, frame: pl.DataFrame, number: int) -> tuple[str, pl.DataFrame]:
    """The id of the `number`th batch and its rows: `frame`'s contract columns with the load metadata."""
    batch = f"batch-{number:03d}"
    loaded_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=number)
    rows = frame.select(CONTRACTS[table].column_names).with_columns(
        pl.lit(batch).alias("_batch_id"),
        pl.lit(loaded_at).cast(LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
        pl.lit(f"{table}/{batch}.csv").alias("_source_file"),
    )
    return batch, rows


def latest_rows(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The latest version of each row of a source table's rows, as staging reads them."""
    key = list(CONTRACTS[table].primary_key)
    return frame.sort(["_loaded_at", "_batch_id"], descending=True).unique(key, keep="first", maintain_order=True)


def create_sources(path: Path) -> None:
    """An empty `sources` schema, its tables typed as the contracts say, with the load metadata."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema sources")
        for table, contract in CONTRACTS.items():
            columns = [f"{quote_identifier(c.name)} {c.sql_type}" for c in contract.columns]
            columns += [f"{quote_identifier(name)} {sql}" for name, sql in METADATA_SQL_TYPES.items()]
            con.execute(f"create table {qualified('sources', table)} ({', '.join(columns)})")


METADATA_SQL_TYPES = {"_batch_id": "varchar", "_loaded_at": "timestamp with time zone", "_source_file": "varchar"}


def table_digests(path: Path) -> dict[str, tuple[int, str]]:
    """Every table of `intermediate` and `marts`: its row count and a digest of its rows, in no order."""
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('intermediate', 'marts') and table_type = 'BASE TABLE' order by all"
        ).fetchall()
        digests = {}
        for schema, table in relations:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            row = "md5(cast(row(" + ", ".join(quote_identifier(c) for c in columns) + ") as varchar))"
            digests[f"{schema}.{table}"] = con.execute(
                f"select count(*), md5(coalesce(string_agg({row}, ',' order by {row}), '')) from {qualified(schema, table)}"
            ).fetchone()
    return digests


def exported(path: Path, csv: Path) -> bytes:
    with duckdb.connect(str(path), read_only=True) as con:
        export_csv(con, f"select * from {qualified('exports', EXPORT)}", csv)
    return csv.read_bytes()


def assert_equals_a_full_rebuild(lakehouse: Lakehouse, step: str) -> None:
    incremental = table_digests(lakehouse.incremental)
    incremental_export = exported(lakehouse.incremental, lakehouse.folder / "incremental.csv")
    rebuilt = lakehouse.full_rebuild()
    full = table_digests(rebuilt)
    assert set(INCREMENTAL_MODELS) <= set(full)
    differing = sorted(name for name in full if incremental.get(name) != full[name])
    assert not differing, (
        f"after {step} (as of {lakehouse.as_of}), these tables of the incremental lakehouse differ from a "
        f"full rebuild of the same sources (rows, digest): "
        + "; ".join(f"{name}: {incremental.get(name)} against {full[name]}" for name in differing)
    )
    assert incremental_export == exported(rebuilt, lakehouse.folder / "full.csv"), (
        f"after {step}, exports/{EXPORT}.csv of the incremental lakehouse is not byte for byte the full rebuild's"
    )


# --- the deliveries -------------------------------------------------------------------------------------


def snapshot_as_of(lakehouse: Lakehouse, rng: random.Random) -> str:
    """A full snapshot of the applications as of a later date (a few days to two months on): every
    table whole, nearly all of it unchanged; new invoices, contracts started or ended since."""
    lakehouse.as_of += dt.timedelta(days=rng.choice([1, 3, 17, 45]))
    for table, frame in generate_tables(GeneratorParams(seed=SEED, as_of=lakehouse.as_of, scale=SCALE)).items():
        lakehouse.deliver(table, frame)
    return f"a full snapshot as of {lakehouse.as_of}"


def late_invoice(lakehouse: Lakehouse, rng: random.Random) -> str:
    """A new invoice for an old month, on a contract held then."""
    invoices = lakehouse.latest("app__invoices")
    old = invoices.filter(pl.col("issue_date") < lakehouse.as_of - dt.timedelta(days=365))
    template = old.row(rng.randrange(old.height), named=True)
    late = pl.DataFrame(
        [{**template, "id": f"late-{lakehouse.batches}", "reference": f"LATE-{lakehouse.batches}", "amount": Decimal("123.45")}],
        schema=invoices.schema,
    )
    lakehouse.deliver("app__invoices", late)
    return f"a late invoice dated {template['issue_date']}"


def end_date_set(lakehouse: Lakehouse, rng: random.Random) -> str:
    """An open contract gets an end date, in the past: the months after it are no longer held."""
    contracts = lakehouse.latest("app__job_contracts")
    open_ = contracts.filter(pl.col("end_date").is_null() & (pl.col("start_date") < lakehouse.as_of - dt.timedelta(days=120)))
    contract = open_.row(rng.randrange(open_.height), named=True)
    end = contract["start_date"] + dt.timedelta(days=rng.randrange(30, (lakehouse.as_of - contract["start_date"]).days - 60))
    lakehouse.deliver("app__job_contracts", pl.DataFrame([{**contract, "end_date": end}], schema=contracts.schema))
    return f"contract {contract['id']} ended on {end}"


def crm_update(lakehouse: Lakehouse, rng: random.Random) -> str:
    crm = lakehouse.latest("crm__customers")
    customer = crm.row(rng.randrange(crm.height), named=True)
    score = (customer["satisfaction_score"] or 0) % 10 + 1
    lakehouse.deliver("crm__customers", pl.DataFrame([{**customer, "satisfaction_score": score}], schema=crm.schema))
    return f"the CRM score of {customer['email']} set to {score}"


def user_renamed(lakehouse: Lakehouse, rng: random.Random) -> str:
    """A freelancer renamed: to the name of another one, so that the auditor's export holds two
    freelancers of the same name whose rows must still come in a stable order."""
    users = lakehouse.latest("app__users")
    with duckdb.connect(str(lakehouse.incremental), read_only=True) as con:
        cohorts = con.sql(
            f"select user_id, cohort_month from {qualified('intermediate', 'freelancers')} where cohort_month is not null"
        ).pl()
    pairs = cohorts.join(cohorts, on="cohort_month", suffix="_namesake").filter(pl.col("user_id") != pl.col("user_id_namesake"))
    pair = pairs.row(rng.randrange(pairs.height), named=True)
    user = users.filter(pl.col("id") == pair["user_id"]).row(0, named=True)
    namesake = users.filter(pl.col("id") == pair["user_id_namesake"]).row(0, named=True)
    lakehouse.deliver(
        "app__users",
        pl.DataFrame([{**user, "first_name": namesake["first_name"], "last_name": namesake["last_name"]}], schema=users.schema),
    )
    return f"user {user['id']} renamed {namesake['first_name']} {namesake['last_name']}"


def refused_batch(lakehouse: Lakehouse, rng: random.Random) -> str:
    """A batch breaking a source rule (a negative amount): the build fails its checks and the batch
    is withdrawn; the next run goes on from a lakehouse the failed run left halfway."""
    invoices = lakehouse.latest("app__invoices")
    bad = invoices.sample(3, seed=rng.randrange(1 << 30)).with_columns(pl.col("amount") * -1)
    batch = lakehouse.deliver("app__invoices", bad)
    output = lakehouse.run("--exclude-resource-type", "unit_test", command="build", expect_success=False)
    assert "amount_is_positive_with_two_decimals" in output
    lakehouse.withdraw(batch)
    return f"a refused batch ({batch}), withdrawn"


def months_withdrawn(lakehouse: Lakehouse, rng: random.Random) -> str:
    """An invoice issued in advance, months after the as-of date, is built, then its batch withdrawn:
    the months it alone held disappear again from every model built by month (the monthly turnover
    runs to the last invoice's month), among them marts whose contract forbids the null columns of
    the marker row that deletes a month (macros/incremental_months.sql: `replace_months`)."""
    invoices = lakehouse.latest("app__invoices")
    template = invoices.row(rng.randrange(invoices.height), named=True)
    ahead = lakehouse.as_of + dt.timedelta(days=rng.choice([70, 100]))
    invoice = {**template, "id": f"ahead-{lakehouse.batches}", "reference": f"AHEAD-{lakehouse.batches}", "issue_date": ahead}
    batch = lakehouse.deliver("app__invoices", pl.DataFrame([invoice], schema=invoices.schema))
    lakehouse.run()
    lakehouse.withdraw(batch)
    return f"an invoice issued in advance on {ahead}, built, then withdrawn"


DELIVERIES: tuple[Callable[[Lakehouse, random.Random], str], ...] = (
    snapshot_as_of,
    late_invoice,
    end_date_set,
    crm_update,
    user_renamed,
    refused_batch,
    months_withdrawn,
)


@pytest.fixture
def lakehouse(tmp_path: Path) -> Lakehouse:
    built = Lakehouse(tmp_path)
    create_sources(built.incremental)
    for table, frame in generate_tables(GeneratorParams(seed=SEED, as_of=FIRST_AS_OF, scale=SCALE)).items():
        built.deliver(table, frame)
    built.run()
    return built


def test_incremental_runs_equal_a_full_rebuild_after_every_delivery(lakehouse: Lakehouse) -> None:
    """A seeded random sequence of deliveries, every kind once in a random order, and a full refresh
    in the middle: after each, the incremental lakehouse is a full rebuild's, table by table, export byte for byte."""
    rng = random.Random(SEED)
    kinds = list(DELIVERIES)
    rng.shuffle(kinds)
    sequence = [*kinds[:3], "full refresh", *kinds[3:]]
    for step, delivery in enumerate(sequence, 1):
        if delivery == "full refresh":
            lakehouse.run("--full-refresh")
            what = "a full refresh"
        else:
            what = delivery(lakehouse, rng)
            lakehouse.run()
        assert_equals_a_full_rebuild(lakehouse, f"step {step}, {what}")


def test_an_incremental_run_rewrites_only_the_months_a_late_invoice_touches(lakehouse: Lakehouse) -> None:
    """One late invoice for an old month: the run rewrites the invoices of that month only, the
    freelancer grid's month, and no month of the contract grid."""
    rng = random.Random(SEED + 1)
    what = late_invoice(lakehouse, rng)
    late_month = lakehouse.latest("app__invoices").filter(pl.col("id").str.starts_with("late-"))["issue_date"][0].replace(day=1)
    before = lakehouse.folder / "before" / "lakehouse.duckdb"
    before.parent.mkdir()
    shutil.copyfile(lakehouse.incremental, before)
    lakehouse.run()

    def rewritten(schema: str, model: str, key: str = "month") -> list[dt.date]:
        """The months for which the run's incremental select of `model` gave rows: that select run
        again on the lakehouse after the run, with `model` alone as it was before (rolled back)."""
        compiled = next((lakehouse.folder / "target" / "compiled").rglob(f"{model}.sql")).read_text()
        with duckdb.connect(str(lakehouse.work)) as con:
            # ATTACH takes no parameter: the path as a string literal, quotes doubled
            con.execute("attach '" + str(before).replace("'", "''") + "' as before (read_only)")
            con.execute("begin")
            con.execute(f"create or replace table {qualified(schema, model)} as select * from before.{qualified(schema, model)}")
            months = sorted({month for (month,) in con.execute(f"select distinct {key} from ({compiled})").fetchall()})
            con.execute("rollback")
        return months

    assert rewritten("intermediate", "invoices", "issue_month") == [late_month], what
    assert rewritten("intermediate", "job_contract_months") == [], what
    assert rewritten("intermediate", "freelancer_entity_months") == [late_month], what
    assert rewritten("marts", "kpi__monthly_turnover") == [late_month], what
    assert_equals_a_full_rebuild(lakehouse, what)


def test_the_auditor_export_does_not_depend_on_how_its_table_is_stored(lakehouse: Lakehouse, tmp_path: Path) -> None:
    """Exports have a stable order (dbt_project/README.md): the same rows of
    intermediate.freelancer_entity_months stored in the opposite order give the same file, namesakes
    of the same cohort included."""
    user_renamed(lakehouse, random.Random(SEED))
    lakehouse.run()
    reversed_copy = tmp_path / "reversed" / "lakehouse.duckdb"
    reversed_copy.parent.mkdir()
    shutil.copyfile(lakehouse.incremental, reversed_copy)
    table = qualified("intermediate", "freelancer_entity_months")
    with duckdb.connect(str(reversed_copy)) as con:
        con.execute("set preserve_insertion_order = true")
        con.execute(f"create table stored as select * from {table}")
        con.execute(f"delete from {table}")
        con.execute(
            f"insert into {table} select * from stored order by last_name desc, first_name desc, user_id desc, month desc"
        )
        namesakes = con.execute(
            f"select count(*) from (select last_name, first_name, cohort_month from {table} "
            "group by all having count(distinct user_id) > 1)"
        ).fetchone()[0]
    assert namesakes > 0, "the test needs two freelancers of the same name and cohort"
    assert exported(lakehouse.incremental, tmp_path / "a.csv") == exported(reversed_copy, tmp_path / "b.csv")


def test_a_full_refresh_is_one_run_config_that_has_dbt_rebuild_every_model_whole() -> None:
    """`make run FULL_REFRESH=1` (and the same config in the UI's launchpad) is valid for the jobs
    that build the models, and has the dbt step pass `--full-refresh`; a run without it does not."""
    import dagster as dg

    from jump_platform.definitions import defs
    from jump_platform.defs.transform.assets import DbtBuildConfig, dbt_build_args
    from jump_platform.runner.cli import full_refresh_config

    for job in ("refresh", "transform"):
        dg.validate_run_config(defs().resolve_job_def(job), full_refresh_config())
    config = DbtBuildConfig(**full_refresh_config()["ops"]["jump_dbt_models"]["config"])
    assert "--full-refresh" in dbt_build_args(config.full_refresh)
    assert "--full-refresh" not in dbt_build_args(DbtBuildConfig().full_refresh)


# --- the same on PostgreSQL --------------------------------------------------------------------------


class PostgresLakehouse:
    """Two databases of one PostgreSQL server given the same deliveries: `incremental` is built run
    after run as the platform builds it, `full` rebuilt from scratch (`--full-refresh`) when compared.
    dbt builds the build schemas (`intermediate__build`...: macros/generate_schema_name.sql) and
    reads the sources from `sources__build`, as a run on PostgreSQL does before its publish. Each
    database has its own dbt target folder, so that each parses the project once."""

    def __init__(self, folder: Path, incremental_url: str, full_url: str) -> None:
        self.folder = folder
        self.urls = {"incremental": incremental_url, "full": full_url}
        self.as_of = FIRST_AS_OF
        self.batches = 0

    def dbt(self, name: str, *args: str) -> str:
        from jump_platform.warehouses.postgres import libpq_env

        env = {"JUMP_WAREHOUSE": "postgres", **libpq_env(self.urls[name])}
        result = dbt(self.folder / name, self.as_of, env, *args)
        assert result.returncode == 0, f"dbt {' '.join(args)} on the {name} database as of {self.as_of}:\n{result.stdout[-6000:]}"
        return result.stdout

    def run(self) -> str:
        return self.dbt("incremental", "run")

    def deliver(self, table: str, frame: pl.DataFrame) -> str:
        import pyarrow as pa

        from jump_platform.warehouses.postgres import connect, write_table

        self.batches += 1
        batch, rows = as_batch(table, frame, self.batches)
        arrow = rows.to_arrow()
        for url in self.urls.values():
            with connect(url) as connection:
                reader = pa.RecordBatchReader.from_batches(arrow.schema, arrow.to_batches())
                write_table(connection, "sources__build", table, [reader], replace=False)
        return batch

    def withdraw(self, batch: str) -> None:
        from jump_platform.warehouses.postgres import connect

        for url in self.urls.values():
            with connect(url) as connection, connection.cursor() as cursor:
                for table in CONTRACTS:
                    cursor.execute(f"delete from {qualified('sources__build', table)} where _batch_id = $1", [batch])
                connection.commit()

    def query(self, name: str, sql: str) -> pl.DataFrame:
        from jump_platform.warehouses.postgres import PostgresWarehouse

        return PostgresWarehouse(url=self.urls[name]).query(sql)

    def latest(self, table: str) -> pl.DataFrame:
        return latest_rows(table, self.query("incremental", f"select * from {qualified('sources__build', table)}"))

    def digests(self, name: str) -> dict[str, tuple[int, str]]:
        """Every table of the built `intermediate` and `marts`: its row count and a digest of its rows."""
        columns = self.query(
            name,
            "select c.table_schema, c.table_name, string_agg(quote_ident(c.column_name), ', ' order by c.ordinal_position) "
            "as listed from information_schema.columns c join information_schema.tables t using (table_schema, table_name) "
            "where c.table_schema in ('intermediate__build', 'marts__build') and t.table_type = 'BASE TABLE' group by 1, 2",
        )
        digests = {}
        for schema, table, listed in columns.iter_rows():
            row = f"md5(cast(row({listed}) as text))"
            counted = self.query(
                name,
                f"select count(*) as n, md5(coalesce(string_agg({row}, ',' order by {row}), '')) as digest "
                f"from {qualified(schema, table)}",
            )
            digests[f"{schema}.{table}"] = (counted["n"][0], counted["digest"][0])
        return digests

    def assert_equals_a_full_rebuild(self, step: str) -> None:
        self.dbt("full", "run", "--full-refresh")
        incremental, full = self.digests("incremental"), self.digests("full")
        assert {f"{name.replace('.', '__build.')}" for name in INCREMENTAL_MODELS} <= set(full)
        differing = sorted(name for name in full if incremental.get(name) != full[name])
        assert not differing, (
            f"after {step} on PostgreSQL, these tables built incrementally differ from a full rebuild "
            "(rows, digest): " + "; ".join(f"{name}: {incremental.get(name)} against {full[name]}" for name in differing)
        )


@pytest.mark.slow
@pytest.mark.engines
def test_on_postgresql_incremental_runs_equal_a_full_rebuild(postgres_database: Callable[[str], str], tmp_path: Path) -> None:
    """The models built by month run incrementally on PostgreSQL too (their fingerprint through
    `md5`, `replace_months` deleting a vanished month): after a late invoice and after months
    withdrawn, every table equals a full rebuild of the same sources."""
    lakehouse = PostgresLakehouse(tmp_path, postgres_database("incremental_built"), postgres_database("incremental_full"))
    for table, frame in generate_tables(GeneratorParams(seed=SEED, as_of=FIRST_AS_OF, scale=SCALE)).items():
        lakehouse.deliver(table, frame)
    lakehouse.run()
    rng = random.Random(SEED)
    for delivery in (late_invoice, months_withdrawn):
        what = delivery(lakehouse, rng)
        lakehouse.run()
        # the run took the incremental branch: its select compares month fingerprints with the table
        compiled = next((tmp_path / "incremental" / "target" / "compiled").rglob("invoices.sql")).read_text()
        assert "changed_months" in compiled, compiled
        lakehouse.assert_equals_a_full_rebuild(what)
