"""The lakehouse IO manager writes each table in one transaction."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform.io_manager import APPEND, AtomicPolarsTypeHandler, LakehouseIOManager, TableBatches

ROWS = {"value": [1, 2]}


def _write(database: Path, frame: pl.DataFrame, write_mode: str = "replace") -> dg.ExecuteInProcessResult:
    @dg.asset(key_prefix=["sources"], name="things")
    def things() -> dg.Output[pl.DataFrame]:
        return dg.Output(frame, metadata={"write_mode": write_mode})

    return dg.materialize([things], resources={"io_manager": LakehouseIOManager(database=str(database))}, raise_on_error=False)


def _rows(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql("select * from sources.things order by all").fetchall()


def test_a_write_that_fails_midway_leaves_the_previous_table_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS)).success

    original = AtomicPolarsTypeHandler.handle_output

    def write_then_fail(self, context, table_slice, obj, connection):  # noqa: ANN001, ANN202
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


def test_an_append_keeps_the_rows_and_adds_new_columns(tmp_path: Path) -> None:
    database = tmp_path / "lake.duckdb"
    assert _write(database, pl.DataFrame(ROWS), APPEND).success
    result = _write(database, pl.DataFrame({"value": [3], "note": ["new"]}), APPEND)
    assert result.success
    assert _rows(database) == [(1, None), (2, None), (3, "new")]
    [materialization] = result.asset_materializations_for_node("sources__things")
    assert materialization.metadata["dagster/row_count"].value == 3
    assert materialization.metadata["rows_written"].value == 1


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
    assert _write_batches(database, iter([pl.DataFrame({"value": [3], "note": ["x"]})]), APPEND).success
    assert _rows(database) == [(1, None), (2, None), (3, "x")]
