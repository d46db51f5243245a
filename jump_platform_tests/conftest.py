"""Shared fixtures: every test that writes gets its own data folder and lakehouse file."""

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest

if TYPE_CHECKING:
    from jump_platform_tests.dagster_dev import DagsterDev

AS_OF = dt.date(2026, 11, 21)


@pytest.fixture(autouse=True, scope="session")
def default_warehouse() -> Iterator[None]:
    """Every test runs on the default engine, DuckDB, whatever the shell's JUMP_WAREHOUSE says (the
    CLI's subprocesses too); the engine tests set theirs."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMP_WAREHOUSE", "duckdb")
        yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the platform at a fresh data folder (landing zone, lakehouse, exports)."""
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", AS_OF.isoformat())
    monkeypatch.setenv("JUMP_SEED", "42")
    monkeypatch.delenv("JUMP_ANOMALIES", raising=False)
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    return tmp_path / "data"


def build_lakehouse(tmp_path_factory: pytest.TempPathFactory, name: str, anomalies: str = "") -> Path:
    """Build a whole lakehouse with the `refresh` job from generated data, with the given anomalies.

    Seed and as-of date are fixed, so two lakehouses differ only by their anomalies.
    """
    from jump_platform.runner.cli import run_job

    data = tmp_path_factory.mktemp(name) / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMP_DATA_DIR", str(data))
        env.delenv("JUMP_DUCKDB_PATH", raising=False)
        env.setenv("JUMP_AS_OF", AS_OF.isoformat())
        env.setenv("JUMP_SEED", "42")
        env.setenv("JUMP_ANOMALIES", anomalies)
        # the reverse ETL syncs stay skipped: no CRM database nor finance endpoint
        env.delenv("JUMP_CRM_POSTGRES_URL", raising=False)
        env.delenv("JUMP_KPI_ENDPOINT_URL", raising=False)
        env.delenv("JUMP_SCALE", raising=False)
        summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())
    assert summary.ok, summary.render("refresh")
    return data


@pytest.fixture(scope="session")
def lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse built once per session by the `refresh` job from clean generated data.

    Tests read it (read-only connections); none writes to it.
    """
    return build_lakehouse(tmp_path_factory, "lakehouse")


@pytest.fixture(scope="session")
def lakehouse_with_empty_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like `lakehouse`, from the same generated data with one month emptied of its invoices
    (`JUMP_ANOMALIES=empty_month`). Read-only too."""
    return build_lakehouse(tmp_path_factory, "lakehouse_empty_month", anomalies="empty_month")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (Debian's binaries) on a free port of 127.0.0.1, for the session.

    Its folder is made with `tempfile` rather than pytest's tmp_path, whose parents the server's user
    (`postgres`, when the tests run as root) cannot enter.
    """
    from jump_platform.local_services.postgres import LocalCluster, free_port

    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="jump-postgres-")))
    try:
        yield cluster.start(free_port())
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Callable[[str], str]:
    """A new, empty database of the session's PostgreSQL cluster for each name asked (a test's
    own lakehouse: its schemas never meet another test's); returns its URL."""
    from urllib.parse import urlsplit

    import adbc_driver_postgresql.dbapi as adbc

    from jump_platform.sql import quote_identifier

    def create(name: str) -> str:
        with adbc.connect(postgres_server, autocommit=True) as connection, connection.cursor() as cursor:
            cursor.execute(f"drop database if exists {quote_identifier(name)}")
            cursor.execute(f"create database {quote_identifier(name)}")
        return urlsplit(postgres_server)._replace(path=f"/{name}").geturl()

    return create


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator["DagsterDev"]:
    """A running `make dev` (`dg dev`) on a temporary instance and data folder, stopped at the end."""
    from jump_platform_tests.dagster_dev import running_dagster_dev

    with running_dagster_dev(tmp_path) as running:
        yield running
