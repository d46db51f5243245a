"""Write-audit-publish on Spark, piece by piece on tiny tables: runs write the build's Parquet
folders, readers of the published tables never see a build half-written or one that failed its
audit, a publish switches every table at once, rollback switches them back, and old versions go
as `JUMP_SNAPSHOTS_KEPT` says.

The twin of test_postgres_publish.py, with `SparkFolders` as the layout's store. A run writes
`sources.invoices` with the loader's writer (pyarrow, as the IO manager does) and the mart
`marts.turnover` with Spark (one `local[1]` session for the module, writing the table's folder as
dbt's does); the whole pipeline on Spark is in test_engines.py.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from jump_platform import engines
from jump_platform.engines import NoLakehouseError
from jump_platform.lakehouse import Layout, snapshots
from jump_platform.lakehouse.build import BuildState, close_build, open_build
from jump_platform.warehouses.spark import SparkWarehouse, spark_conf, table_dir, write_table
from jump_platform.warehouses.spark_tables import PUBLISHED, SparkFolders

pytestmark = [pytest.mark.slow, pytest.mark.engines]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One Spark session for the module, without a metastore: it writes tables by their folders."""
    from pyspark.sql import SparkSession

    conf = spark_conf(tmp_path_factory.mktemp("spark-session"), master="local[1]")
    builder = SparkSession.builder.config("spark.sql.catalogImplementation", "in-memory")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def lakehouse(tmp_path: Path) -> tuple[Layout, Path]:
    root = tmp_path / "spark"
    state = tmp_path / "lakehouse" / "spark"
    layout = Layout(
        tmp_path / "lakehouse" / "lakehouse.duckdb", tmp_path / "exports", tmp_path / "sources", SparkFolders(root), state
    )
    return layout, root


def run(
    spark: object, layout: Layout, root: Path, run_id: str, amounts: list[int], publish: bool = True, failure: str | None = None
) -> None:
    """What a run does, without Dagster: open the build, write a source and a mart built from it by
    Spark, then publish it, or close it failed."""
    state = open_build(layout, run_id).state
    invoices = pa.table(
        {"id": list(range(len(amounts))), "amount": amounts}, schema=pa.schema([("id", pa.int64()), ("amount", pa.int64())])
    )
    write_table(table_dir(root, "sources", "invoices"), [invoices.to_reader()], replace=True)
    (
        spark.read.parquet(str(table_dir(root, "sources", "invoices")))
        .selectExpr("sum(amount) as total")
        .write.mode("overwrite")
        .parquet(str(table_dir(root, "marts", "turnover")))
    )
    state.record_written(["sources/invoices", "marts/turnover"])
    state.save(layout)
    if failure:
        close_build(layout, state, failure)
    elif publish:
        now = dt.datetime.now(dt.UTC)
        snapshot = snapshots.Snapshot(snapshots.new_snapshot_id(now, run_id), run_id, now.isoformat())
        snapshots.publish(layout, snapshot, [])
        # as the build resource leaves it: made of the snapshot just published, nothing new in it
        close_build(layout, BuildState(base=snapshot.snapshot_id, run_id=run_id), None)
    else:
        close_build(layout, state, None)


def published(root: Path) -> tuple[bool, int]:
    """What a reader checks: the mart adds up to its source, both read from one snapshot."""
    reader = SparkWarehouse(spark_dir=str(root)).pinned()
    total = int(reader.read_table("marts", "turnover")["total"].item())
    return int(reader.read_table("sources", "invoices")["amount"].sum()) == total, total


def build_total(root: Path) -> int:
    return int(SparkWarehouse(spark_dir=str(root), build=True).read_table("marts", "turnover")["total"].item())


