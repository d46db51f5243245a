"""The whole graph, from generated extracts to exports, on a temporary lakehouse."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from jump_platform import definitions
from jump_platform.defs.exports.assets import EXPORT_VIEWS, csv_exports
from jump_platform.defs.resources import lakehouse_resources
from jump_platform.defs.transform.assets import MONTHLY_TURNOVER, jump_dbt_models
from jump_platform.defs.transform.resources import dbt_resource
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sql import qualified
from jump_platform_tests.conftest import AS_OF

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
        [(rows, missing_metadata)] = _query(
            lakehouse, f"select count(*), count(*) - count(_batch_id) from {qualified('sources', table)}"
        )
        assert rows > 0 and missing_metadata == 0, table


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


# --- the turnover reconciliation: one dbt test, blocking, which every export waits for ----------------

RECONCILIATION = dg.AssetCheckKey(MONTHLY_TURNOVER, "assert_monthly_turnover_reconciles_with_invoices")


def test_every_export_waits_for_the_blocking_reconciliation_of_the_monthly_turnover() -> None:
    spec = jump_dbt_models.get_spec_for_check_key(RECONCILIATION)
    assert spec.blocking and spec.description
    # A blocking check holds back the assets downstream of its asset, in the same run.
    graph = defs.resolve_asset_graph()
    for name in EXPORT_VIEWS:
        assert MONTHLY_TURNOVER in graph.get(dg.AssetKey(["exports", name])).parent_keys, name


@pytest.mark.parametrize("breaks", [False, True])
def test_the_monthly_turnover_reconciles_with_the_invoices_or_no_export_is_written(
    lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, breaks: bool
) -> None:
    """The reconciliation test, run alone on a copy of the session's lakehouse, with the exports: it
    passes on what `refresh` built; a cent lost in one month fails it, names the month, and stops the
    exports."""
    data = tmp_path / "data"
    shutil.copytree(lakehouse, data)
    monkeypatch.setenv("JUMP_DATA_DIR", str(data))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", AS_OF.isoformat())
    build = data / "lakehouse" / "build" / "lakehouse.duckdb"  # a clean copy of the published file: runs go on from it
    with duckdb.connect(str(build)) as con:
        (month,) = con.execute("select max(month) from marts.kpi__monthly_turnover where amount > 0").fetchone()
        if breaks:
            con.execute("update marts.kpi__monthly_turnover set amount = amount - 0.01 where month = ?", [month])
    exports = [spec.key for spec in csv_exports.specs]

    result = dg.materialize(
        [jump_dbt_models, csv_exports],
        selection=dg.AssetSelection.checks(RECONCILIATION) | dg.AssetSelection.assets(*exports),
        resources={**lakehouse_resources(), "dbt": dbt_resource()},
        raise_on_error=False,
    )

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == (not breaks) and evaluation.blocking
    exported = {event.asset_key for event in result.get_asset_materialization_events()}
    assert exported == (set() if breaks else set(exports))
    if breaks:
        assert evaluation.metadata["offending_rows"].value == 1
        assert evaluation.metadata["sample_ids"].value == month.isoformat()


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
