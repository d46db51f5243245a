"""The dbt tests on the sources, run directly on small hand-made tables.

dbt compiles the tests on the sources once per as-of date (`dbt compile --select source:sources`,
against an in-memory DuckDB, whose catalog is `memory` as for any `duckdb.connect()`); a test then
runs each compiled query on its own in-memory lakehouse, as dbt does (the failures it counts are
the test's `fail_calc` over the query's rows), and reads the sample the Dagster check would show
(`jump_platform.failed_rows`). A compile takes a few seconds; running the queries, milliseconds.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from jump_platform import settings
from jump_platform.failed_rows import FailedRows, sample_failed_rows


@dataclass(frozen=True)
class SourceTest:
    """A compiled dbt test on a source table."""

    table: str
    name: str
    severity: str
    fail_calc: str
    sql: str

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class Verdict:
    failures: int
    sample: FailedRows

    @property
    def passed(self) -> bool:
        return self.failures == 0

    @property
    def sample_ids(self) -> list[str]:
        return self.sample.sample_ids

    def column(self, name: str) -> list[object]:
        """A column of the sampled rows."""
        index = self.sample.columns.index(name)
        return [row[index] for row in self.sample.rows]


@functools.cache
def _workdir() -> Path:
    # One target folder for every compile of the session: the later ones parse partially.
    return Path(tempfile.mkdtemp(prefix="jump-source-tests-"))


@functools.cache
def compiled_source_tests(as_of: date) -> dict[str, SourceTest]:
    """The tests on the sources, compiled for `as_of`, by `<table>.<test name>`."""
    workdir = _workdir()
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "JUMP_BUILD_DUCKDB_PATH": ":memory:", "JUMP_AS_OF": as_of.isoformat()}
    result = subprocess.run(
        [
            str(dbt),
            "compile",
            "--select",
            "source:sources",
            "--project-dir",
            str(settings.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(settings.DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"dbt compile failed:\n{result.stdout[-5000:]}{result.stderr[-2000:]}"
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    run_results = json.loads((workdir / "target" / "run_results.json").read_text())
    tests = {}
    for result in run_results["results"]:
        node = manifest["nodes"][result["unique_id"]]
        (parent,) = node["depends_on"]["nodes"]
        test = SourceTest(
            table=manifest["sources"][parent]["name"],
            name=node["name"],
            severity=node["config"]["severity"].lower(),
            fail_calc=node["config"]["fail_calc"],
            sql=result["compiled_code"],
        )
        tests[test.key] = test
    return tests


def run_test(con: duckdb.DuckDBPyConnection, test: SourceTest) -> Verdict:
    """What dbt finds running `test` on `con`, and the sample the check shows."""
    (failures,) = con.execute(f"select {test.fail_calc} from (\n{test.sql}\n) as dbt_internal_test").fetchone()
    return Verdict(failures=int(failures or 0), sample=sample_failed_rows(lambda sql: con.sql(sql).pl(), test.sql))


def judge(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Verdict]:
    """Every test on the sources, on the `sources` schema of `con`, by `<table>.<test name>`."""
    return {key: run_test(con, test) for key, test in compiled_source_tests(as_of).items()}


def failing(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Verdict]:
    return {key: verdict for key, verdict in judge(con, as_of).items() if not verdict.passed}
