"""Configuration from environment variables, with local defaults that need no setup.

Every variable the platform reads (the `JUMP_*` ones and the standard `PG*` ones) is declared once,
typed, as a field of `Settings`: its variable's name, what it expects, its type, its default. One
error type, `SettingsError`, whose message is one line: `<VARIABLE>: expected ..., found '...'`.

Why a plain pydantic model, rather than pydantic-settings or Dagster's `ConfigurableResource` with
`dg.EnvVar`: the settings are read outside Dagster too (the CLI checks them before it loads
anything, `make postgres` and the dashboard read them, dbt gets some of them), so they cannot live
in resources; pydantic-settings is not installed (pydantic is, through Dagster), and what it would
add, reading the environment, is five lines here, while its errors would need translating to the
one-line messages anyway. Each value is read when it is asked for, never at import time, one
variable at a time, so a test or a run can point the platform elsewhere by setting a variable, and
a bad value of one variable never stops the reading of another (`validate` reports them all).

This module is the bottom layer: it imports nothing of the platform. The names only a domain knows
(the anomalies, the first day of Jump's data) are judged by that domain
(`jump_platform.sources.settings_checks`), which the CLI and the code location call.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

DEFAULT_SEED = 42
PRODUCERS = ("generator", "extracts")
EXTRACT_FORMATS = ("csv", "parquet")
WAREHOUSES = ("duckdb", "postgres", "spark")
SYNC_DELETE_MODES = ("delete", "flag")
DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0
DEFAULT_SNAPSHOTS_KEPT = 2
DEFAULT_ARCHIVE_RETENTION_DAYS = 30
DEFAULT_REJECTED_RETENTION_DAYS = 90
DEFAULT_DASHBOARD_PORT = 8501
DEFAULT_POSTGRES_PORT = 55432
DEFAULT_UI_URL = "http://127.0.0.1:3000"
# The standard libpq variables, read when JUMP_POSTGRES_URL is not set.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
# Variables the platform sets for dbt's own process (read by `dbt_project/profiles.yml`), never read
# here: they are derived from the settings (see `defs/transform/resources.py`, `dbt_env`).
DBT_ONLY_VARIABLES = ("JUMP_BUILD_DUCKDB_PATH", "JUMP_DBT_MEMORY_LIMIT", "JUMP_SPARK_DIR")


class SettingsError(ValueError):
    """A setting whose value cannot be used: its variable, what was expected, what was found.

    Its message is one line, `<VARIABLE>: expected ..., found '...'`, which the CLI prints as it is.
    """

    def __init__(self, variable: str, expected: str, found: str | None, *, shown: str | None = None):
        self.variable, self.expected, self.found = variable, expected, found
        super().__init__(f"{variable}: expected {expected}, found {shown or _shown(found)}")


def _shown(value: str | None) -> str:
    """A value as an error message quotes it: escaped, and cut short if it is long."""
    if value is None:
        return "nothing"
    return repr(value if len(value) <= 60 else value[:57] + "...")


@dataclass(frozen=True)
class Variable:
    """How a field of `Settings` is set: its environment variable, what it expects (said in the
    error), a value it refuses (`invalid`, None when any text is accepted; the tests set each one),
    and whether its value is secret (an error then never quotes it)."""

    name: str
    expected: str
    invalid: str | None = None
    secret: bool = False
    strip: bool = True


# --- parsers of the raw text, each raising ValueError on a value it refuses --------------------


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _digits(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", value):
        raise ValueError("not a non-negative integer")
    return value


def _iso_date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _on_off(value: Any) -> Any:
    if isinstance(value, str):
        if value.lower() not in ("on", "off"):
            raise ValueError("not on or off")
        return value.lower() == "on"
    return value


def _names(value: Any) -> Any:
    """A comma-separated list, stripped, without empty items."""
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


def _postgres_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("not a PostgreSQL URL")
    return value


def _http_url(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("not an http(s) URL")
    return value


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_private_url(url: str) -> bool:
    """Whether a URL keeps what is sent to it (a message, its token) off the network in clear:
    `https://`, or `http://` to a loopback address."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    return bool(host) and (parsed.scheme == "https" or (parsed.scheme == "http" and _loopback(host)))


