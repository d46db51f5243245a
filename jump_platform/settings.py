"""Configuration from environment variables, with local defaults that need no setup.

Every value is read when it is asked for, never at import time, so tests and runs can point the
platform elsewhere by setting an environment variable.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

DEFAULT_SEED = 42
PRODUCERS = ("generator", "extracts")
DEFAULT_MEMORY_LIMIT = "2GB"
_MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


class SettingsError(ValueError):
    """A setting whose value cannot be used: its variable, what was expected, what was found.

    Its message is one line, `JUMP_X: expected ..., found '...'`, which the CLI prints as it is.
    """

    def __init__(self, variable: str, expected: str, found: str | None):
        self.variable, self.expected, self.found = variable, expected, found
        super().__init__(f"{variable}: expected {expected}, found {_shown(found)}")


def _shown(value: str | None) -> str:
    """A value as an error message quotes it: escaped, and cut short if it is long."""
    if value is None:
        return "nothing"
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def data_dir() -> Path:
    """Root of everything the platform writes: `JUMP_DATA_DIR`, default `<project>/data`."""
    return Path(_env("JUMP_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def duckdb_path() -> Path:
    """The lakehouse file: `JUMP_DUCKDB_PATH`, default `<data dir>/lakehouse/lakehouse.duckdb`."""
    configured = _env("JUMP_DUCKDB_PATH")
    # Absolute, but not resolved: the published file is a link to a snapshot, and it is the link
    # that is published (and the folder beside it that holds the build and the snapshots).
    return Path(os.path.abspath(configured)) if configured else data_dir() / "lakehouse" / "lakehouse.duckdb"


def build_duckdb_path() -> Path:
    """The build copy of the lakehouse, which runs write and check before publishing it:
    `build/<same name>` beside the published file. DuckDB names a database after its file, and the
    views dbt creates refer to that name, so the build keeps the published file's name."""
    published = duckdb_path()
    return published.parent / "build" / published.name


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for every connection of the platform: `JUMP_DUCKDB_MEMORY_LIMIT`,
    default 2GB (at 10M invoices, 1GB per dbt thread ran out of memory in the month grids). Past
    it DuckDB spills to `<database file>.tmp`, its default; dbt's DuckDB gets it once per thread
    (`dbt_memory_limit`)."""
    raw = _env("JUMP_DUCKDB_MEMORY_LIMIT")
    if raw and not _MEMORY_LIMIT.match(raw):
        raise SettingsError("JUMP_DUCKDB_MEMORY_LIMIT", "a size DuckDB understands, like 1GB or 512MiB", raw)
    return raw or DEFAULT_MEMORY_LIMIT


def duckdb_config() -> dict[str, str]:
    """DuckDB settings for the platform's connections: a memory cap past which DuckDB spills to
    disk, so memory stays bounded as data grows. DuckDB spills into `<database file>.tmp`, its
    default for a database file, which the writing connection (its configuration locked, see
    `io_manager.py`) could not change anyway."""
    return {"memory_limit": duckdb_memory_limit()}


def dbt_threads() -> int:
    """dbt's threads: one per core this process may run on (dbt's default is 1)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def dbt_memory_limit() -> str:
    """DuckDB's memory cap inside dbt: the platform's cap for each of dbt's threads, since dbt
    builds that many models at once in one DuckDB (two at once did not fit in 2GB at 10M invoices)."""
    value, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(\w+)", duckdb_memory_limit()).groups()
    return f"{float(value) * dbt_threads():g}{unit}"


def landing_dir() -> Path:
    """The landing zone where extracts arrive: `<data dir>/sources`."""
    return data_dir() / "sources"


def exports_dir() -> Path:
    return data_dir() / "exports"


EXTRACT_FORMATS = ("csv", "parquet")


def extract_format() -> str:
    """The file format the demo extracts are written in: `JUMP_EXTRACT_FORMAT` = `csv` (default, the
    previous platform's format) | `parquet` (smaller, and much faster to load at large scales)."""
    raw = _env("JUMP_EXTRACT_FORMAT")
    value = (raw or EXTRACT_FORMATS[0]).lower()
    if value not in EXTRACT_FORMATS:
        raise SettingsError("JUMP_EXTRACT_FORMAT", f"one of {', '.join(EXTRACT_FORMATS)}", raw)
    return value


