"""Exports: DuckDB streams a query's result into a CSV a spreadsheet reads, in the query's order."""

from pathlib import Path

import duckdb
import pytest

from jump_platform.exports import export_csv


def test_amounts_have_exactly_two_decimals_and_rows_keep_the_query_order(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "report.csv"
    query = """
        select * from (values ('b', 1.236::double, 2.5::decimal(18, 4), 'x,y'), ('a', 3::double, null, ''))
            as t("name", "float amount", "decimal amount", note)
        order by "name" desc  -- a trailing comment
    """
    with duckdb.connect() as con:
        rows = export_csv(con, query, path)

    assert rows == 2
    assert path.read_text() == 'name,float amount,decimal amount,note\nb,1.24,2.50,"x,y"\na,3.00,,""\n'
    assert [p.name for p in path.parent.iterdir()] == ["report.csv"]


def test_a_failing_query_leaves_the_previous_export_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("a\n1\n")
    with duckdb.connect() as con, pytest.raises(duckdb.Error):
        export_csv(con, "select 1 / 0 as a where error('broken')", path)

    assert path.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
