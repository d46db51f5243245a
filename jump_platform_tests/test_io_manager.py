"""The lakehouse IO manager writes each table in one transaction."""

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform.io_manager import (
    APPEND,
    AtomicDuckDbClient,
    AtomicPolarsTypeHandler,
    FileScan,
    LakehouseIOManager,
    TableBatches,
    TableParts,
)

ROWS = {"value": [1, 2]}


def _write(database: Path, frame: pl.DataFrame, write_mode: str = "replace") -> dg.ExecuteInProcessResult:
    @dg.asset(key_prefix=["sources"], name="things")
    def things() -> dg.Output[pl.DataFrame]:
        return dg.Output(frame, metadata={"write_mode": write_mode})

    return dg.materialize([things], resources={"io_manager": LakehouseIOManager(database=str(database))}, raise_on_error=False)


def _rows(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql("select * from sources.things order by all").fetchall()


def test_a_write_that_fails_midway_leaves_the_previous_table_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS)).success

    original = AtomicPolarsTypeHandler.handle_output

    def write_then_fail(self, context, table_slice, obj, connection):
        original(self, context, table_slice, obj, connection)
        raise OSError("disk full")

    monkeypatch.setattr(AtomicPolarsTypeHandler, "handle_output", write_then_fail)
    assert not _write(database, pl.DataFrame({"value": [9, 9, 9]})).success
    assert _rows(database) == [(1,), (2,)]


def test_a_replacement_may_change_the_columns(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS)).success
    assert _write(database, pl.DataFrame({"value": [3], "note": ["new"]})).success
    assert _rows(database) == [(3, "new")]


def test_an_append_keeps_the_rows(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS), APPEND).success
    result = _write(database, pl.DataFrame({"value": [3]}), APPEND)
    assert result.success
    assert _rows(database) == [(1,), (2,), (3,)]
    [materialization] = result.asset_materializations_for_node("sources__things")
    assert materialization.metadata["dagster/row_count"].value == 3
    assert materialization.metadata["rows_written"].value == 1


def _columns(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [row[0] for row in con.sql("describe sources.things").fetchall()]


def test_an_append_never_adds_a_column_and_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS), APPEND).success
    result = _write(database, pl.DataFrame({"value": [3], "note": ["new"]}), APPEND)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "an append cannot add column(s) 'note'; the table has value" in str(failure.step_failure_data.error)
    assert _columns(database) == ["value"]
    assert _rows(database) == [(1,), (2,)]


def _write_batches(database: Path, batches: Iterator[pl.DataFrame], write_mode: str = "replace") -> dg.ExecuteInProcessResult:
    @dg.asset(key_prefix=["sources"], name="things")
    def things() -> dg.Output[TableBatches]:
        return dg.Output(TableBatches(batches), metadata={"write_mode": write_mode})

    return dg.materialize([things], resources={"io_manager": LakehouseIOManager(database=str(database))}, raise_on_error=False)


def test_batches_failing_midway_leave_the_previous_table_and_no_scratch_table(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS)).success

    def batches() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame({"value": [7]})
        yield pl.DataFrame({"value": [8]})
        raise ValueError("line 3: bad value")

    assert not _write_batches(database, batches()).success
    assert _rows(database) == [(1,), (2,)]
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.sql("select count(*) from information_schema.tables where table_schema = '_loading'").fetchone()[0] == 0