def seed() -> int:
    """The generator's random seed: `JUMP_SEED`, a non-negative integer (default 42)."""
    raw = _env("JUMP_SEED")
    if not raw:
        return DEFAULT_SEED
    if not re.fullmatch(r"[0-9]+", raw):
        raise SettingsError("JUMP_SEED", "a non-negative integer like 42", raw)
    return int(raw)


def scale() -> float:
    """How much demo data the generator draws: `JUMP_SCALE`, a positive number (default 1)."""
    raw = _env("JUMP_SCALE")
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingsError("JUMP_SCALE", "a positive number like 1 or 0.5 (1 = about 5,000 invoices)", raw)
    return value


def first_as_of() -> dt.date:
    """The earliest as-of date with data: the first day of Jump's history (the generator's)."""
    from jump_platform.sources.generator import HISTORY_START

    return HISTORY_START


def parse_as_of(raw: str, source: str) -> dt.date:
    """An as-of date given as text by `source` (a variable, a tag, a config field): an ISO date on
    or after the first day of Jump's history, before which no data can exist."""
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(source, "an ISO date like 2026-01-31", raw) from None
    if value < first_as_of():
        raise SettingsError(
            source, f"a date on or after {first_as_of()}, when Jump's data starts (before it every table is empty)", raw
        )
    return value


def as_of_date(default: dt.date | None = None) -> dt.date:
    """The date the lakehouse describes: `JUMP_AS_OF` (ISO date), else `default`, else today."""
    raw = _env("JUMP_AS_OF")
    return parse_as_of(raw, "JUMP_AS_OF") if raw else default or dt.date.today()


