"""The pipeline on a Spark standalone cluster gives DuckDB's marts and exports (issue 22).

The test starts `make spark`'s cluster (a master and two workers, each a JVM of its own, on free
ports), runs `refresh` on it (`JUMP_WAREHOUSE=spark`, `JUMP_SPARK_MASTER=spark://...`) in a process
of its own, compares every mart and every export with DuckDB's build (`engine_builds`: the same
data, built once per test run), checks that executors on both workers ran tasks, and stops the
cluster.

This build stands for Spark in `local[2]` too, which is not built here: the run's code is the same
(dbt-spark's `session` method, `SparkWarehouse`, the Parquet IO manager, the exports' session), only
`spark.master` differs, and the cluster is the harder case (executors in other JVMs, a shuffle over
the network, storage every executor reads). A second whole Spark build took minutes of the suite's
two cores for no code path of its own. `local[2]`, the default master, stays exercised by
test_warehouses.py: `SparkWarehouse` opens a `local[2]` session on Parquet tables, and the profile's
session settings (master included) are checked against the warehouse's.

The module takes minutes (a JVM per process, a metastore, a job per statement), hence the
`engines` and `slow` markers.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from jump_platform.local_services.postgres import free_port
from jump_platform.local_services.spark import LocalSparkCluster
from jump_platform_tests.engine_builds import (
    Built,
    assert_same_exports,
    assert_same_lineage_and_every_check_passed,
    assert_same_marts,
    build_apart,
    duckdb_reference,
    exports,
    published_marts,
)

pytestmark = [pytest.mark.engines, pytest.mark.slow]


def executor_tasks(work: Path) -> dict[str, int]:
    """How many tasks the executors of each worker of a standalone cluster finished (their logs)."""
    return {
        worker.name: sum(log.read_text(errors="replace").count("Finished task") for log in worker.glob("app-*/*/stderr"))
        for worker in sorted(work.iterdir())
    }


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Built]:
    """The cluster's build, then DuckDB's (asked second: made meanwhile by test_engines' worker)."""
    root = tmp_path_factory.mktemp("spark_cluster")
    data = root / "data"
    cluster = LocalSparkCluster(root / "cluster")
    with contextlib.ExitStack() as stack:
        master = cluster.start(free_port(), free_port())
        stack.callback(cluster.stop)
        summary = build_apart("spark", data, spark_master=master)
        assert summary.ok, summary.render("refresh on the Spark cluster")
        tasks = executor_tasks(cluster.root / "work")
    on_cluster = Built(summary, published_marts("spark", data), exports(data), tasks)
    return on_cluster, duckdb_reference(tmp_path_factory)


def test_the_cluster_builds_every_asset_and_passes_every_check(builds: tuple[Built, Built]) -> None:
    on_cluster, duckdb = builds
    assert_same_lineage_and_every_check_passed(on_cluster.summary, duckdb.summary, "spark on a cluster")


def test_every_mart_has_duckdbs_rows_on_the_cluster(builds: tuple[Built, Built]) -> None:
    on_cluster, duckdb = builds
    assert_same_marts(on_cluster.marts, duckdb.marts, "spark on a cluster")


def test_every_export_is_duckdbs_file_on_the_cluster(builds: tuple[Built, Built]) -> None:
    on_cluster, duckdb = builds
    assert_same_exports(on_cluster.exports, duckdb.exports)


def test_the_cluster_build_ran_its_tasks_on_both_workers(builds: tuple[Built, Built]) -> None:
    """Executors in JVMs of their own, on each worker, did the work: not the driver alone."""
    on_cluster, _ = builds
    tasks = on_cluster.tasks
    assert sorted(tasks) == ["worker-1", "worker-2"] and all(count > 0 for count in tasks.values()), tasks
