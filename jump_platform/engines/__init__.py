"""The engines that can hold the lakehouse, and the one `JUMP_WAREHOUSE` picks.

Each engine is one object (`base.Engine`) that yields everything engine-specific: its IO manager,
the readers of the build and of the published lakehouse, its table store (how a build is made,
published and rolled back), its dbt target and environment, its folder of published state, its
query shell and the hints a person reads. Code elsewhere asks `current()` and never compares engine
names. Adding an engine: one module here, and one line in `ENGINES`.
"""

from __future__ import annotations

from jump_platform import settings
from jump_platform.engines.base import Engine, NoLakehouseError, QueryShell
from jump_platform.engines.duckdb import DuckDB
from jump_platform.engines.postgres import Postgres
from jump_platform.engines.spark import Spark

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (DuckDB(), Postgres(), Spark())}


def get(name: str) -> Engine:
    """The engine called `name` (a value of JUMP_WAREHOUSE)."""
    try:
        return ENGINES[name]
    except KeyError:
        raise LookupError(f"no engine {name!r}: expected one of {', '.join(ENGINES)}") from None


def current() -> Engine:
    """The engine `JUMP_WAREHOUSE` picks (DuckDB by default)."""
    return get(settings.warehouse())


__all__ = ["ENGINES", "Engine", "NoLakehouseError", "QueryShell", "current", "get"]
