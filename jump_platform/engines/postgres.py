"""PostgreSQL: the lakehouse is a set of schemas of one database, the build their `__build` copies."""

from __future__ import annotations

from urllib.parse import urlsplit

import dagster as dg

from jump_platform import settings
from jump_platform.engines.base import Engine, QueryShell
from jump_platform.lakehouse.stores import TableStore
from jump_platform.warehouses import Warehouse
from jump_platform.warehouses.postgres import BUILD, PostgresIOManager, PostgresWarehouse, libpq_env
from jump_platform.warehouses.postgres_schemas import PostgresSchemas

URL_VARIABLE = "JUMP_POSTGRES_URL"


def configured_url() -> str:
    """The database's URL as a resource field: `dg.EnvVar("JUMP_POSTGRES_URL")` when that is set, so
    the Dagster UI shows the variable's name, never the password; else empty, and the IO manager
    reads it when it writes (the PG* variables, or the local cluster of `make postgres`)."""
    settings.postgres_warehouse_url()  # refuses a bad URL when the code location loads
    variable = dg.EnvVar(URL_VARIABLE)
    return variable if variable.get_value() else ""


class Postgres(Engine):
    name = "postgres"
    dbt_target = "postgres"
    needs_server = True
    failed_build_hint = (
        "It stays as it is until the next run, to inspect: the schemas sources__build, staging__build... of the database."
    )

    def io_manager(self, landing: str) -> PostgresIOManager:
        return PostgresIOManager(url=configured_url(), schema_suffix=BUILD, landing=landing)

    def build_warehouse(self, database: str, connection_config: dict[str, str]) -> Warehouse:
        return PostgresWarehouse(url=settings.postgres_warehouse_url(), schema_suffix=BUILD)

    def published_warehouse(self) -> Warehouse:
        return PostgresWarehouse(url=settings.postgres_warehouse_url())

    def table_store(self) -> TableStore:
        return PostgresSchemas(settings.postgres_warehouse_url())

    def location(self) -> str:
        parts = urlsplit(settings.postgres_warehouse_url())
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path}, schemas sources, staging, intermediate, marts"

    def dbt_env(self) -> dict[str, str]:
        return libpq_env(settings.postgres_warehouse_url())

    def server_locks(self) -> list:
        """One run at a time across hosts: the server's advisory lock, which it frees when the
        run's connection dies (see `warehouses/postgres_lock.py`)."""
        from jump_platform.warehouses.postgres_lock import PostgresTurn

        return [PostgresTurn(settings.postgres_warehouse_url())]

    def query_shell(self, schema: str, build: bool) -> QueryShell:
        """psql, in read-only transactions, on the published schemas (or the build's)."""
        search_path = schema + (BUILD if build else "")
        return QueryShell(
            ["psql", settings.postgres_warehouse_url()],
            {"PGOPTIONS": f"-c default_transaction_read_only=on -c search_path={search_path}"},
        )
