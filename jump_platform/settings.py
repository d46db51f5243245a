"""Configuration from environment variables, with local defaults that need no setup.

Every value is read when it is asked for, never at import time, so tests and runs can point the
platform elsewhere by setting an environment variable.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

DEFAULT_SEED = 42
PRODUCERS = ("generator", "extracts")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def data_dir() -> Path:
    """Root of everything the platform writes: `JUMP_DATA_DIR`, default `<project>/data`."""
    return Path(_env("JUMP_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def duckdb_path() -> Path:
    """The lakehouse file: `JUMP_DUCKDB_PATH`, default `<data dir>/lakehouse/lakehouse.duckdb`."""
    configured = _env("JUMP_DUCKDB_PATH")
    return Path(configured).resolve() if configured else data_dir() / "lakehouse" / "lakehouse.duckdb"


def duckdb_config() -> dict[str, str]:
    """DuckDB settings for the platform's connections: a memory cap (`JUMP_DUCKDB_MEMORY_LIMIT`,
    default 1GB) past which DuckDB spills to disk, so loads stay bounded as data grows."""
    return {"memory_limit": _env("JUMP_DUCKDB_MEMORY_LIMIT") or "1GB"}


def landing_dir() -> Path:
    """The landing zone where extracts arrive: `<data dir>/sources`."""
    return data_dir() / "sources"


def exports_dir() -> Path:
    return data_dir() / "exports"


def seed() -> int:
    raw = _env("JUMP_SEED")
    try:
        return int(raw) if raw else DEFAULT_SEED
    except ValueError:
        raise ValueError(f"JUMP_SEED must be an integer, found {raw!r}") from None


def scale() -> float:
    raw = _env("JUMP_SCALE")
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        raise ValueError(f"JUMP_SCALE must be a positive number, found {raw!r}") from None
    if value <= 0:
        raise ValueError(f"JUMP_SCALE must be a positive number, found {raw!r}")
    return value


def as_of_date(default: dt.date | None = None) -> dt.date:
    """The date the lakehouse describes: `JUMP_AS_OF` (ISO date), else `default`, else today."""
    raw = _env("JUMP_AS_OF")
    if not raw:
        return default or dt.date.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"JUMP_AS_OF must be an ISO date like 2026-01-31, found {raw!r}") from None


def anomalies() -> list[str]:
    """Anomalies to inject into generated data: `JUMP_ANOMALIES`, a comma-separated list."""
    return [name.strip() for name in (_env("JUMP_ANOMALIES") or "").split(",") if name.strip()]


def producer() -> str:
    """What feeds the landing zone: `JUMP_PRODUCER`.

    - `generator` (default, the demo): the Faker generator writes the extracts; the daily schedule
      runs it, then refreshes everything downstream.
    - `extracts` (a deployment fed by the applications' real extracts): the generator never runs,
      so no generated data ever overwrites a delivery; the daily schedule only rebuilds the models
      and exports for the new day, and the landing-zone sensor loads what is delivered.
    """
    value = (_env("JUMP_PRODUCER") or PRODUCERS[0]).lower()
    if value not in PRODUCERS:
        raise ValueError(f"JUMP_PRODUCER must be one of {', '.join(PRODUCERS)}, found {value!r}")
    return value


def schedules_on() -> bool:
    """Whether the schedules start running with the daemon: `JUMP_SCHEDULES` = `on` (default) | `off`.

    It sets their default status only: a toggle in the UI overrides it, and is kept by the instance.
    """
    value = (_env("JUMP_SCHEDULES") or "on").lower()
    if value not in ("on", "off"):
        raise ValueError(f"JUMP_SCHEDULES must be on or off, found {value!r}")
    return value == "on"


def dbt_env() -> dict[str, str]:
    """Environment for dbt subprocesses, so dbt and Dagster always open the same file."""
    return {"JUMP_DUCKDB_PATH": str(duckdb_path())}


DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0


def lock_timeout() -> float:
    """How long a run waits for another run to finish with the lakehouse before it gives up:
    `JUMP_LOCK_TIMEOUT` seconds, default 1800 (30 minutes); 0 gives up at once."""
    raw = _env("JUMP_LOCK_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_LOCK_TIMEOUT_SECONDS
    except ValueError:
        raise ValueError(f"JUMP_LOCK_TIMEOUT must be a number of seconds, found {raw!r}") from None
    if value < 0:
        raise ValueError(f"JUMP_LOCK_TIMEOUT must be a number of seconds, found {raw!r}")
    return value


# --- the dashboard and the reverse ETL --------------------------------------------------------------

DEFAULT_DASHBOARD_PORT = 8501
DEFAULT_POSTGRES_PORT = 55432
SYNC_DELETE_MODES = ("delete", "flag")


def _port(name: str, default: int) -> int:
    raw = _env(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a TCP port number, found {raw!r}") from None
    if not 0 < value < 65536:
        raise ValueError(f"{name} must be a TCP port number, found {raw!r}")
    return value


def dashboard_path() -> Path:
    """The dashboard's copy of the marts it shows, refreshed by the `dashboard/marts` asset."""
    return data_dir() / "dashboard" / "dashboard.duckdb"


def dashboard_port() -> int:
    """Where `make dashboard` serves on 127.0.0.1: `JUMP_DASHBOARD_PORT`, default 8501."""
    return _port("JUMP_DASHBOARD_PORT", DEFAULT_DASHBOARD_PORT)


def postgres_dir() -> Path:
    """The throwaway local PostgreSQL cluster of `make postgres`: `<data dir>/postgres`."""
    return data_dir() / "postgres"


def postgres_port() -> int:
    """The port `make postgres` creates its cluster on: `JUMP_POSTGRES_PORT`, default 55432."""
    return _port("JUMP_POSTGRES_PORT", DEFAULT_POSTGRES_PORT)


def postgres_url() -> str | None:
    """The PostgreSQL database the CRM sync writes to: `JUMP_POSTGRES_URL`
    (`postgresql://user:password@host:port/database`), else the local cluster of `make postgres` once
    created, else None (the sync is not configured)."""
    from jump_platform.postgres import LocalCluster

    return _env("JUMP_POSTGRES_URL") or LocalCluster(postgres_dir()).url()


def kpi_endpoint_url() -> str | None:
    """The HTTP endpoint the finance KPI sync posts its JSON batches to: `JUMP_KPI_ENDPOINT_URL`, else
    None (the sync is not configured)."""
    return _env("JUMP_KPI_ENDPOINT_URL")


def sync_delete_mode() -> str:
    """What the syncs do with a row that left the mart: `JUMP_SYNC_DELETED` = `delete` (default: the
    row is deleted from the target) or `flag` (it stays, with `deleted_in_lakehouse` true)."""
    value = (_env("JUMP_SYNC_DELETED") or SYNC_DELETE_MODES[0]).lower()
    if value not in SYNC_DELETE_MODES:
        raise ValueError(f"JUMP_SYNC_DELETED must be one of {', '.join(SYNC_DELETE_MODES)}, found {value!r}")
    return value


def reverse_etl_dir() -> Path:
    """dlt's pipeline folders of the syncs (their state and pending load packages)."""
    return data_dir() / "reverse_etl"


def sync_retries() -> tuple[int, float]:
    """How the syncs retry a transient failure (an HTTP 5xx or 429, a lost connection): attempts
    (`JUMP_SYNC_ATTEMPTS`, default 3) of each HTTP request and of each load step, with exponential
    waits starting at `JUMP_SYNC_RETRY_WAIT` seconds (default 1)."""
    raw_attempts, raw_wait = _env("JUMP_SYNC_ATTEMPTS"), _env("JUMP_SYNC_RETRY_WAIT")
    try:
        attempts = int(raw_attempts) if raw_attempts else 3
        wait = float(raw_wait) if raw_wait else 1.0
    except ValueError:
        raise ValueError(
            f"JUMP_SYNC_ATTEMPTS must be a whole number and JUMP_SYNC_RETRY_WAIT a number of seconds, "
            f"found {raw_attempts!r} and {raw_wait!r}"
        ) from None
    if attempts < 1 or wait < 0:
        raise ValueError(f"JUMP_SYNC_ATTEMPTS must be at least 1 and JUMP_SYNC_RETRY_WAIT not negative, found {attempts}, {wait}")
    return attempts, wait