def _private_url(value: str) -> str:
    if not is_private_url(value):
        raise ValueError("sent in clear")
    return value


def _addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    if any("@" not in address for address in value):
        raise ValueError("not an email address")
    return value


_MEMORY_LIMIT = r"(?i)^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$"
_PORT = "a TCP port number, 1 to 65535"
_POSTGRES = "a URL like postgresql://user:password@host:5432/database"
_BOOLEAN = "true or false (also 1/0, yes/no, on/off)"
_Port = Annotated[int, Field(gt=0, lt=65536)]
_Names = Annotated[tuple[str, ...], BeforeValidator(_names)]


class Settings(BaseModel):
    """Every setting of the platform, with its environment variable (`Variable`) and its default.

    A field left unset (or set to blanks) takes its default; `None` means "derived" (from another
    setting, or from the environment at the moment it is used), see the functions below.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- where the data lives
    data_dir: Annotated[Path | None, Variable("JUMP_DATA_DIR", "a folder")] = None
    duckdb_path: Annotated[Path | None, Variable("JUMP_DUCKDB_PATH", "a file path")] = None
    duckdb_memory_limit: Annotated[
        str,
        Field(pattern=_MEMORY_LIMIT),
        Variable("JUMP_DUCKDB_MEMORY_LIMIT", "a size DuckDB understands, like 1GB or 512MiB", "lots"),
    ] = DEFAULT_MEMORY_LIMIT
    lock_timeout: Annotated[
        float,
        Field(ge=0, allow_inf_nan=False),
        Variable("JUMP_LOCK_TIMEOUT", "a number of seconds, 0 or more", "soon"),
    ] = DEFAULT_LOCK_TIMEOUT_SECONDS
    # --- retention: what the end of each run frees (`lakehouse/housekeeping.py`)
    snapshots_kept: Annotated[
        int, BeforeValidator(_digits), Field(ge=2), Variable("JUMP_SNAPSHOTS_KEPT", "a whole number, 2 or more", "1")
    ] = DEFAULT_SNAPSHOTS_KEPT
    archive_retention_days: Annotated[
        int,
        BeforeValidator(_digits),
        Variable("JUMP_ARCHIVE_RETENTION_DAYS", "a whole number of days, 0 to keep forever", "a month"),
    ] = DEFAULT_ARCHIVE_RETENTION_DAYS
    rejected_retention_days: Annotated[
        int,
        BeforeValidator(_digits),
        Variable("JUMP_REJECTED_RETENTION_DAYS", "a whole number of days, 0 to keep forever", "-1"),
    ] = DEFAULT_REJECTED_RETENTION_DAYS
    # --- what the generator draws, and who feeds the landing zone
    seed: Annotated[int, BeforeValidator(_digits), Variable("JUMP_SEED", "a non-negative integer like 42", "-1")] = DEFAULT_SEED
    scale: Annotated[
        float,
        Field(gt=0, allow_inf_nan=False),
        Variable("JUMP_SCALE", "a positive number like 1 or 0.5 (1 = about 5,000 invoices)", "big"),
    ] = 1.0
    as_of: Annotated[
        dt.date | None, BeforeValidator(_iso_date), Variable("JUMP_AS_OF", "an ISO date like 2026-01-31", "2026-13-01")
    ] = None
    # The names are judged by the sources (`sources/settings_checks.py`), which know them.
    anomalies: Annotated[_Names, Variable("JUMP_ANOMALIES", "comma-separated anomaly names", "no_such_anomaly")] = ()
    producer: Annotated[
        Literal["generator", "extracts"],
        BeforeValidator(_lower),
        Variable("JUMP_PRODUCER", f"one of {', '.join(PRODUCERS)}", "dlt"),
    ] = "generator"
    extract_format: Annotated[
        Literal["csv", "parquet"],
        BeforeValidator(_lower),
        Variable("JUMP_EXTRACT_FORMAT", f"one of {', '.join(EXTRACT_FORMATS)}", "xml"),
    ] = "csv"
    schedules: Annotated[bool, BeforeValidator(_on_off), Variable("JUMP_SCHEDULES", "on or off", "maybe")] = True
    automation: Annotated[bool, BeforeValidator(_on_off), Variable("JUMP_AUTOMATION", "on or off", "maybe")] = True
    # --- the engine, and how to reach it
    warehouse: Annotated[
        Literal["duckdb", "postgres", "spark"],
        BeforeValidator(_lower),
        Variable("JUMP_WAREHOUSE", f"one of {', '.join(WAREHOUSES)}", "oracle"),
    ] = "duckdb"
    postgres_url: Annotated[
        str | None, AfterValidator(_postgres_url), Variable("JUMP_POSTGRES_URL", _POSTGRES, "mysql://db/jump", secret=True)
    ] = None
    pghost: Annotated[str | None, Variable("PGHOST", "a host name")] = None
    pgport: Annotated[_Port | None, Variable("PGPORT", _PORT, "notaport")] = None
    pguser: Annotated[str | None, Variable("PGUSER", "a user name")] = None
    pgpassword: Annotated[str | None, Variable("PGPASSWORD", "a password", secret=True, strip=False)] = None
    pgdatabase: Annotated[str | None, Variable("PGDATABASE", "a database name")] = None
    spark_master: Annotated[
        str,
        Field(pattern=r"^(local(\[(\d+|\*)(,\d+)?\])?|yarn|(spark|k8s|mesos)://.+)$"),
        Variable("JUMP_SPARK_MASTER", "a Spark master URL like local[2] or spark://host:7077", "nowhere"),
    ] = "local[2]"
    spark_driver_memory: Annotated[
        str,
        Field(pattern=r"(?i)^\d+([kmgt]b?)?$"),
        Variable("JUMP_SPARK_DRIVER_MEMORY", "a JVM memory size like 1g or 512m", "lots"),
    ] = "1g"
    # Where the executors of a cluster reach the driver (the run's process); dbt's profile reads it too.
    spark_driver_host: Annotated[str, Variable("JUMP_SPARK_DRIVER_HOST", "a host name or address the executors reach")] = (
        "127.0.0.1"
    )
    # Read by dbt's `spark_thrift` target only (`dbt_project/profiles.yml`), declared here all the same.
    spark_thrift_host: Annotated[str | None, Variable("JUMP_SPARK_THRIFT_HOST", "a host name")] = None
    spark_thrift_port: Annotated[_Port | None, Variable("JUMP_SPARK_THRIFT_PORT", _PORT, "notaport")] = None
    spark_thrift_user: Annotated[str | None, Variable("JUMP_SPARK_THRIFT_USER", "a user name")] = None
    # --- the services around the lakehouse: `make postgres`, the dashboard, the syncs
    postgres_bin: Annotated[Path | None, Variable("JUMP_POSTGRES_BIN", "the folder of initdb and pg_ctl")] = None
    postgres_port: Annotated[_Port, Variable("JUMP_POSTGRES_PORT", _PORT, "notaport")] = DEFAULT_POSTGRES_PORT
    dashboard_port: Annotated[_Port, Variable("JUMP_DASHBOARD_PORT", _PORT, "70000")] = DEFAULT_DASHBOARD_PORT
    crm_postgres_url: Annotated[
        str | None,
        AfterValidator(_postgres_url),
        Variable("JUMP_CRM_POSTGRES_URL", _POSTGRES, "mysql://crm/jump", secret=True),
    ] = None
    dagster_postgres_url: Annotated[
        str | None,
        AfterValidator(_postgres_url),
        Variable("JUMP_DAGSTER_POSTGRES_URL", _POSTGRES, "mysql://dagster/runs", secret=True),
    ] = None
    kpi_endpoint_url: Annotated[
        str | None,
        AfterValidator(_http_url),
        Variable("JUMP_KPI_ENDPOINT_URL", "an http(s) URL like https://finance.example/kpis", "finance.example/kpis"),
    ] = None
    sync_deleted: Annotated[
        Literal["delete", "flag"],
        BeforeValidator(_lower),
        Variable("JUMP_SYNC_DELETED", f"one of {', '.join(SYNC_DELETE_MODES)}", "drop"),
    ] = "delete"
    sync_attempts: Annotated[int, Field(ge=1), Variable("JUMP_SYNC_ATTEMPTS", "a whole number, 1 or more", "0")] = 3
    sync_retry_wait: Annotated[
        float,
        Field(ge=0, allow_inf_nan=False),
        Variable("JUMP_SYNC_RETRY_WAIT", "a number of seconds, 0 or more", "-1"),
    ] = 1.0
    # --- notifications of finished runs
    ui_url: Annotated[
        str, AfterValidator(_http_url), Variable("JUMP_UI_URL", "an http(s) URL like http://127.0.0.1:3000", "localhost:3000")
    ] = DEFAULT_UI_URL
    notify_success: Annotated[bool, Variable("JUMP_NOTIFY_SUCCESS", _BOOLEAN, "maybe")] = False
    notify_webhook: Annotated[
        str | None,
        AfterValidator(_private_url),
        Variable(
            "JUMP_NOTIFY_WEBHOOK",
            "an https:// URL (http:// to a loopback address only, such as 127.0.0.1)",
            "http://hooks.example.com/T000",
            secret=True,
        ),
    ] = None
    smtp_host: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z0-9.\-]+$|^\[[0-9A-Fa-f:.]+\]$"),
        Variable("JUMP_SMTP_HOST", "a host name", "smtp://mail"),
    ] = None
    smtp_port: Annotated[_Port | None, Variable("JUMP_SMTP_PORT", _PORT, "notaport")] = None
    smtp_user: Annotated[str | None, Variable("JUMP_SMTP_USER", "a user name")] = None
    # Taken as is: leading or trailing spaces may be part of a password.
    smtp_password: Annotated[str | None, Variable("JUMP_SMTP_PASSWORD", "a password", secret=True, strip=False)] = None
    smtp_from: Annotated[str | None, Field(pattern=r"@"), Variable("JUMP_SMTP_FROM", "an email address", "nobody")] = None
    smtp_to: Annotated[
        _Names, AfterValidator(_addresses), Variable("JUMP_SMTP_TO", "comma-separated email addresses", "nobody")
    ] = ()
    smtp_ssl: Annotated[bool, Variable("JUMP_SMTP_SSL", _BOOLEAN, "maybe")] = False
    smtp_starttls: Annotated[bool, Variable("JUMP_SMTP_STARTTLS", _BOOLEAN, "maybe")] = False
    smtp_allow_plaintext: Annotated[bool, Variable("JUMP_SMTP_ALLOW_PLAINTEXT", _BOOLEAN, "maybe")] = False


def _variable(field: str) -> Variable:
    [variable] = [item for item in Settings.model_fields[field].metadata if isinstance(item, Variable)]
    return variable


VARIABLES: dict[str, Variable] = {field: _variable(field) for field in Settings.model_fields}


def _raw(field: str, environ: Mapping[str, str]) -> str | None:
    variable = VARIABLES[field]
    value = environ.get(variable.name, "")
    if variable.strip:
        value = value.strip()
    return value if value.strip() else None


def _error(field: str, raw: str | None) -> SettingsError:
    variable = VARIABLES[field]
    if variable.secret and raw is not None:
        # never quoted: it may hold a password or a token
        shown = "a value that does not start with postgresql://" if "POSTGRES" in variable.name else "a value not shown"
        return SettingsError(variable.name, variable.expected, None, shown=shown)
    return SettingsError(variable.name, variable.expected, raw)


def read(field: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting, typed: its variable's value, else its default; `SettingsError` if unusable."""
    raw = _raw(field, os.environ if environ is None else environ)
    if raw is None:
        return Settings.model_fields[field].default
    try:
        return getattr(Settings.model_validate({field: raw}), field)
    except ValidationError:
        raise _error(field, raw) from None


