"""Configuration from environment variables, with local defaults that need no setup.

Every value is read when it is asked for, never at import time, so tests and runs can point the
platform elsewhere by setting an environment variable.
"""

from __future__ import annotations

import datetime as dt
import os
import re
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


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for every connection of the platform, dbt's included:
    `JUMP_DUCKDB_MEMORY_LIMIT`, default 1GB. Past it DuckDB spills to `<lakehouse file>.tmp`."""
    return _env("JUMP_DUCKDB_MEMORY_LIMIT") or "1GB"


def duckdb_config() -> dict[str, str]:
    """DuckDB settings for the platform's connections: a memory cap past which DuckDB spills to
    disk, so memory stays bounded as data grows. DuckDB spills into `<lakehouse file>.tmp`, its
    default for a database file, which the writing connection (its configuration locked, see
    `io_manager.py`) could not change anyway; dbt's profile names the same folder."""
    return {"memory_limit": duckdb_memory_limit()}


def landing_dir() -> Path:
    """The landing zone where extracts arrive: `<data dir>/sources`."""
    return data_dir() / "sources"


def exports_dir() -> Path:
    return data_dir() / "exports"


def extract_format() -> str:
    """The file format the demo extracts are written in: `JUMP_EXTRACT_FORMAT` = `csv` (default, the
    previous platform's format) | `parquet` (smaller, and much faster to load at large scales)."""
    value = (_env("JUMP_EXTRACT_FORMAT") or "csv").lower()
    if value not in ("csv", "parquet"):
        raise ValueError(f"JUMP_EXTRACT_FORMAT must be csv or parquet, found {value!r}")
    return value


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


def dbt_memory_limit() -> str:
    """DuckDB's memory cap inside dbt: the platform's cap (`JUMP_DUCKDB_MEMORY_LIMIT`) for each of
    dbt's threads, since dbt builds that many models at once in one DuckDB (at 10M invoices two
    models at once do not fit in 1GB). A cap that is not a plain size is used as it is."""
    limit = duckdb_memory_limit()
    parsed = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*", limit, flags=re.IGNORECASE)
    if not parsed:
        return limit
    return f"{float(parsed[1]) * dbt_threads():g}{parsed[2]}"


def dbt_env() -> dict[str, str]:
    """Environment for dbt subprocesses, so dbt opens the same file as Dagster, with its memory
    cap (`dbt_project/profiles.yml` reads them)."""
    return {"JUMP_DUCKDB_PATH": str(duckdb_path()), "JUMP_DBT_MEMORY_LIMIT": dbt_memory_limit()}


def dbt_threads() -> int:
    """dbt's threads: one per core this process may run on (dbt's default is 1)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
