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


def _warehouse_settings() -> None:
    from jump_platform import service_settings

    if warehouse() == "postgres":
        service_settings.postgres_warehouse_url()


def _crm_settings() -> None:
    from jump_platform import service_settings

    service_settings.crm_postgres_url()


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
        _crm_settings,
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
