"""What `make bench-engines` needs beyond DuckDB: the PostgreSQL server of its runs, the Spark
standalone cluster of its `spark-cluster` runs, and the size of a lakehouse published on PostgreSQL
or Spark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from jump_platform import settings


class Postgres:
    """The PostgreSQL server of the PostgreSQL runs: JUMP_POSTGRES_URL's, or a throwaway local
    cluster under `root`, started here and removed by `close`. Each run gets a database of its own."""

    def __init__(self, root: Path) -> None:
        from jump_platform.local_services.postgres import LocalCluster, free_port

        self.cluster = None
        self.url = settings.read("postgres_url")
        if self.url is None:
            self.cluster = LocalCluster(root / "postgres")
            self.url = self.cluster.start(free_port())

    def server_pids(self) -> list[int]:
        """The postmaster of the local cluster (its children are counted with it); none for a
        server elsewhere, whose memory is not this machine's."""
        if self.cluster is None:
            return []
        return [int((self.cluster.pgdata / "postmaster.pid").read_text().split()[0])]

    def database_for(self, data_dir: Path) -> str:
        """The database of the runs in `data_dir` (named after its folder), created by the first; its URL."""
        import adbc_driver_postgresql.dbapi as adbc

        from jump_platform.sql import quote_identifier

        name = "bench_" + "".join(c if c.isalnum() else "_" for c in data_dir.parent.name.lower())[:50]
        with adbc.connect(self.url, autocommit=True) as connection, connection.cursor() as cursor:
            cursor.execute("select count(*) from pg_database where datname = $1", parameters=(name,))
            if not cursor.fetchone()[0]:
                cursor.execute(f"create database {quote_identifier(name)}")
        return urlsplit(self.url)._replace(path=f"/{name}").geturl()

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.remove()


# What `--engines` accepts: a warehouse (`JUMP_WAREHOUSE`), or Spark on a standalone cluster.
SPARK_CLUSTER = "spark-cluster"
BENCH_ENGINES = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark", SPARK_CLUSTER: "spark"}


class SparkCluster:
    """The Spark standalone cluster of the `spark-cluster` runs (`make spark`'s master and two
    workers, on free ports, under `root`), started here and stopped by `close`."""

    def __init__(self, root: Path) -> None:
        from jump_platform.local_services.postgres import free_port
        from jump_platform.local_services.spark import LocalSparkCluster

        self.cluster = LocalSparkCluster(root / "spark-cluster")
        self.master = self.cluster.start(free_port(), free_port())

    def pids(self) -> list[int]:
        """The master and the workers; the executors, the workers' children, are counted with them."""
        return list((self.cluster.state() or {}).get("pids", []))

    def close(self) -> None:
        self.cluster.stop()


def published_bytes(env: dict[str, str]) -> int:
    """The published tables' size on the engine of `env` (PostgreSQL, Spark), as a publish
    measures it (`TableStore.size`), asked in a process with the run's environment."""
    script = (
        "from jump_platform import engines; from jump_platform.lakehouse import snapshots; layout = engines.current().layout(); "
        "print(layout.store.size(layout, snapshots.current_snapshot_id(layout)))"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=settings.PROJECT_ROOT)
    return int(done.stdout.strip() or 0)