def anomalies() -> list[str]:
    """Anomalies to inject into generated data: `JUMP_ANOMALIES`, a comma-separated list of names."""
    from jump_platform.sources.anomalies import ANOMALIES

    names = [name.strip() for name in (_env("JUMP_ANOMALIES") or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in ANOMALIES]
    if unknown:
        raise SettingsError("JUMP_ANOMALIES", f"comma-separated names among {', '.join(ANOMALIES)}", ", ".join(unknown))
    return names


def producer() -> str:
    """What feeds the landing zone: `JUMP_PRODUCER`.

    - `generator` (default, the demo): the Faker generator writes the extracts; the daily schedule
      runs it, then refreshes everything downstream.
    - `extracts` (a deployment fed by the applications' real extracts): the generator never runs,
      so no generated data ever overwrites a delivery; the daily schedule only rebuilds the models
      and exports for the new day, and the landing-zone sensor loads what is delivered.
    """
    raw = _env("JUMP_PRODUCER")
    value = (raw or PRODUCERS[0]).lower()
    if value not in PRODUCERS:
        raise SettingsError("JUMP_PRODUCER", f"one of {', '.join(PRODUCERS)}", raw)
    return value


def schedules_on() -> bool:
    """Whether the schedules start running with the daemon: `JUMP_SCHEDULES` = `on` (default) | `off`.

    It sets their default status only: a toggle in the UI overrides it, and is kept by the instance.
    """
    raw = _env("JUMP_SCHEDULES")
    value = (raw or "on").lower()
    if value not in ("on", "off"):
        raise SettingsError("JUMP_SCHEDULES", "on or off", raw)
    return value == "on"


WAREHOUSES = ("duckdb", "postgres", "spark")
# The standard libpq variables, read when JUMP_POSTGRES_URL is not set.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
_POSTGRES_URL = "a URL like postgresql://user:password@host:5432/database"


def warehouse() -> str:
    """The engine that holds the lakehouse: `JUMP_WAREHOUSE` = `duckdb` (default) | `postgres` | `spark`.

    The assets, models, checks and exports are the same on each; only dbt's profile target and the
    resources that read and write the tables change (`jump_platform/warehouses/`).
    """
    raw = _env("JUMP_WAREHOUSE")
    value = (raw or WAREHOUSES[0]).lower()
    if value not in WAREHOUSES:
        raise SettingsError("JUMP_WAREHOUSE", f"one of {', '.join(WAREHOUSES)}", raw)
    return value


def _postgres_url_setting(variable: str) -> str | None:
    raw = _env(variable)
    if raw and not raw.startswith(("postgresql://", "postgres://")):
        # never shown: it may hold a password
        raise SettingsError(variable, _POSTGRES_URL, "a value that does not start with postgresql://")
    return raw


def postgres_warehouse_url() -> str:
    """The PostgreSQL database of the lakehouse when `JUMP_WAREHOUSE=postgres`: `JUMP_POSTGRES_URL`,
    else a URL made of the standard `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE`
    variables, else the local cluster of `make postgres` once created."""
    from urllib.parse import quote

    from jump_platform.postgres import LocalCluster

    configured = _postgres_url_setting("JUMP_POSTGRES_URL")
    if configured:
        return configured
    parts = {name: _env(name) for name in PG_VARIABLES}
    if parts["PGHOST"]:
        credentials = quote(parts["PGUSER"] or "", safe="")
        if parts["PGPASSWORD"]:
            credentials += ":" + quote(parts["PGPASSWORD"], safe="")
        port = f":{int(parts['PGPORT'])}" if parts["PGPORT"] else ""
        database = quote(parts["PGDATABASE"] or "", safe="")
        return f"postgresql://{credentials}{'@' if credentials else ''}{parts['PGHOST']}{port}/{database}"
    local = LocalCluster(postgres_dir()).url()
    if local:
        return local
    raise SettingsError(
        "JUMP_POSTGRES_URL",
        f"{_POSTGRES_URL} for JUMP_WAREHOUSE=postgres (or the PG* variables, or `make postgres` for a local server)",
        None,
    )


def spark_dir() -> Path:
    """Where the local Spark lakehouse lives when `JUMP_WAREHOUSE=spark`: `<data dir>/spark`, with
    `sources/` (the loader's Parquet folders), `warehouse/` (dbt's tables) and `metastore_db/`
    (the Hive catalog)."""
    return data_dir() / "spark"


def _warehouse_settings() -> None:
    if warehouse() == "postgres":
        postgres_warehouse_url()


def validate() -> list[SettingsError]:
    """Every setting whose value cannot be used, one error each; empty when all are fine.

    `make run`, the CLI and the code location call it before anything runs or is written.
    """
    errors = []
    for read in (
        seed,
        scale,
        as_of_date,
        anomalies,
        producer,
        schedules_on,
        duckdb_config,
        lock_timeout,
        extract_format,
        _warehouse_settings,
        crm_postgres_url,
    ):
        try:
            read()
        except SettingsError as error:
            errors.append(error)
    return errors


def check() -> None:
    """Raise the first unusable setting's error (see `validate`)."""
    errors = validate()
    if errors:
        raise errors[0]


DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0


def lock_timeout() -> float:
    """How long a run waits for another run to finish with the lakehouse before it gives up:
    `JUMP_LOCK_TIMEOUT` seconds, default 1800 (30 minutes); 0 gives up at once."""
    raw = _env("JUMP_LOCK_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_LOCK_TIMEOUT_SECONDS
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise SettingsError("JUMP_LOCK_TIMEOUT", "a number of seconds, 0 or more", raw)
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


def crm_postgres_url() -> str | None:
    """The PostgreSQL database the CRM sync (reverse ETL) writes to: `JUMP_CRM_POSTGRES_URL`
    (`postgresql://user:password@host:port/database`), else the local cluster of `make postgres` once
    created, else None (the sync is not configured). Apart from `JUMP_POSTGRES_URL`, the warehouse's
    own database when `JUMP_WAREHOUSE=postgres`: the CRM is another team's tool."""
    from jump_platform.postgres import LocalCluster

    return _postgres_url_setting("JUMP_CRM_POSTGRES_URL") or LocalCluster(postgres_dir()).url()


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
