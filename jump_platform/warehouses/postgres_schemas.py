"""Write-audit-publish on PostgreSQL: the build's schemas, made from the published ones, swapped in
by one transaction at the publish, swapped back by a rollback (see `postgres.py` for the whole)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from jump_platform.lakehouse.stores import NO_BUILD_YET, SNAPSHOT_SCHEMA
from jump_platform.sql import qualified, quote_identifier
from jump_platform.warehouses.postgres import ASIDE, BUILD, EXPIRED, LAYERS, PREVIOUS, column_types, connect, schema_names

if TYPE_CHECKING:
    import adbc_driver_postgresql.dbapi as adbc

    from jump_platform.lakehouse.layout import Layout
    from jump_platform.lakehouse.snapshots import Snapshot


def _names(names: Iterable[str]) -> str:
    """Names as one parameter, for `= any(string_to_array($1, ','))` (no name holds a comma)."""
    return ",".join(names)


class PostgresSchemas:
    """The tables' side of write-audit-publish on PostgreSQL (see the module docstring); the
    snapshot folders hold the exports and `snapshot.json` only."""

    has_file = False

    def __init__(self, url: str) -> None:
        self.url = url

    def _snapshot_id(self, cursor: adbc.Cursor, schema: str) -> str | None:
        if not column_types(cursor, schema, "snapshot"):
            return None
        cursor.execute(f"select snapshot_id from {qualified(schema, 'snapshot')}")
        row = cursor.fetchone()
        return row[0] if row else None

    def current_snapshot_id(self, layout: Layout) -> str | None:
        """The record the published schemas hold: they, not the `current` link, say what is published."""
        with connect(self.url) as connection, connection.cursor() as cursor:
            return self._snapshot_id(cursor, SNAPSHOT_SCHEMA)

    def build_missing(self, layout: Layout) -> str | None:
        with connect(self.url) as connection, connection.cursor() as cursor:
            present = schema_names(cursor)
        # The last publish made the build the published schemas: the usual case, said to nobody.
        return None if all(layer + BUILD in present for layer in LAYERS) else NO_BUILD_YET

    def reset_build(self, layout: Layout, current: str | None) -> None:
        """Make the build's schemas a copy of the published ones, in one transaction.

        Tables are copied with their columns, types and constraints (`like ... including all`).
        A view is made again from its definition, which PostgreSQL gives with every name
        qualified by its schema (`search_path` empty): while the statement runs, the build's
        schemas carry the published names (renamed inside this transaction, which nobody else
        sees), so the same definition reads the build's copies.
        """
        with connect(self.url) as connection:
            try:
                with connection.cursor() as cursor:
                    present = schema_names(cursor)
                    for layer in LAYERS:
                        cursor.execute(f"drop schema if exists {quote_identifier(layer + BUILD)} cascade")
                        cursor.execute(f"create schema {quote_identifier(layer + BUILD)}")
                    published = [layer for layer in LAYERS if layer in present]
                    if current is not None and published:
                        self._copy_published(cursor, published)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def _copy_published(self, cursor: adbc.Cursor, layers: list[str]) -> None:
        cursor.execute(
            "select c.relnamespace::regnamespace::text, c.relname, c.relkind "
            "from pg_class c where c.relnamespace::regnamespace::text = any(string_to_array($1, ',')) "
            "and c.relkind in ('r', 'p', 'v') order by c.oid",
            parameters=(_names(layers),),
        )
        relations = cursor.fetchall()
        for schema, name, kind in relations:
            if kind != "v":
                source, target = qualified(schema, name), qualified(schema + BUILD, name)
                cursor.execute(f"create table {target} (like {source} including all)")
                cursor.execute(f"insert into {target} select * from {source}")
        views = [(schema, name) for schema, name, kind in relations if kind == "v"]
        if not views:
            return
        cursor.execute("set local search_path = ''")
        definitions = []
        for schema, name in views:
            cursor.execute("select pg_get_viewdef($1::regclass, true)", parameters=(qualified(schema, name),))
            definitions.append((schema, name, cursor.fetchone()[0]))
        # In creation order (oid), so that a view is made after the views it reads.
        for layer in layers:
            cursor.execute(f"drop schema if exists {quote_identifier(layer + ASIDE)} cascade")
            cursor.execute(f"alter schema {quote_identifier(layer)} rename to {quote_identifier(layer + ASIDE)}")
            cursor.execute(f"alter schema {quote_identifier(layer + BUILD)} rename to {quote_identifier(layer)}")
        for schema, name, definition in definitions:
            cursor.execute(f"create view {qualified(schema, name)} as {definition}")
        for layer in layers:
            cursor.execute(f"alter schema {quote_identifier(layer)} rename to {quote_identifier(layer + BUILD)}")
            cursor.execute(f"alter schema {quote_identifier(layer + ASIDE)} rename to {quote_identifier(layer)}")

    def stamp(self, layout: Layout, snapshot: Snapshot) -> list[str]:
        record = qualified(SNAPSHOT_SCHEMA + BUILD, "snapshot")
        with connect(self.url) as connection:
            with connection.cursor() as cursor:
                cursor.execute(f"create schema if not exists {quote_identifier(SNAPSHOT_SCHEMA + BUILD)}")
                cursor.execute(f"drop table if exists {record}")
                cursor.execute(
                    f"create table {record} as select $1::text as snapshot_id, $2::text as run_id, "
                    "$3::timestamptz as published_at, nullif($4, '')::date as as_of",
                    parameters=(snapshot.snapshot_id, snapshot.run_id, snapshot.published_at, snapshot.as_of or ""),
                )
                cursor.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema = any(string_to_array($1, ',')) order by 1, 2",
                    parameters=(_names(layer + BUILD for layer in LAYERS if layer != SNAPSHOT_SCHEMA),),
                )
                tables = [f"{schema.removesuffix(BUILD)}.{name}" for schema, name in cursor.fetchall()]
            connection.commit()
        return tables

    def copy_into(self, layout: Layout, folder: Path) -> str:
        return "schema rename (PostgreSQL)"

    def _swap(self, renames: Callable[[set[str]], list[tuple[str, str]]]) -> None:
        """Rename schemas in one transaction (`renames` lists them from the schemas present), then
        drop the expired ones in another: a drop waits for readers still reading them, the renames
        wait for nobody."""
        with connect(self.url) as connection:
            try:
                with connection.cursor() as cursor:
                    present = schema_names(cursor)
                    for layer in LAYERS:
                        if layer + EXPIRED in present:
                            cursor.execute(f"drop schema {quote_identifier(layer + EXPIRED)} cascade")
                    for old, new in renames(present):
                        cursor.execute(f"alter schema {quote_identifier(old)} rename to {quote_identifier(new)}")
                connection.commit()
                with connection.cursor() as cursor:
                    present = schema_names(cursor)
                    for layer in LAYERS:
                        if layer + EXPIRED in present:
                            cursor.execute(f"drop schema {quote_identifier(layer + EXPIRED)} cascade")
                connection.commit()
            except BaseException:
                connection.rollback()
                raise

    def switch(self, layout: Layout, snapshot_id: str) -> None:
        """Publish: the published schemas become `<layer>__previous`, the build's the published ones."""

        def renames(present: set[str]) -> list[tuple[str, str]]:
            steps = []
            for layer in LAYERS:
                if layer + PREVIOUS in present:
                    steps.append((layer + PREVIOUS, layer + EXPIRED))
                if layer in present:
                    steps.append((layer, layer + PREVIOUS))
                steps.append((layer + BUILD, layer))
            return steps

        self._swap(renames)

    def roll_back(self, layout: Layout, snapshot_id: str) -> None:
        """The schemas published before (`<layer>__previous`, snapshot `snapshot_id`) again."""
        with connect(self.url) as connection, connection.cursor() as cursor:
            previous = self._snapshot_id(cursor, SNAPSHOT_SCHEMA + PREVIOUS)
        if previous != snapshot_id:
            raise LookupError(
                f"the schemas published before hold snapshot {previous}, not {snapshot_id}: nothing to roll back to"
            )

        def renames(present: set[str]) -> list[tuple[str, str]]:
            steps = []
            for layer in LAYERS:
                if layer in present:
                    steps.append((layer, layer + EXPIRED))
                if layer + PREVIOUS in present:
                    steps.append((layer + PREVIOUS, layer))
            return steps

        self._swap(renames)

    def size(self, layout: Layout, snapshot_id: str) -> int:
        with connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_class c "
                "where c.relnamespace::regnamespace::text = any(string_to_array($1, ',')) and c.relkind in ('r', 'p')",
                parameters=(_names(LAYERS),),
            )
            return int(cursor.fetchone()[0])
