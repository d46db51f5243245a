"""Demo extracts on disk: CSV and Parquet hold the generated tables, and files appear whole or not at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from jump_platform import settings
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.sources.assets import demo_extracts, load_sources
from jump_platform.files import write_table_atomically, write_tables_atomically
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.extracts import snapshot_path, write_demo_extracts
from jump_platform.sources.generator import GeneratorParams, generate_tables
from jump_platform.sql import qualified, quote_identifier

PARAMS = GeneratorParams(seed=42, as_of=dt.date(2026, 11, 21), scale=0.2)


def _read(path: Path, table: str) -> pl.DataFrame:
    schema = CONTRACTS[table].schema
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, schema_overrides=schema)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_extracts_hold_exactly_the_generated_tables(tmp_path: Path, fmt: str) -> None:
    expected = generate_tables(PARAMS)

    written = write_demo_extracts(PARAMS, tmp_path, fmt)

    for table, frame in expected.items():
        assert written[table] == frame.height
        assert_frame_equal(_read(tmp_path / snapshot_path(table, fmt), table), frame, check_dtypes=fmt == "parquet")


def test_a_new_snapshot_supersedes_the_one_waiting_in_the_other_format(tmp_path: Path) -> None:
    write_demo_extracts(PARAMS, tmp_path, "csv")
    write_demo_extracts(PARAMS, tmp_path, "parquet")

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*")) == sorted(
        snapshot_path(table, "parquet") for table in CONTRACTS
    )


def test_a_write_that_fails_midway_leaves_the_previous_files_and_no_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "app" / "users.csv"
    write_table_atomically(pl.DataFrame({"id": ["old"]}), path)

    def chunks() -> Iterator[tuple[str, pl.DataFrame]]:
        yield "users", pl.DataFrame({"id": ["new"]})
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_tables_atomically(chunks(), {"users": path, "clients": tmp_path / "app" / "clients.parquet"})

    assert path.read_text() == "id\nold\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["users.csv"]


def test_chunks_of_a_table_follow_one_another_under_one_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = write_table_atomically(iter([pl.DataFrame({"a": [1]}), pl.DataFrame({"a": [2, 3]})]), path)
    assert rows == 3
    assert path.read_text() == "a\n1\n2\n3\n"


def test_parquet_extracts_load_into_the_sources(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_EXTRACT_FORMAT", "parquet")
    monkeypatch.setenv("JUMP_SCALE", "0.05")
    instance = dg.DagsterInstance.ephemeral()

    dg.materialize([demo_extracts], instance=instance)
    assert (settings.landing_dir() / "app" / "invoices.parquet").is_file()
    result = dg.materialize([load_sources], resources=lakehouse_resources(), instance=instance)

    assert result.success
    expected = generate_tables(GeneratorParams(seed=42, as_of=dt.date(2026, 11, 21), scale=0.05))
    # The load writes the build (write-audit-publish); nothing here publishes it.
    with duckdb.connect(str(settings.build_duckdb_path()), read_only=True) as con:
        for table, frame in expected.items():
            loaded = con.sql(f"select {', '.join(map(quote_identifier, frame.columns))} from {qualified('sources', table)}").pl()
            assert_frame_equal(loaded, frame, check_row_order=False)


def test_an_unknown_extract_format_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_EXTRACT_FORMAT", "xlsx")
    with pytest.raises(ValueError, match="JUMP_EXTRACT_FORMAT: expected one of csv, parquet, found 'xlsx'"):
        settings.extract_format()
    with pytest.raises(ValueError, match="extract format must be one of csv, parquet"):
        write_demo_extracts(PARAMS, tmp_path, "xlsx")
