"""The same pipeline on DuckDB, PostgreSQL and Spark gives the same marts and exports.

One seed and one as-of date, a small scale, and extracts generated as of a later date than the
lakehouse describes, so that they hold every as-of case the marts handle: contracts starting after
the as-of date, end dates after it, invoices issued in advance (see test_marts.py). The `refresh`
job runs once per engine (`JUMP_WAREHOUSE`), each in a process of its own and its own data folder,
the three at once; then every mart and every export is compared as rows, amounts to the cent.
PostgreSQL is a database of a throwaway local cluster (`postgres_database`), Spark runs in
`local[2]` and, a fourth build, on a standalone cluster of a master and two workers (`make
spark`'s, on free ports), whose executors must have run tasks on both workers. On PostgreSQL a
second delivery, with a blocking anomaly, then publishes nothing: the published schemas and the
exports stay as they were.

The module takes a few minutes (Spark's fixed costs: a JVM, a metastore, a job per statement),
hence the `engines` and `slow` markers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import dagster as dg
import polars as pl
import polars.selectors as cs
import pytest

from jump_platform.dashboard.snapshot import MARTS as DASHBOARD_MARTS
from jump_platform.definitions import defs
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.local_services.postgres import free_port
from jump_platform.local_services.spark import LocalSparkCluster
from jump_platform.published import read_table
from jump_platform.runner.summary import RunSummary
from jump_platform.warehouses.postgres import PostgresWarehouse
from jump_platform.warehouses.spark import SparkWarehouse
from jump_platform_tests.conftest import AS_OF

pytestmark = [pytest.mark.engines, pytest.mark.slow]

ENGINES = ("duckdb", "postgres", "spark")
# Every build compared with DuckDB's: the other engines, and Spark on a standalone cluster.
OTHERS = ("postgres", "spark", "spark_cluster")
# 100 freelancers, 2 clients, about 500 invoices: both entities, every month since 2019, NPS answers.
SCALE = "0.1"
# The extracts' own as-of date, after the lakehouse's (as in test_marts.py).
LATER = dt.date(2027, 2, 15)


def mart_names() -> list[str]:
    import json

    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def build(engine: str, data: str, postgres_url: str, anomalies: str = "", spark_master: str = "local[2]") -> RunSummary:
    """Run `refresh` on one engine in this process (a child of the test's), as `make run` would."""
    os.environ.update(
        {
            "JUMP_SPARK_MASTER": spark_master,
            "JUMP_WAREHOUSE": engine,
            "JUMP_DATA_DIR": data,
            "JUMP_POSTGRES_URL": postgres_url,
            "JUMP_AS_OF": AS_OF.isoformat(),
            "JUMP_SEED": "42",
            "JUMP_SCALE": SCALE,
            "JUMP_ANOMALIES": anomalies,
        }
    )
    for name in ("JUMP_DUCKDB_PATH", "JUMP_CRM_POSTGRES_URL", "JUMP_KPI_ENDPOINT_URL"):
        os.environ.pop(name, None)
    from jump_platform.runner.cli import run_job

    return run_job(
        "refresh",
        run_config={"ops": {"demo_extracts": {"config": {"extracted_on": LATER.isoformat()}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )


def executor_tasks(work: Path) -> dict[str, int]:
    """How many tasks the executors of each worker of a standalone cluster finished (their logs)."""
    return {
        worker.name: sum(log.read_text(errors="replace").count("Finished task") for log in worker.glob("app-*/*/stderr"))
        for worker in sorted(work.iterdir())
    }


def comparable(frame: pl.DataFrame) -> list[tuple]:
    """A table's rows in an order and a form every engine shares: amounts as decimals to the
    cent, integers as 64-bit, timestamps in UTC to the microsecond, rows sorted."""
    frame = frame.with_columns(
        cs.float().round(2).cast(pl.Decimal(38, 2)),
        cs.decimal().cast(pl.Decimal(38, 2)),
        cs.integer().cast(pl.Int64),
        cs.datetime(time_zone="*").dt.convert_time_zone("UTC").dt.replace_time_zone(None),
    ).with_columns(cs.datetime().cast(pl.Datetime("us")))
    return sorted(frame.rows(), key=lambda row: tuple((value is None, str(value)) for value in row))


def published_marts(engine: str, data: Path, postgres_url: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every mart as published on `engine`: its columns and its comparable rows."""
    if engine == "postgres":
        warehouse = PostgresWarehouse(url=postgres_url)
        frames = {name: warehouse.read_table("marts", name) for name in mart_names()}
    elif engine in ("spark", "spark_cluster"):
        warehouse = SparkWarehouse(spark_dir=str(data / "spark"))
        frames = {name: warehouse.read_table("marts", name) for name in mart_names()}
    else:
        database = data / "lakehouse" / "lakehouse.duckdb"
        frames = {name: read_table("marts", name, database) for name in mart_names()}
    return {name: (frame.columns, comparable(frame)) for name, frame in frames.items()}


def exports(data: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data / "exports").glob("*.csv"))}


@dataclass
class Built:
    summary: RunSummary
    marts: dict[str, tuple[list[str], list[tuple]]]
    exports: dict[str, bytes]
    # on a standalone cluster: the tasks each worker's executors finished
    tasks: dict[str, int] | None = None


@dataclass
class Refused:
    """The PostgreSQL lakehouse after a delivery with a blocking anomaly."""

    summary: RunSummary
    marts: dict[str, tuple[list[str], list[tuple]]]
    exports: dict[str, bytes]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, postgres_database) -> tuple[dict[str, Built], Refused]:
    root = tmp_path_factory.mktemp("engines")
    url = postgres_database("engines")
    data = {engine: root / engine / "data" for engine in (*ENGINES, "spark_cluster")}
    cluster = LocalSparkCluster(root / "spark-cluster")
    master = cluster.start(free_port(), free_port())
    with contextlib.ExitStack() as stack:
        stack.callback(cluster.stop)
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=3, mp_context=get_context("spawn")))
        runs: dict[str, Future[RunSummary]] = {
            engine: pool.submit(build, engine, str(data[engine]), url) for engine in ("spark", "postgres", "duckdb")
        }
        built = {}
        for engine in ("duckdb", "postgres", "spark"):
            summary = runs[engine].result()
            assert summary.ok, summary.render(f"refresh on {engine}")
            built[engine] = Built(summary, published_marts(engine, data[engine], url), exports(data[engine]))
            if engine == "duckdb":
                # The same pipeline on the cluster, once DuckDB's build has freed its place.
                on_cluster = pool.submit(build, "spark", str(data["spark_cluster"]), url, "", master)
            if engine == "postgres":
                # The next delivery holds an invoice twice, while Spark is still at work.
                refused = pool.submit(build, "postgres", str(data["postgres"]), url, "duplicate_ids")
        summary = on_cluster.result()
        assert summary.ok, summary.render("refresh on the Spark cluster")
        marts, files = published_marts("spark_cluster", data["spark_cluster"], url), exports(data["spark_cluster"])
        built["spark_cluster"] = Built(summary, marts, files, executor_tasks(cluster.root / "work"))
        summary = refused.result()
    return built, Refused(summary, published_marts("postgres", data["postgres"], url), exports(data["postgres"]))


def test_every_engine_builds_every_asset_and_passes_every_check(engines: tuple[dict[str, Built], Refused]) -> None:
    built, _ = engines
    duckdb_summary = built["duckdb"].summary
    assert duckdb_summary.published and duckdb_summary.checks
    for engine in OTHERS:
        summary = built[engine].summary
        # the same lineage: the same assets materialized, the same checks run, all passed
        assert sorted(summary.materialized) == sorted(duckdb_summary.materialized), engine
        assert {(c["asset"], c["check"]) for c in summary.checks} == {(c["asset"], c["check"]) for c in duckdb_summary.checks}
        assert summary.blocking_failures == [], engine
        assert summary.published, engine


def test_the_extracts_hold_every_as_of_case(engines: tuple[dict[str, Built], Refused]) -> None:
    """What makes the comparison below worth something: the marts face every as-of case."""
    built, _ = engines
    warnings = {c["check"] for c in built["duckdb"].summary.checks if not c["passed"]}
    assert {"no_invoice_after_the_as_of_date", "no_job_contract_starts_after_the_as_of_date"} <= warnings
    marts = built["duckdb"].marts
    columns, rows = marts["dim_job_contracts"]
    assert any(row[columns.index("scheduled_end_date")] is not None for row in rows)
    columns, rows = marts["fct_invoices"]
    assert any(row[columns.index("is_after_as_of")] for row in rows)


@pytest.mark.parametrize("engine", OTHERS)
def test_every_mart_has_the_same_rows_on_every_engine(engines: tuple[dict[str, Built], Refused], engine: str) -> None:
    built, _ = engines
    expected = built["duckdb"].marts
    assert sorted(built[engine].marts) == sorted(expected) == mart_names()
    assert set(DASHBOARD_MARTS) <= set(expected)
    for name, (columns, rows) in expected.items():
        assert rows, f"marts.{name} is empty: the comparison would prove nothing"
        other_columns, other_rows = built[engine].marts[name]
        assert other_columns == columns, f"marts.{name} on {engine}"
        assert other_rows == rows, f"marts.{name} on {engine}: {len(other_rows)} rows, {len(rows)} on duckdb"


@pytest.mark.parametrize("engine", OTHERS)
def test_every_export_is_the_same_file_on_every_engine(engines: tuple[dict[str, Built], Refused], engine: str) -> None:
    built, _ = engines
    expected = built["duckdb"].exports
    assert expected and all(content.count(b"\n") > 1 for content in expected.values()), "no export rows"
    assert built[engine].exports == expected


def test_the_cluster_build_ran_its_tasks_on_both_workers(engines: tuple[dict[str, Built], Refused]) -> None:
    """Executors in JVMs of their own, on each worker, did the work: not the driver alone."""
    built, _ = engines
    tasks = built["spark_cluster"].tasks
    assert sorted(tasks) == ["worker-1", "worker-2"] and all(count > 0 for count in tasks.values()), tasks


def test_a_blocking_anomaly_publishes_nothing_on_postgres(engines: tuple[dict[str, Built], Refused]) -> None:
    built, refused = engines
    summary = refused.summary
    assert not summary.ok and summary.published is None
    failed = [(c["asset"], c["check"]) for c in summary.blocking_failures]
    assert failed == [("sources/app__invoices", "primary_key_is_unique_and_not_null")]
    assert summary.blocking_failures[0]["offending_rows"] > 0 and summary.blocking_failures[0]["sample_ids"]
    # loaded into the build, then nothing that reads the invoices: no model, no export, no publish
    # (what does not read them went into the build, which the failed audit leaves unpublished)
    assert "sources/app__invoices" in summary.materialized
    invoices = dg.AssetSelection.assets(dg.AssetKey(["sources", "app__invoices"]))
    downstream = (invoices.downstream() - invoices).resolve(defs().resolve_asset_graph())
    assert not {key.to_user_string() for key in downstream} & set(summary.materialized)
    # readers of the published schemas see the last good lakehouse, whole
    assert refused.marts == built["postgres"].marts
    assert refused.exports == built["postgres"].exports