def load(environ: Mapping[str, str] | None = None) -> tuple[Settings, list[SettingsError]]:
    """Every setting at once: the model (fields in error keep their default) and the errors."""
    environ = os.environ if environ is None else environ
    values, errors = {}, []
    for field in Settings.model_fields:
        try:
            values[field] = read(field, environ)
        except SettingsError as error:
            errors.append(error)
    return Settings.model_construct(**values), errors


# --- the settings as the platform uses them ---------------------------------------------------


def data_dir() -> Path:
    """Root of everything the platform writes: `JUMP_DATA_DIR`, default `<project>/data`."""
    return Path(read("data_dir") or PROJECT_ROOT / "data").resolve()


def duckdb_path() -> Path:
    """The lakehouse file: `JUMP_DUCKDB_PATH`, default `<data dir>/lakehouse/lakehouse.duckdb`."""
    configured = read("duckdb_path")
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
    return read("duckdb_memory_limit")


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


def extract_format() -> str:
    """The file format the demo extracts are written in: `JUMP_EXTRACT_FORMAT` = `csv` (default, the
    previous platform's format) | `parquet` (smaller, and much faster to load at large scales)."""
    return read("extract_format")


def seed() -> int:
    """The generator's random seed: `JUMP_SEED`, a non-negative integer (default 42)."""
    return read("seed")