def test_batches_replace_or_append_like_a_single_frame(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write_batches(database, iter([pl.DataFrame({"value": [1]}), pl.DataFrame({"value": [2]})])).success
    assert _rows(database) == [(1,), (2,)]
    assert _write_batches(database, iter([pl.DataFrame({"value": [3]})]), APPEND).success
    assert _rows(database) == [(1,), (2,), (3,)]
    assert not _write_batches(database, iter([pl.DataFrame({"value": [4], "note": ["x"]})]), APPEND).success
    assert _columns(database) == ["value"]
    assert _rows(database) == [(1,), (2,), (3,)]


# Column names an attacker could put in a delivered file's header: each tries to close the quoted
# identifier and run its own statement.
HOSTILE_NAMES = [
    'x" varchar; commit; drop table sources.things; begin; --',
    "x'; drop table sources.things; --",
    "a\"\n; copy sources.things to '/tmp/stolen.csv'; --",
    "line\nbreak; -- comment",
    "x\"; attach '/tmp/evil.duckdb' as evil; --\"",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_column_name_runs_no_sql_and_changes_no_table(tmp_path: Path, name: str) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS), APPEND).success
    # An append may not add it; the table keeps its one column and its rows.
    assert not _write(database, pl.DataFrame({"value": [3], name: ["boom"]}), APPEND).success
    assert _columns(database) == ["value"] and _rows(database) == [(1,), (2,)]
    # A replacement takes it as one plain column name, quoted; nothing else runs.
    assert _write(database, pl.DataFrame({"value": [3], name: ["boom"]})).success
    assert _columns(database) == ["value", name]
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.sql("select schema_name, table_name from duckdb_tables() order by all").fetchall()
    assert tables == [("sources", "things")]
    assert [p.name for p in tmp_path.iterdir()] == ["lake.duckdb"]


def test_the_writing_connection_can_neither_read_nor_write_files(tmp_path: Path) -> None:
    """Even SQL that slipped through could not reach a file outside the readable directory (the
    landing zone), nor write one, nor unlock the configuration; the data, which arrives as Arrow,
    is still written, and a delivery in the landing zone can be read."""
    database, outside = tmp_path / "lake.duckdb", tmp_path / "outside.csv"
    outside.write_text("secret\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "delivery.csv").write_text("id\n1\n")
    assert _write(database, pl.DataFrame(ROWS)).success  # through the same locked-down connection
    context = SimpleNamespace(resource_config={"database": str(database), "connection_config": {"memory_limit": "1GB"}})
    attempts = [
        f"select * from read_csv('{outside}')",
        f"copy (select 1) to '{tmp_path / 'stolen.csv'}'",
        f"attach '{tmp_path / 'other.duckdb'}' as other",
        "set enable_external_access = true",
        "set lock_configuration = false",
    ]
    with AtomicDuckDbClient([landing]).connect(context, None) as connection:
        assert connection.execute("select * from read_csv(?)", [str(landing / "delivery.csv")]).fetchall() == [(1,)]
        for sql in attempts:
            with pytest.raises(duckdb.Error, match=r"disabled by config|configuration has been locked"):
                connection.execute(sql)
            connection.rollback()  # the failed statement aborted the client's transaction
            connection.begin()
        assert connection.sql("select count(*) from sources.things").fetchone() == (2,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake.duckdb", "landing", "outside.csv"]


def _write_parts(database: Path, readable: Path, parts: list, write_mode: str = "replace") -> dg.ExecuteInProcessResult:
    @dg.asset(key_prefix=["sources"], name="things")
    def things() -> dg.Output[TableParts]:
        return dg.Output(TableParts(parts), metadata={"write_mode": write_mode})

    manager = LakehouseIOManager(database=str(database), readable_directories=[str(readable)])
    return dg.materialize([things], resources={"io_manager": manager}, raise_on_error=False)


def test_duckdb_reads_files_of_the_readable_directory_straight_into_the_table(tmp_path: Path) -> None:
    database, landing = tmp_path / "lake.duckdb", tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_text("value\n5\n6\n")
    scan = FileScan("select cast(value as integer) as value from read_csv(?, header = true)", [str(landing / "a.csv")])

    result = _write_parts(database, landing, [scan, [pl.DataFrame({"value": [7]}, schema={"value": pl.Int32})]])

    assert result.success
    assert _rows(database) == [(5,), (6,), (7,)]
    [materialization] = result.asset_materializations_for_node("sources__things")
    assert materialization.metadata["rows_written"].value == 3


def test_a_file_outside_the_readable_directory_is_refused_and_the_table_stays(tmp_path: Path) -> None:
    database, landing, outside = tmp_path / "lake.duckdb", tmp_path / "landing", tmp_path / "outside.csv"
    landing.mkdir()
    outside.write_text("value\n9\n")
    assert _write(database, pl.DataFrame(ROWS)).success

    result = _write_parts(database, landing, [FileScan("select * from read_csv(?, header = true)", [str(outside)])])

    assert not result.success
    assert _rows(database) == [(1,), (2,)]
