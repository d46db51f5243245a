"""Settings of the services around the lakehouse: a server warehouse (PostgreSQL, Spark), the local
PostgreSQL cluster of `make postgres`, the dashboard and the syncs (reverse ETL).

Read when asked for, like `settings`; `settings.validate()` checks the ones a run needs.
"""

from __future__ import annotations

from pathlib import Path

from jump_platform.settings import SettingsError, _env, data_dir

# The standard libpq variables, read when JUMP_POSTGRES_URL is not set.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
_POSTGRES_URL = "a URL like postgresql://user:password@host:5432/database"


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

    from jump_platform.local_services.postgres import LocalCluster

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
    from jump_platform.local_services.postgres import LocalCluster

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