def scale() -> float:
    """How much demo data the generator draws: `JUMP_SCALE`, a positive number (default 1)."""
    return read("scale")


def parse_as_of(raw: str, source: str) -> dt.date:
    """An as-of date given as text by `source` (a variable, a tag, a config field): an ISO date.
    Whether Jump has data on that day is the sources' to say (`sources/settings_checks.py`)."""
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise SettingsError(source, "an ISO date like 2026-01-31", raw) from None


def today() -> dt.date:
    """The as-of date when nothing sets one: today's date, local time. dbt's fallback is the same
    (`dbt_project/macros/as_of_date.sql`, the local date of dbt's process)."""
    return dt.date.today()


def as_of_date(default: dt.date | None = None) -> dt.date:
    """The date the lakehouse describes: `JUMP_AS_OF` (ISO date), else `default`, else today. A run
    resolves it once, when it is created, and keeps it in its tag (`defs/as_of.py`)."""
    return read("as_of") or default or today()


def anomalies() -> list[str]:
    """Anomalies to inject into generated data: `JUMP_ANOMALIES`, a comma-separated list of names."""
    return list(read("anomalies"))


def producer() -> str:
    """What feeds the landing zone: `JUMP_PRODUCER`.

    - `generator` (default, the demo): the Faker generator writes the extracts; the daily schedule
      runs it, then refreshes everything downstream.
    - `extracts` (a deployment fed by the applications' real extracts): the generator never runs,
      so no generated data ever overwrites a delivery; the daily schedule only rebuilds the models
      and exports for the new day, and the landing-zone sensor loads what is delivered.
    """
    return read("producer")


