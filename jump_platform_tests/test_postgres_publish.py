"""Write-audit-publish on PostgreSQL, piece by piece on tiny tables of a real server: runs write the
build's schemas, readers of the published schemas never see a build half-written or one that failed
its audit, a publish swaps every schema at once, rollback swaps them back.

The same pieces as test_publish.py (DuckDB's files), with `PostgresSchemas` as the layout's store;
the whole pipeline on PostgreSQL is in test_engines.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import close_build, open_build
from jump_platform.warehouses.postgres import PostgresWarehouse, connect
from jump_platform.warehouses.postgres_schemas import PostgresSchemas

pytestmark = pytest.mark.slow

# What a reader checks in one statement: the mart adds up to its source, so a reader that saw a
# source of one build and a mart of another (or a half-written build) would see it false.
CONSISTENT = (
    "select (select sum(amount) from sources.invoices) = (select total from marts.turnover) "
    "and (select count(*) from staging.invoices) = (select count(*) from sources.invoices) as consistent, "
    "(select total from marts.turnover) as total"
)


@pytest.fixture
def lakehouse(postgres_database: Callable[[str], str], tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Layout, str]:
    url = postgres_database(f"publish_{request.node.name[:40].lower()}")
    layout = Layout(tmp_path / "lakehouse" / "lakehouse.duckdb", tmp_path / "exports", tmp_path / "sources", PostgresSchemas(url))
    return layout, url


def run(layout: Layout, url: str, run_id: str, amounts: list[int], publish: bool = True, failure: str | None = None) -> None:
    """What a run does, without Dagster: open the build, write a source, a view on it and a mart,
    then publish it, or close it failed."""
    state = open_build(layout, run_id).state
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("drop table if exists sources__build.invoices cascade")
        cursor.execute("create table sources__build.invoices (id int, amount numeric(18, 2))")
        for index, amount in enumerate(amounts):
            cursor.execute("insert into sources__build.invoices values ($1, $2)", parameters=(index, amount))
        cursor.execute("create view staging__build.invoices as select id, amount from sources__build.invoices")
        cursor.execute("drop table if exists marts__build.turnover")
        cursor.execute("create table marts__build.turnover as select sum(amount) as total from staging__build.invoices")
        connection.commit()
    state.record_written(["sources/invoices", "staging/invoices", "marts/turnover"])
    state.save(layout)
    if failure:
        close_build(layout, state, failure)
    elif publish:
        snapshot = snapshots.Snapshot(
            snapshots.new_snapshot_id(dt.datetime.now(dt.UTC), run_id), run_id, dt.datetime.now(dt.UTC).isoformat()
        )
        snapshots.publish(layout, snapshot, [])
    else:
        close_build(layout, state, None)


def published(url: str) -> tuple[bool, int]:
    consistent, total = PostgresWarehouse(url=url).query(CONSISTENT).row(0)
    return consistent, int(total)


def test_a_publish_swaps_the_build_in_and_keeps_the_one_before(lakehouse: tuple[Layout, str]) -> None:
    layout, url = lakehouse
    run(layout, url, "run-1", [10, 20])
    assert published(url) == (True, 30)
    first = snapshots.current_snapshot_id(layout)
    assert first is not None and layout.current.resolve().name == first
    run(layout, url, "run-2", [1, 2, 3])
    assert published(url) == (True, 6)
    assert snapshots.current_snapshot_id(layout) != first
    # the build made from the published schemas reads its own copies, views included
    open_build(layout, "run-3")
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("insert into sources__build.invoices values (9, 100)")
        connection.commit()
    assert (
        PostgresWarehouse(url=url, schema_suffix="__build").query("select count(*) as n from staging__build.invoices").item() == 4
    )
    assert published(url) == (True, 6)


def test_readers_of_the_published_schemas_never_see_a_build_or_half_a_publish(lakehouse: tuple[Layout, str]) -> None:
    layout, url = lakehouse
    run(layout, url, "run-0", [1])
    seen: list[tuple[bool, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        warehouse = PostgresWarehouse(url=url)
        while not stop.is_set():
            try:
                seen.append(warehouse.query(CONSISTENT).row(0))
            except BaseException as error:
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for index in range(1, 9):
            run(layout, url, f"run-{index}", [index] * (index + 1))
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert len(seen) > 8 and all(consistent for consistent, _ in seen)
    # only published totals: 1 * 1, then 2 * 3, 3 * 4, ... never a build's on its way
    assert {int(total) for _, total in seen} <= {1} | {index * (index + 1) for index in range(1, 9)}
    assert published(url) == (True, 72)


def test_a_failed_audit_leaves_the_published_schemas_as_they_were(lakehouse: tuple[Layout, str]) -> None:
    layout, url = lakehouse
    run(layout, url, "good", [10, 20])
    before = snapshots.current_snapshot_id(layout)
    run(layout, url, "bad", [1, 2, 3], failure="blocking check sources/invoices/primary_key failed")
    assert published(url) == (True, 30)
    assert snapshots.current_snapshot_id(layout) == before
    # the next run starts again from the published schemas, not from the failed build
    opened = open_build(layout, "next")
    assert opened.reset_because and "failed its audit" in opened.reset_because
    assert (
        PostgresWarehouse(url=url, schema_suffix="__build").query("select sum(amount) as s from sources__build.invoices").item()
        == 30
    )


def test_a_build_not_published_yet_waits_in_its_schemas(lakehouse: tuple[Layout, str]) -> None:
    layout, url = lakehouse
    run(layout, url, "good", [10, 20])
    run(layout, url, "load-only", [5], publish=False)
    assert published(url) == (True, 30)
    # the next run goes on from it
    assert open_build(layout, "next").reset_because is None
    assert PostgresWarehouse(url=url).query("select total from marts__build.turnover").item() == 5


def test_rollback_puts_the_schemas_published_before_back(lakehouse: tuple[Layout, str]) -> None:
    layout, url = lakehouse
    run(layout, url, "first", [10, 20])
    first = snapshots.current_snapshot_id(layout)
    run(layout, url, "second", [1, 2])
    second = snapshots.current_snapshot_id(layout)
    assert snapshots.rollback(layout) == (second, first)
    assert published(url) == (True, 30)
    assert snapshots.current_snapshot_id(layout) == first and layout.current.resolve().name == first
    with pytest.raises(LookupError):
        snapshots.rollback(layout)  # one level
    assert published(url) == (True, 30)


def test_a_publish_stopped_after_the_swap_is_finished_by_the_next_run(
    lakehouse: tuple[Layout, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, url = lakehouse
    run(layout, url, "first", [10, 20])
    first = snapshots.current_snapshot_id(layout)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed after the schemas were swapped")

    monkeypatch.setattr(snapshots, "_point_current_at", crash)
    with pytest.raises(KeyboardInterrupt):
        run(layout, url, "second", [1, 2])
    monkeypatch.undo()
    # the tables say which snapshot is published; the exports' link still names the first
    second = snapshots.current_snapshot_id(layout)
    assert second != first and published(url) == (True, 3)
    assert layout.current.resolve().name == first
    open_build(layout, "next")
    assert layout.current.resolve().name == second
