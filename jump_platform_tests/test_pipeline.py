"""The whole graph, from generated extracts to exports, on a temporary lakehouse."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform import definitions
from jump_platform.sources.contracts import CONTRACTS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ("sources", "staging", "intermediate", "marts")
# What Dagster loads from the defs folder (`dg check defs`, `dg dev`, the CLI).
defs = definitions.defs()


def _query(data: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "lakehouse" / "lakehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_the_definitions_load_with_every_job() -> None:
    repository = defs.get_repository_def()
    assert {"extract", "load", "transform", "export", "refresh"} <= {job.name for job in repository.get_all_jobs()}


def test_lineage_runs_from_each_source_table_to_staging_and_on_to_the_marts() -> None:
    graph = defs.resolve_asset_graph()
    for table in CONTRACTS:
        assert dg.AssetKey(["sources", table]) in graph.get(dg.AssetKey(["landing", table])).child_keys
        assert dg.AssetKey(["staging", table]) in graph.get(dg.AssetKey(["sources", table])).child_keys
    upstream_of_turnover = graph.upstream_key_iterator(dg.AssetKey(["marts", "kpi__monthly_turnover"]))
    assert dg.AssetKey(["sources", "app__invoices"]) in set(upstream_of_turnover)


def test_every_asset_has_a_description_a_group_and_kinds() -> None:
    for spec in defs.resolve_all_asset_specs():
        assert spec.description, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_refresh_builds_the_four_schemas_and_every_table(lakehouse: Path) -> None:
    tables = set(_query(lakehouse, "select table_schema, table_name from information_schema.tables"))
    assert {schema for schema, _ in tables} >= set(SCHEMAS)
    expected = {("sources", t) for t in CONTRACTS} | {("staging", t) for t in CONTRACTS}
    expected |= {("intermediate", t) for t in ("freelancers", "clients", "job_contracts", "invoices")}
    expected |= {("marts", "kpi__monthly_turnover")}
    assert expected <= tables


def test_sources_hold_the_generated_rows_with_their_load_metadata(lakehouse: Path) -> None:
    archived = {
        p.relative_to(lakehouse / "sources" / "_archive").parts[1:] for p in (lakehouse / "sources" / "_archive").rglob("*.csv")
    }
    assert archived == {(c.system, f"{c.name}.csv") for c in CONTRACTS.values()}
    for table in CONTRACTS:
        [(rows, missing_metadata)] = _query(lakehouse, f"select count(*), count(*) - count(_batch_id) from sources.{table}")
        assert rows > 0 and missing_metadata == 0, table


def test_monthly_turnover_adds_up_to_the_invoices(lakehouse: Path) -> None:
    [(mart_total, invoice_total)] = _query(
        lakehouse,
        "select (select sum(amount) from marts.kpi__monthly_turnover), (select sum(amount) from sources.app__invoices)",
    )
    assert mart_total == invoice_total


def test_the_auditor_export_is_written_with_a_header_and_two_decimals(lakehouse: Path) -> None:
    export = lakehouse / "exports" / "turnovers_by_cohort_for_auditor.csv"
    frame = pl.read_csv(export, infer_schema=False)
    assert frame.columns == ["last_name", "first_name", "cohort", "entity", "month", "turnover"]
    assert frame["turnover"].str.contains(r"^-?\d+\.\d{2}$").all()
    assert not list(export.parent.glob(".*.tmp"))


def test_every_source_table_must_be_refreshed_within_a_day() -> None:
    import datetime as dt

    for table in CONTRACTS:
        policy = (
            defs.resolve_assets_def(dg.AssetKey(["sources", table]))
            .specs_by_key[dg.AssetKey(["sources", table])]
            .freshness_policy
        )
        assert policy is not None and policy.fail_window.to_timedelta() == dt.timedelta(days=1), table


def test_every_export_waits_for_the_blocking_reconciliation_of_the_monthly_turnover() -> None:
    from jump_platform.defs.exports.assets import EXPORT_VIEWS
    from jump_platform.defs.transform.checks import MONTHLY_TURNOVER, monthly_turnover_reconciles_with_invoices

    (spec,) = monthly_turnover_reconciles_with_invoices.check_specs
    assert spec.blocking and spec.asset_key == MONTHLY_TURNOVER
    # A blocking check holds back the assets downstream of its asset, in the same run.
    graph = defs.resolve_asset_graph()
    for name in EXPORT_VIEWS:
        assert MONTHLY_TURNOVER in graph.get(dg.AssetKey(["exports", name])).parent_keys, name


@pytest.mark.slow
def test_dg_check_defs_and_dg_list_defs_load_the_project_as_dg_dev_does() -> None:
    venv = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(venv.parent)}

    def dg_cli(*args: str) -> str:
        done = subprocess.run([str(venv / "dg"), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "All definitions loaded successfully" in dg_cli("check", "defs")
    listed = dg_cli("list", "defs", "--json")
    assert '"lakehouse/published"' in listed and '"invoices_by_month"' in listed