def schedules_on() -> bool:
    """Whether the schedules start running with the daemon: `JUMP_SCHEDULES` = `on` (default) | `off`.

    It sets their default status only: a toggle in the UI overrides it, and is kept by the instance.
    """
    return read("schedules")


def automation_on() -> bool:
    """Whether the automation starts running with the daemon: the sensors that launch runs (the
    landing zone's, the automation condition sensor) and the schedules. `JUMP_AUTOMATION` = `on`
    (default: deployments, the Docker image) | `off` (what `make dev` gives unless it is set).

    Like `JUMP_SCHEDULES`, it sets their default status only: a toggle in the UI wins.
    """
    return read("automation")


def warehouse() -> str:
    """The engine that holds the lakehouse: `JUMP_WAREHOUSE` = `duckdb` (default) | `postgres` | `spark`.

    The assets, models, checks and exports are the same on each; only dbt's profile target and the
    resources that read and write the tables change (`jump_platform/warehouses/`).
    """
    return read("warehouse")


def snapshots_kept() -> int:
    """How many published snapshots are kept: `JUMP_SNAPSHOTS_KEPT`, 2 or more (default 2: the
    published one and the one `make rollback` goes back to)."""
    return read("snapshots_kept")


def archive_retention_days() -> int:
    """How many days a published delivery stays in the landing zone's `_archive/`:
    `JUMP_ARCHIVE_RETENTION_DAYS`, default 30; 0 keeps it forever."""
    return read("archive_retention_days")


