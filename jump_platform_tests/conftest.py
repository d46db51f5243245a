"""Shared fixtures: every test that writes gets its own data folder and lakehouse file."""

import datetime as dt
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest

if TYPE_CHECKING:
    from jump_platform_tests.dagster_dev import DagsterDev

AS_OF = dt.date(2026, 11, 21)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests sharing a module-scoped fixture (a module's own lakehouse, server or browser) run on one
    pytest-xdist worker (`--dist loadgroup`, as `make test` runs them), so that it is set up once.

    Under pytest-xdist, the longest come first: the `engines` modules, then the other `slow` tests,
    then the rest. `make test` passes `--no-loadscope-reorder`, so xdist hands out the groups in
    this order (rather than by their number of tests): the longest start at once, one per worker,
    and the short ones fill the end, so that both workers end together (rather than one running a
    slow module alone at the end). Run alone, pytest keeps the order.

    pytest has no public way to ask a fixture's scope at collection time: `_fixtureinfo` is the one
    plugins read (pytest-asyncio, pytest-django).
    """
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        if any(
            definition.scope == "module"
            for name in item.fixturenames
            for definition in definitions.name2fixturedefs.get(name, ())
        ):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: (item.get_closest_marker("engines") is None, item.get_closest_marker("slow") is None))


@pytest.fixture(autouse=True, scope="session")
def session_instance_and_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test that sets no data folder or Dagster instance of its own gets the session's: never the
    project's `data/` and `.dagster_home/` (which `make` exports), which parallel workers would share."""
    from jump_platform.runner.instance import write_local_instance

    home = tmp_path_factory.mktemp("dagster_home")
    write_local_instance(home)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv("JUMP_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        env.delenv("JUMP_DUCKDB_PATH", raising=False)
        yield


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


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, filled by `build(folder)` once per test run and shared by every test of it.

    Under pytest-xdist (`make test`), the workers of one run share the folder: the first to ask
    builds it under a file lock while the others wait, then all read it (or copy it). A build that
    failed fails every test asking for it, with its error, instead of being tried again.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's own temporary folder, above each worker's
    shared = root / "built_once"
    shared.mkdir(parents=True, exist_ok=True)
    folder, done, failed = shared / name, shared / f"{name}.done", shared / f"{name}.failed"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(f"Building {name} failed (once for the whole run):\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker that died half-way left
            try:
                build(folder)
            except BaseException as error:
                failed.write_text(f"{type(error).__name__}: {error}")
                raise
            done.touch()
    return folder


def build_lakehouse(data: Path, anomalies: str = "", run_config: dict | None = None) -> None:
    """Build a whole lakehouse in the data folder `data` with the `refresh` job from generated data,
    with the given anomalies (and the run config given, if any).

    Seed and as-of date are fixed, so two lakehouses differ only by their anomalies and config.
    """
    from jump_platform.runner.cli import run_job

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
        summary = run_job("refresh", run_config=run_config, instance=dg.DagsterInstance.ephemeral())
    assert summary.ok, summary.render("refresh")


@pytest.fixture(scope="session")
def lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse built once per test run by the `refresh` job from clean generated data.

    Tests read it (read-only connections) or copy it; none writes to it.
    """
    return built_once(tmp_path_factory, "lakehouse", build_lakehouse)


@pytest.fixture(scope="session")
def lakehouse_with_empty_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like `lakehouse`, from the same generated data with one month emptied of its invoices
    (`JUMP_ANOMALIES=empty_month`). Read-only too."""
    return built_once(tmp_path_factory, "lakehouse_empty_month", lambda data: build_lakehouse(data, anomalies="empty_month"))


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
