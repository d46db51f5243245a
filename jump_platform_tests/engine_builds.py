"""Helpers of the engine comparisons (test_engines.py, test_spark_cluster.py): one `refresh` per
engine, each in a process of its own, and what a build published, in a form every engine shares.

Every build uses one seed and one as-of date, a small scale, and extracts generated as of a later
date than the lakehouse describes, so that they hold every as-of case the marts handle: contracts
starting after the as-of date, end dates after it, invoices issued in advance (see test_marts.py).
DuckDB's build, the reference every other engine is compared with, is made once per test run and
shared by both modules (`duckdb_reference`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import dagster as dg
import polars as pl
import polars.selectors as cs
import pytest

from jump_platform.defs.transform.resources import dbt_project
from jump_platform.published import read_table
from jump_platform.runner.summary import RunSummary
from jump_platform.warehouses.postgres import PostgresWarehouse
from jump_platform.warehouses.spark import SparkWarehouse
from jump_platform_tests.conftest import AS_OF, built_once

# 100 freelancers, 2 clients, about 500 invoices: both entities, every month since 2019, NPS answers.
SCALE = "0.1"
# The extracts' own as-of date, after the lakehouse's (as in test_marts.py).
LATER = dt.date(2027, 2, 15)

Marts = dict[str, tuple[list[str], list[tuple]]]


@dataclass
class Built:
    summary: RunSummary
    marts: Marts
    exports: dict[str, bytes]
    # on a standalone cluster: the tasks each worker's executors finished
    tasks: dict[str, int] | None = None


def mart_names() -> list[str]:
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def build(engine: str, data: str, postgres_url: str = "", anomalies: str = "", spark_master: str = "local[2]") -> RunSummary:
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


def build_apart(
    engine: str, data: Path, postgres_url: str = "", anomalies: str = "", spark_master: str = "local[2]"
) -> RunSummary:
    """`build` in a new process of its own (its environment, its JVM), one build at a time: on two
    cores, beside the other pytest-xdist worker, builds at once only slow each other down."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(build, engine, str(data), postgres_url, anomalies, spark_master).result()


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


def published_marts(engine: str, data: Path, postgres_url: str = "") -> Marts:
    """Every mart as published on `engine`: its columns and its comparable rows."""
    if engine == "postgres":
        warehouse = PostgresWarehouse(url=postgres_url)
        frames = {name: warehouse.read_table("marts", name) for name in mart_names()}
    elif engine == "spark":
        warehouse = SparkWarehouse(spark_dir=str(data / "spark"))
        frames = {name: warehouse.read_table("marts", name) for name in mart_names()}
    else:
        database = data / "lakehouse" / "lakehouse.duckdb"
        frames = {name: read_table("marts", name, database) for name in mart_names()}
    return {name: (frame.columns, comparable(frame)) for name, frame in frames.items()}


def exports(data: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data / "exports").glob("*.csv"))}


def _build_duckdb_reference(folder: Path) -> None:
    data = folder / "data"
    summary = build_apart("duckdb", data)
    assert summary.ok, summary.render("refresh on duckdb")
    (folder / "summary.pickle").write_bytes(pickle.dumps(summary))


def duckdb_reference(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """DuckDB's build, made once per test run (`built_once`, shared by the pytest-xdist workers)."""
    folder = built_once(tmp_path_factory, "engines_duckdb", _build_duckdb_reference)
    summary = pickle.loads((folder / "summary.pickle").read_bytes())
    return Built(summary, published_marts("duckdb", folder / "data"), exports(folder / "data"))


def assert_same_lineage_and_every_check_passed(summary: RunSummary, reference: RunSummary, engine: str) -> None:
    """The same assets materialized as on DuckDB, the same checks run, none blocking failed, published."""
    assert reference.published and reference.checks
    assert sorted(summary.materialized) == sorted(reference.materialized), engine
    assert {(c["asset"], c["check"]) for c in summary.checks} == {(c["asset"], c["check"]) for c in reference.checks}
    assert summary.blocking_failures == [], engine
    assert summary.published, engine


def assert_same_marts(marts: Marts, reference: Marts, engine: str) -> None:
    """Every mart of the manifest, with DuckDB's columns and rows (none empty)."""
    from jump_platform.dashboard.snapshot import MARTS as DASHBOARD_MARTS

    assert sorted(marts) == sorted(reference) == mart_names()
    assert set(DASHBOARD_MARTS) <= set(reference)
    for name, (columns, rows) in reference.items():
        assert rows, f"marts.{name} is empty: the comparison would prove nothing"
        other_columns, other_rows = marts[name]
        assert other_columns == columns, f"marts.{name} on {engine}"
        assert other_rows == rows, f"marts.{name} on {engine}: {len(other_rows)} rows, {len(rows)} on duckdb"


def assert_same_exports(files: dict[str, bytes], reference: dict[str, bytes]) -> None:
    assert reference and all(content.count(b"\n") > 1 for content in reference.values()), "no export rows"
    assert files == reference