def test_a_publish_switches_the_tables_and_keeps_the_ones_before(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    layout, root = lakehouse
    with pytest.raises(LookupError, match="nothing is published"):
        SparkWarehouse(spark_dir=str(root)).read_table("marts", "turnover")
    run(spark, layout, root, "run-1", [10, 20])
    assert published(root) == (True, 30)
    first = snapshots.current_snapshot_id(layout)
    assert first is not None and layout.current.resolve().name == first
    assert (root / PUBLISHED).resolve() == layout.snapshot_folder(first) / "tables"
    run(spark, layout, root, "run-2", [1, 2, 3])
    assert published(root) == (True, 6)
    second = snapshots.current_snapshot_id(layout)
    assert second != first
    # the snapshot's tables are hard links to the build's files, not copies
    built = next(table_dir(root, "sources", "invoices").glob("*.parquet"))
    assert built.stat().st_nlink == 2
    assert SparkWarehouse(spark_dir=str(root)).read_table("_lakehouse", "snapshot")["snapshot_id"].to_list() == [second]
    # the next run writes the build; readers still see what was published
    open_build(layout, "run-3")
    write_table(table_dir(root, "sources", "invoices"), [pa.table({"id": [9], "amount": [100]}).to_reader()], replace=False)
    assert len(SparkWarehouse(spark_dir=str(root), build=True).read_table("sources", "invoices")) == 4
    assert published(root) == (True, 6)


def test_published_tables_answer_spark_sql_in_a_catalog_of_their_own(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "good", [10, 20])
    run(spark, layout, root, "bad", [1, 2], failure="blocking check sources/invoices/primary_key failed")
    answer = SparkWarehouse(spark_dir=str(root)).query(
        "select (select sum(amount) from sources.invoices) as amounts, (select total from marts.turnover) as total"
    )
    assert answer.rows() == [(30, 30)]
    assert not (root / "metastore_db").exists()


def test_readers_of_the_published_tables_never_see_a_build_or_half_a_publish(
    spark: object, lakehouse: tuple[Layout, Path]
) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "run-0", [1])
    seen: list[tuple[bool, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(published(root))
            except BaseException as error:
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for index in range(1, 6):
            run(spark, layout, root, f"run-{index}", [index] * (index + 1))
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert len(seen) > 5 and all(consistent for consistent, _ in seen)
    # only published totals: 1 * 1, then 1 * 2, 2 * 3, ... never a build's on its way
    assert {total for _, total in seen} <= {1} | {index * (index + 1) for index in range(1, 6)}
    assert published(root) == (True, 30)


def test_a_failed_audit_leaves_the_published_tables_as_they_were(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "good", [10, 20])
    before = snapshots.current_snapshot_id(layout)
    run(spark, layout, root, "bad", [1, 2, 3], failure="blocking check sources/invoices/primary_key failed")
    assert published(root) == (True, 30)
    assert build_total(root) == 6  # the failed build, kept to inspect
    assert snapshots.current_snapshot_id(layout) == before
    # the next run starts again from the published tables, not from the failed build
    opened = open_build(layout, "next")
    assert opened.reset_because and "failed its audit" in opened.reset_because
    assert SparkWarehouse(spark_dir=str(root), build=True).read_table("sources", "invoices")["amount"].sum() == 30
    assert build_total(root) == 30


def test_a_build_not_published_yet_waits_in_its_folders(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "good", [10, 20])
    run(spark, layout, root, "load-only", [5], publish=False)
    assert published(root) == (True, 30)
    # the next run goes on from it
    assert open_build(layout, "next").reset_because is None
    assert build_total(root) == 5


def test_rollback_puts_the_tables_published_before_back(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "first", [10, 20])
    first = snapshots.current_snapshot_id(layout)
    run(spark, layout, root, "second", [1, 2])
    second = snapshots.current_snapshot_id(layout)
    assert snapshots.rollback(layout) == (second, first)
    assert published(root) == (True, 30)
    assert snapshots.current_snapshot_id(layout) == first and layout.current.resolve().name == first
    with pytest.raises(LookupError):
        snapshots.rollback(layout)  # one level
    assert published(root) == (True, 30)
    # the next run's build starts from the tables rolled back to
    assert "published snapshot changed" in open_build(layout, "next").reset_because
    assert build_total(root) == 30


def test_old_versions_go_as_jump_snapshots_kept_says(
    spark: object, lakehouse: tuple[Layout, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, root = lakehouse
    monkeypatch.setenv("JUMP_SNAPSHOTS_KEPT", "2")
    for index in range(1, 5):
        run(spark, layout, root, f"run-{index}", [index])
    kept = snapshots.snapshot_ids(layout)
    assert len(kept) == 2 and kept[-1] == snapshots.current_snapshot_id(layout)
    # a folder under snapshots/ that is not an intact snapshot is never removed
    foreign = layout.snapshots / "20000101T000000000000Z-handmade"
    (foreign / "tables" / "marts" / "turnover").mkdir(parents=True)
    run(spark, layout, root, "run-5", [5])
    assert foreign.is_dir() and len(snapshots.intact_snapshot_ids(layout)) == 2
    assert published(root) == (True, 5)


def test_a_publish_killed_before_the_rename_publishes_nothing_and_leaves_nothing(
    spark: object, lakehouse: tuple[Layout, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "first", [10, 20])
    first = snapshots.current_snapshot_id(layout)

    def killed(*args: object) -> None:
        raise KeyboardInterrupt("killed while linking the snapshot's tables")

    monkeypatch.setattr(SparkFolders, "copy_into", killed)
    with pytest.raises(KeyboardInterrupt):
        run(spark, layout, root, "second", [1, 2])
    monkeypatch.undo()
    assert published(root) == (True, 30) and snapshots.current_snapshot_id(layout) == first
    # the dead run's build is made again from the published tables; its half-snapshot is freed
    opened = open_build(layout, "next")
    assert opened.reset_because and "stopped before it finished" in opened.reset_because
    assert build_total(root) == 30
    assert [p.name for p in layout.snapshots.iterdir()] == [first]


def test_a_publish_killed_after_the_rename_is_whole(
    spark: object, lakehouse: tuple[Layout, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, root = lakehouse
    run(spark, layout, root, "first", [10, 20])

    rename = snapshots._replace_with_link

    def killed(path: Path, target: str, *args: object) -> None:
        rename(path, target, *args)
        if path == layout.current:
            raise KeyboardInterrupt("killed just after current was renamed")

    monkeypatch.setattr(snapshots, "_replace_with_link", killed)
    with pytest.raises(KeyboardInterrupt):
        run(spark, layout, root, "second", [1, 2])
    monkeypatch.undo()
    assert published(root) == (True, 3)
    second = snapshots.current_snapshot_id(layout)
    open_build(layout, "next")
    assert snapshots.current_snapshot_id(layout) == second and published(root) == (True, 3)


def test_make_query_opens_the_published_tables_and_the_build_on_request(
    spark: object, lakehouse: tuple[Layout, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, root = lakehouse
    monkeypatch.setenv("JUMP_DATA_DIR", str(root.parent))
    with pytest.raises(NoLakehouseError):
        engines.get("spark").query_shell("marts", build=False)
    run(spark, layout, root, "good", [10, 20])
    run(spark, layout, root, "bad", [1, 2], failure="blocking check sources/invoices/primary_key failed")

    def answer(build: bool) -> str:
        """What the shell prints for the mart, as `make query` opens it (LAKEHOUSE=build: `build`)."""
        shell = engines.get("spark").query_shell("marts", build=build)
        typed = ".mode list\n.headers off\nselect total from turnover;\n"
        done = subprocess.run(shell.command, input=typed, capture_output=True, text=True, check=True)
        return done.stdout.strip().splitlines()[-1]

    assert answer(build=False) == "30"
    assert answer(build=True) == "3"


def test_what_a_reset_or_a_publish_cannot_classify_is_kept(spark: object, lakehouse: tuple[Layout, Path]) -> None:
    """The reset of a failed build removes only the build's table folders, and the first link of
    `published` moves a folder already there aside: a hand-made folder and file among the build's
    tables, and a real `published` folder, are all still there after a failed run and the next."""
    layout, root = lakehouse
    run(spark, layout, root, "good", [10, 20])
    (root / PUBLISHED).unlink()
    (root / PUBLISHED / "marts").mkdir(parents=True)  # someone's own folder where the link was
    foreign_folder = root / "warehouse" / "marts.db" / "My Notes"
    foreign_folder.mkdir()
    foreign_file = root / "sources" / "readme.txt"
    foreign_file.write_text("kept")
    run(spark, layout, root, "bad", [1, 2, 3], failure="blocking check sources/invoices/primary_key failed")
    run(spark, layout, root, "next", [5, 6])  # resets the failed build, then publishes
    assert foreign_folder.is_dir() and foreign_file.read_text() == "kept"
    assert (root / f"{PUBLISHED}.before-publish" / "marts").is_dir()
    assert (root / PUBLISHED).is_symlink() and published(root) == (True, 11)
