"""The same pipeline on DuckDB, PostgreSQL and Spark gives the same marts and exports.

One seed and one as-of date, a small scale: the `refresh` job runs once per engine
(`JUMP_WAREHOUSE`), each in its own data folder, and every mart and every export is compared as
rows, amounts to the cent. PostgreSQL is a throwaway local cluster (`postgres_server`), Spark runs
in `local[2]`: the module takes a few minutes, hence the `engines` and `slow` markers.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import polars.selectors as cs
import pytest

from jump_platform.cli import run_job
from jump_platform.defs.transform.resources import dbt_project
from jump_platform.warehouses.duckdb import DuckDBWarehouse
from jump_platform.warehouses.postgres import PostgresWarehouse
from jump_platform.warehouses.spark import run_in_spark
from jump_platform_tests.conftest import AS_OF

pytestmark = [pytest.mark.engines, pytest.mark.slow]

ENGINES = ("duckdb", "postgres", "spark")
SCALE = "0.2"  # 200 freelancers, about 1,000 invoices


def mart_names() -> list[str]:
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def comparable(frame: pl.DataFrame) -> list[tuple]:
    """A table's rows in an order and a form every engine shares: amounts as decimals to the
    cent, integers as 64-bit, timestamps in UTC, rows sorted."""
    frame = frame.with_columns(
        cs.float().round(2).cast(pl.Decimal(38, 2)),
        cs.decimal().cast(pl.Decimal(38, 2)),
        cs.integer().cast(pl.Int64),
        cs.datetime(time_zone="*").dt.convert_time_zone("UTC").dt.replace_time_zone(None),
    )
    return sorted(frame.rows(), key=lambda row: tuple((value is None, str(value)) for value in row))


def build(engine: str, root: Path, postgres_url: str) -> dict[str, object]:
    """Run `refresh` on one engine; return its marts (columns and rows) and its exports' rows."""
    data = root / engine / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMP_WAREHOUSE", engine)
        env.setenv("JUMP_DATA_DIR", str(data))
        env.delenv("JUMP_DUCKDB_PATH", raising=False)
        env.setenv("JUMP_POSTGRES_URL", postgres_url)
        env.setenv("JUMP_AS_OF", AS_OF.isoformat())
        env.setenv("JUMP_SEED", "42")
        env.setenv("JUMP_SCALE", SCALE)
        env.delenv("JUMP_ANOMALIES", raising=False)
        summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())
    assert summary.ok, summary.render("refresh")
    queries = [f"select * from marts.{name}" for name in mart_names()]
    if engine == "duckdb":
        warehouse = DuckDBWarehouse(database=str(data / "lakehouse" / "lakehouse.duckdb"))
        frames = [warehouse.query(sql) for sql in queries]
    elif engine == "postgres":
        frames = [PostgresWarehouse(url=postgres_url).query(sql) for sql in queries]
    else:
        frames = run_in_spark(data / "spark", queries)  # one Spark session for every mart
    exports = {path.name: pl.read_csv(path, infer_schema=False) for path in sorted((data / "exports").glob("*.csv"))}
    return {
        "marts": {name: (frame.columns, comparable(frame)) for name, frame in zip(mart_names(), frames, strict=True)},
        "exports": {name: (frame.columns, comparable(frame)) for name, frame in exports.items()},
        "summary": summary,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, postgres_server: str) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("engines")
    return {engine: build(engine, root, postgres_server) for engine in ENGINES}


def test_every_engine_builds_every_asset_and_passes_every_check(built: dict[str, dict]) -> None:
    duckdb_summary = built["duckdb"]["summary"]
    assert duckdb_summary.materialized and duckdb_summary.checks
    for engine in ENGINES[1:]:
        summary = built[engine]["summary"]
        # the same lineage: the same assets materialized, the same checks run, all passed
        assert sorted(summary.materialized) == sorted(duckdb_summary.materialized), engine
        assert {(c["asset"], c["check"]) for c in summary.checks} == {(c["asset"], c["check"]) for c in duckdb_summary.checks}
        assert all(c["passed"] for c in summary.checks), engine


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_every_mart_has_the_same_rows_on_every_engine(built: dict[str, dict], engine: str) -> None:
    expected = built["duckdb"]["marts"]
    assert sorted(built[engine]["marts"]) == sorted(expected) == mart_names()
    for name, (columns, rows) in expected.items():
        assert rows, f"marts.{name} is empty: the comparison would prove nothing"
        other_columns, other_rows = built[engine]["marts"][name]
        assert other_columns == columns, f"marts.{name} on {engine}"
        assert other_rows == rows, f"marts.{name} on {engine}: {len(other_rows)} rows, {len(rows)} on duckdb"


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_every_export_has_the_same_rows_on_every_engine(built: dict[str, dict], engine: str) -> None:
    expected = built["duckdb"]["exports"]
    assert expected, "no export was written"
    assert built[engine]["exports"] == expected


def test_a_blocking_anomaly_stops_the_marts_on_postgres_too(built: dict[str, dict], postgres_server: str, tmp_path: Path) -> None:
    # The module built the marts on this database: the last good run. Now a delivery with
    # duplicated invoice ids arrives.
    marts_before = {name: comparable(PostgresWarehouse(url=postgres_server).query(f"select * from marts.{name}")) for name in mart_names()}
    assert {name: rows for name, rows in marts_before.items()} == {name: rows for name, (_, rows) in built["postgres"]["marts"].items()}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMP_WAREHOUSE", "postgres")
        env.setenv("JUMP_DATA_DIR", str(tmp_path / "data"))
        env.setenv("JUMP_POSTGRES_URL", postgres_server)
        env.setenv("JUMP_AS_OF", AS_OF.isoformat())
        env.setenv("JUMP_SEED", "42")
        env.setenv("JUMP_SCALE", SCALE)
        env.setenv("JUMP_ANOMALIES", "duplicate_ids")
        summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())
    assert not summary.ok
    assert [(c["asset"], c["check"]) for c in summary.blocking_failures] == [
        ("sources/app__invoices", "primary_key_is_unique_and_not_null")
    ]
    failure = summary.blocking_failures[0]
    assert failure["offending_rows"] > 0 and failure["sample_ids"]
    assert "sources/app__invoices" in summary.materialized
    assert not [key for key in summary.materialized if key.split("/")[0] in ("staging", "intermediate", "marts", "exports")]
    marts_after = {name: comparable(PostgresWarehouse(url=postgres_server).query(f"select * from marts.{name}")) for name in mart_names()}
    assert marts_after == marts_before
