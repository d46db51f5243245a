"""What `make bench-engines` needs beyond DuckDB: the PostgreSQL server of its runs, and the size of
a lakehouse published on PostgreSQL or Spark."""

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


def published_bytes(env: dict[str, str]) -> int:
    """The published tables' size on the engine of `env` (PostgreSQL, Spark), as a publish
    measures it (`TableStore.size`), asked in a process with the run's environment."""
    script = (
        "from jump_platform import engines; from jump_platform.lakehouse import snapshots; layout = engines.current().layout(); "
        "print(layout.store.size(layout, snapshots.current_snapshot_id(layout)))"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=settings.PROJECT_ROOT)
    return int(done.stdout.strip() or 0)
