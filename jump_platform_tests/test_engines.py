"""The same pipeline on DuckDB and PostgreSQL gives the same marts and exports; Spark's own
comparison, on a standalone cluster, is test_spark_cluster.py.

The `refresh` job runs once per engine (`JUMP_WAREHOUSE`), each in a process and a data folder of
its own, one after the other (see `engine_builds` for the data: one seed, one as-of date, extracts
holding every as-of case); then every mart and every export is compared as rows, amounts to the
cent. DuckDB's build is the reference, made once per test run and shared with the Spark module.
PostgreSQL is a database of a throwaway local cluster (`postgres_database`). A second delivery on
PostgreSQL, with a blocking anomaly, then publishes nothing: the published schemas and the exports
stay as they were.

The module takes a few minutes (a server, the pipeline twice), hence the `engines` and `slow`
markers.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pytest

from jump_platform.definitions import defs
from jump_platform.runner.summary import RunSummary
from jump_platform_tests.engine_builds import (
    Built,
    Marts,
    assert_same_exports,
    assert_same_lineage_and_every_check_passed,
    assert_same_marts,
    build_apart,
    duckdb_reference,
    exports,
    published_marts,
)

pytestmark = [pytest.mark.engines, pytest.mark.slow]


@dataclass
class Refused:
    """The PostgreSQL lakehouse after a delivery with a blocking anomaly."""

    summary: RunSummary
    marts: Marts
    exports: dict[str, bytes]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, postgres_database) -> tuple[dict[str, Built], Refused]:
    url = postgres_database("engines")
    data = tmp_path_factory.mktemp("engines") / "postgres" / "data"
    built = {"duckdb": duckdb_reference(tmp_path_factory)}
    summary = build_apart("postgres", data, url)
    assert summary.ok, summary.render("refresh on postgres")
    built["postgres"] = Built(summary, published_marts("postgres", data, url), exports(data))
    # The next delivery holds an invoice twice.
    summary = build_apart("postgres", data, url, anomalies="duplicate_ids")
    return built, Refused(summary, published_marts("postgres", data, url), exports(data))


def test_every_engine_builds_every_asset_and_passes_every_check(engines: tuple[dict[str, Built], Refused]) -> None:
    built, _ = engines
    assert_same_lineage_and_every_check_passed(built["postgres"].summary, built["duckdb"].summary, "postgres")


def test_the_extracts_hold_every_as_of_case(engines: tuple[dict[str, Built], Refused]) -> None:
    """What makes the comparisons worth something: the marts face every as-of case."""
    built, _ = engines
    warnings = {c["check"] for c in built["duckdb"].summary.checks if not c["passed"]}
    assert {"no_invoice_after_the_as_of_date", "no_job_contract_starts_after_the_as_of_date"} <= warnings
    marts = built["duckdb"].marts
    columns, rows = marts["dim_job_contracts"]
    assert any(row[columns.index("scheduled_end_date")] is not None for row in rows)
    columns, rows = marts["fct_invoices"]
    assert any(row[columns.index("is_after_as_of")] for row in rows)


def test_every_mart_has_the_same_rows_on_every_engine(engines: tuple[dict[str, Built], Refused]) -> None:
    built, _ = engines
    assert_same_marts(built["postgres"].marts, built["duckdb"].marts, "postgres")


def test_every_export_is_the_same_file_on_every_engine(engines: tuple[dict[str, Built], Refused]) -> None:
    built, _ = engines
    assert_same_exports(built["postgres"].exports, built["duckdb"].exports)


def test_a_blocking_anomaly_publishes_nothing_on_postgres(engines: tuple[dict[str, Built], Refused]) -> None:
    built, refused = engines
    summary = refused.summary
    assert not summary.ok and summary.published is None
    failed = [(c["asset"], c["check"]) for c in summary.blocking_failures]
    assert failed == [("sources/app__invoices", "primary_key_is_unique_and_not_null")]
    assert summary.blocking_failures[0]["offending_rows"] > 0 and summary.blocking_failures[0]["sample_ids"]
    # loaded into the build, then nothing that reads the invoices: no model, no export, no publish
    # (what does not read them went into the build, which the failed audit leaves unpublished)
    assert "sources/app__invoices" in summary.materialized
    invoices = dg.AssetSelection.assets(dg.AssetKey(["sources", "app__invoices"]))
    downstream = (invoices.downstream() - invoices).resolve(defs().resolve_asset_graph())
    assert not {key.to_user_string() for key in downstream} & set(summary.materialized)
    # readers of the published schemas see the last good lakehouse, whole
    assert refused.marts == built["postgres"].marts
    assert refused.exports == built["postgres"].exports