def rejected_retention_days() -> int:
    """How many days a refused delivery stays in the landing zone's `_rejected/`:
    `JUMP_REJECTED_RETENTION_DAYS`, default 90; 0 keeps it forever."""
    return read("rejected_retention_days")


def lock_timeout() -> float:
    """How long a run waits for another run to finish with the lakehouse before it gives up:
    `JUMP_LOCK_TIMEOUT` seconds, default 1800 (30 minutes); 0 gives up at once."""
    return read("lock_timeout")


# --- the services around the lakehouse ---------------------------------------------------------


def postgres_dir() -> Path:
    """The throwaway local PostgreSQL cluster of `make postgres`: `<data dir>/postgres`."""
    return data_dir() / "postgres"


def postgres_port() -> int:
    """The port `make postgres` creates its cluster on: `JUMP_POSTGRES_PORT`, default 55432."""
    return read("postgres_port")


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's `initdb` and `pg_ctl`: `JUMP_POSTGRES_BIN`, else None (Debian's)."""
    return read("postgres_bin")


def local_postgres_connection(root: Path) -> dict | None:
    """Host, port, user, password and database of the local cluster in `root`, once created: the
    file `make postgres` writes (`local_services/postgres.py`), read here so that the settings can
    fall back to it without importing the cluster's code."""
    file = root / "connection.json"
    return json.loads(file.read_text()) if file.exists() else None


def connection_url(connection: Mapping[str, Any]) -> str:
    """`postgresql://user:password@host:port/database`, every part quoted."""
    quote = urllib.parse.quote
    return (
        f"postgresql://{quote(connection['user'], safe='')}:{quote(connection['password'], safe='')}"
        f"@{connection['host']}:{int(connection['port'])}/{quote(connection['database'], safe='')}"
    )


def _local_postgres_url() -> str | None:
    connection = local_postgres_connection(postgres_dir())
    return connection_url(connection) if connection else None


def postgres_warehouse_url() -> str:
    """The PostgreSQL database of the lakehouse when `JUMP_WAREHOUSE=postgres`: `JUMP_POSTGRES_URL`,
    else a URL made of the standard `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE`
    variables, else the local cluster of `make postgres` once created."""
    configured = read("postgres_url")
    if configured:
        return configured
    host = read("pghost")
    if host:
        quote = urllib.parse.quote
        credentials = quote(read("pguser") or "", safe="")
        if read("pgpassword"):
            credentials += ":" + quote(read("pgpassword"), safe="")
        port = f":{read('pgport')}" if read("pgport") else ""
        database = quote(read("pgdatabase") or "", safe="")
        return f"postgresql://{credentials}{'@' if credentials else ''}{host}{port}/{database}"
    local = _local_postgres_url()
    if local:
        return local
    raise SettingsError(
        "JUMP_POSTGRES_URL",
        f"{_POSTGRES} for JUMP_WAREHOUSE=postgres (or the PG* variables, or `make postgres` for a local server)",
        None,
    )


def spark_dir() -> Path:
    """Where the local Spark lakehouse lives when `JUMP_WAREHOUSE=spark`: `<data dir>/spark`, with
    `sources/` (the loader's Parquet folders), `warehouse/` (dbt's tables) and `metastore_db/`
    (the Hive catalog), the build's; and `published`, the link to the published snapshot's tables."""
    return data_dir() / "spark"


def spark_master() -> str:
    """Where Spark runs its jobs: `JUMP_SPARK_MASTER`, default `local[2]` (in this process)."""
    return read("spark_master")


def spark_driver_memory() -> str:
    """The Spark driver's memory: `JUMP_SPARK_DRIVER_MEMORY`, default `1g`."""
    return read("spark_driver_memory")


def spark_driver_host() -> str:
    """Where the executors of a Spark cluster reach the driver: `JUMP_SPARK_DRIVER_HOST`, default
    127.0.0.1 (a cluster on this machine, `make spark`)."""
    return read("spark_driver_host")


def dashboard_path() -> Path:
    """The dashboard's copy of the marts it shows, refreshed by the `dashboard/marts` asset."""
    return data_dir() / "dashboard" / "dashboard.duckdb"


