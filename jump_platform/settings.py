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
WAREHOUSES = ("duckdb", "postgres", "spark")
# The standard libpq variables, read when JUMP_POSTGRES_URL is not set.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


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


def warehouse() -> str:
    """The engine that holds the lakehouse: `JUMP_WAREHOUSE` = `duckdb` (default) | `postgres` | `spark`.

    The assets, models, checks and exports are the same on each; only dbt's profile target and the
    resources that read and write the tables change (`jump_platform/warehouses/`).
    """
    value = (_env("JUMP_WAREHOUSE") or WAREHOUSES[0]).lower()
    if value not in WAREHOUSES:
        raise ValueError(f"JUMP_WAREHOUSE must be one of {', '.join(WAREHOUSES)}, found {value!r}")
    return value


def postgres_warehouse_url() -> str:
    """The PostgreSQL database of the lakehouse when `JUMP_WAREHOUSE=postgres`.

    `JUMP_POSTGRES_URL` (`postgresql://user:password@host:port/database`), else a URL made of the
    standard `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE` variables.
    """
    from urllib.parse import quote

    configured = _env("JUMP_POSTGRES_URL")
    if configured:
        if not configured.startswith(("postgresql://", "postgres://")):
            raise ValueError("JUMP_POSTGRES_URL must start with postgresql://, found a value that does not")
        return configured
    parts = {name: _env(name) for name in PG_VARIABLES}
    if not parts["PGHOST"]:
        raise ValueError(
            "JUMP_WAREHOUSE=postgres needs a server: set JUMP_POSTGRES_URL "
            "(postgresql://user:password@host:port/database) or the PGHOST, PGPORT, PGUSER, PGPASSWORD and "
            "PGDATABASE variables; `make postgres` starts a local one"
        )
    credentials = quote(parts["PGUSER"] or "", safe="")
    if parts["PGPASSWORD"]:
        credentials += ":" + quote(parts["PGPASSWORD"], safe="")
    port = f":{int(parts['PGPORT'])}" if parts["PGPORT"] else ""
    return f"postgresql://{credentials}{'@' if credentials else ''}{parts['PGHOST']}{port}/{quote(parts['PGDATABASE'] or '', safe='')}"


def postgres_connection_env(url: str) -> dict[str, str]:
    """The libpq variables (`PGHOST`...) that say the same as `url`, for dbt's postgres profile."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    values = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or ""),
        "PGPASSWORD": unquote(parts.password or ""),
        "PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
    }
    return values


def spark_dir() -> Path:
    """Where the local Spark lakehouse lives when `JUMP_WAREHOUSE=spark`: `<data dir>/spark`, with
    `warehouse/` (one Parquet folder per table) and `metastore_db/` (the Hive catalog)."""
    return data_dir() / "spark"


def spark_sources_dir() -> Path:
    """The Parquet folders of the `sources` tables on Spark, written by the loader."""
    return spark_dir() / "sources"


def warehouse_location() -> str:
    """Where the lakehouse is, for people: the DuckDB file, the PostgreSQL server (no password) or
    the Spark folder."""
    engine = warehouse()
    if engine == "postgres":
        from urllib.parse import urlsplit

        parts = urlsplit(postgres_warehouse_url())
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path}"
    if engine == "spark":
        return f"Spark, {spark_dir()}"
    return str(duckdb_path())


def dbt_env() -> dict[str, str]:
    """Environment for dbt subprocesses, so dbt and Dagster always reach the same warehouse."""
    env = {"JUMP_DUCKDB_PATH": str(duckdb_path()), "JUMP_WAREHOUSE": warehouse()}
    if env["JUMP_WAREHOUSE"] == "postgres":
        env.update(postgres_connection_env(postgres_warehouse_url()))
    elif env["JUMP_WAREHOUSE"] == "spark":
        env["JUMP_SPARK_DIR"] = str(spark_dir())
    return env


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