def dashboard_port() -> int:
    """Where `make dashboard` serves on 127.0.0.1: `JUMP_DASHBOARD_PORT`, default 8501."""
    return read("dashboard_port")


def dagster_postgres_url() -> str | None:
    """The PostgreSQL database of the Dagster instance (`JUMP_DAGSTER_POSTGRES_URL`): run history,
    event logs, schedules and sensor cursors shared by every host pointing at it; None keeps the
    instance in SQLite files under DAGSTER_HOME (the default, for a laptop)."""
    return read("dagster_postgres_url")


def crm_postgres_url() -> str | None:
    """The PostgreSQL database the CRM sync (reverse ETL) writes to: `JUMP_CRM_POSTGRES_URL`
    (`postgresql://user:password@host:port/database`), else the local cluster of `make postgres` once
    created, else None (the sync is not configured). Apart from `JUMP_POSTGRES_URL`, the warehouse's
    own database when `JUMP_WAREHOUSE=postgres`: the CRM is another team's tool."""
    return read("crm_postgres_url") or _local_postgres_url()


def kpi_endpoint_url() -> str | None:
    """The HTTP endpoint the finance KPI sync posts its JSON batches to: `JUMP_KPI_ENDPOINT_URL`, else
    None (the sync is not configured)."""
    return read("kpi_endpoint_url")


def sync_delete_mode() -> str:
    """What the syncs do with a row that left the mart: `JUMP_SYNC_DELETED` = `delete` (default: the
    row is deleted from the target) or `flag` (it stays, with `deleted_in_lakehouse` true)."""
    return read("sync_deleted")


def reverse_etl_dir() -> Path:
    """dlt's pipeline folders of the syncs (their state and pending load packages)."""
    return data_dir() / "reverse_etl"


def sync_retries() -> tuple[int, float]:
    """How the syncs retry a transient failure (an HTTP 5xx or 429, a lost connection): attempts
    (`JUMP_SYNC_ATTEMPTS`, default 3) of each HTTP request and of each load step, with exponential
    waits starting at `JUMP_SYNC_RETRY_WAIT` seconds (default 1)."""
    return read("sync_attempts"), read("sync_retry_wait")


# --- checking them all before anything runs ---------------------------------------------------


def _warehouse_server() -> None:
    """`JUMP_WAREHOUSE=postgres` needs a server."""
    if warehouse() == "postgres":
        postgres_warehouse_url()


def _smtp_recipients() -> None:
    if read("smtp_host") and not read("smtp_to"):
        raise SettingsError("JUMP_SMTP_TO", "at least one recipient when JUMP_SMTP_HOST is set", None)


def _smtp_encryption() -> None:
    """A password is sent to the SMTP server over an encrypted connection only, unless allowed."""
    if read("smtp_user") and not (read("smtp_ssl") or read("smtp_starttls") or read("smtp_allow_plaintext")):
        raise SettingsError(
            "JUMP_SMTP_USER",
            "an encrypted connection to send the password over: JUMP_SMTP_STARTTLS=true or JUMP_SMTP_SSL=true "
            "(or JUMP_SMTP_ALLOW_PLAINTEXT=true to send it in clear)",
            read("smtp_user"),
        )


def validate(checks: Iterable[Callable[[], None]] = ()) -> list[SettingsError]:
    """Every setting whose value cannot be used, one error each; empty when all are fine.

    Every field of `Settings` is read, then what they make necessary, then the domains' `checks`
    (each raises a `SettingsError`; one about a variable already in error is not repeated). The CLI
    and the code location call it, with the sources' checks (`sources/settings_checks.py`), before
    anything runs or is written.
    """
    _, errors = load()
    for check in (_warehouse_server, _smtp_recipients, _smtp_encryption, *checks):
        try:
            check()
        except SettingsError as error:
            if error.variable not in {known.variable for known in errors}:
                errors.append(error)
    return errors


def check(checks: Iterable[Callable[[], None]] = ()) -> None:
    """Raise the first unusable setting's error (see `validate`)."""
    errors = validate(checks)
    if errors:
        raise errors[0]
