"""What `make run` prints: one line per step as it starts and ends, then the summary; the
libraries' output goes to log files the summary names; a rerun stays short and parses dbt partially."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from jump_platform.runner.instance import write_instance
from jump_platform.runner.progress import progress_logger
from jump_platform_tests.conftest import AS_OF

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STEP_LINE = re.compile(r"^  (?P<step>\S+)\s+(?P<verdict>ok|FAILED)\s+(?P<seconds>\d+\.\d) s(?:\s+(?P<rows>[\d,]+) rows)?$")


@dg.asset
def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    print("a library printing on stdout")
    return dg.MaterializeResult(metadata={"dagster/row_count": 1234})


@dg.asset(deps=[counted])
def warned(context: dg.AssetExecutionContext) -> None:
    context.log.info("an info line nobody needs at the terminal")
    context.log.warning("something a person should know\nwith details on a second line")


@dg.asset(deps=[warned])
def broken() -> None:
    raise RuntimeError("boom")


@dg.asset(deps=[broken])
def after_broken() -> None:
    pass


def _progress_of(*assets: dg.AssetsDefinition) -> list[str]:
    out = io.StringIO()
    job = dg.Definitions(assets=list(assets), jobs=[dg.define_asset_job("probe")]).resolve_job_def("probe")
    job.with_logger_defs({"progress": progress_logger(out)}).execute_in_process(
        run_config={"loggers": {"progress": {}}}, raise_on_error=False
    )
    return out.getvalue().splitlines()


def test_each_step_gets_one_line_with_its_outcome_time_and_rows_and_warnings_under_it() -> None:
    lines = _progress_of(counted, warned, broken, after_broken)

    steps = [STEP_LINE.match(line) for line in lines]
    assert [(m["step"], m["verdict"], m["rows"]) for m in steps if m] == [
        ("counted", "ok", "1,234"),
        ("warned", "ok", None),
        ("broken", "FAILED", None),
    ]
    # The warning's first line, under its step's line; no info line, no step's own printing.
    assert lines[2] == "    ! something a person should know"
    assert not any("info line" in line or "library printing" in line for line in lines)
    # Dagster's "Dependencies for step ... Not executing." comes once, as one line at the end.
    assert lines[-1] == "  not run, a step they need failed: after_broken"


@pytest.mark.slow
def test_a_rerun_of_make_run_is_short_shows_each_step_and_parses_dbt_partially(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make run`'s instance, as `make prepare` writes it (its event log on kept connections).
    monkeypatch.delenv("JUMP_DAGSTER_POSTGRES_URL", raising=False)
    write_instance(tmp_path / "dagster_home")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "JUMP_DATA_DIR": str(tmp_path / "data"),
        "JUMP_AS_OF": AS_OF.isoformat(),
        "JUMP_SCALE": "0.05",
    }
    for name in ("JUMP_DUCKDB_PATH", "JUMP_ANOMALIES", "JUMP_POSTGRES_URL", "JUMP_KPI_ENDPOINT_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "jump_platform.runner.cli", "run", "refresh"]
    first = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    dbt_log = Path(re.search(r"^dbt log:\s+(\S+)$", first.stdout, re.MULTILINE)[1])
    parsed_before = dbt_log.stat().st_size

    rerun = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lines = rerun.stdout.splitlines()
    assert len(lines) + len(rerun.stderr.splitlines()) <= 40, rerun.stdout + rerun.stderr
    # Its first line comes before anything is loaded; no library warning, no dbt line.
    assert lines[0] == "Job `refresh`: loading the definitions..."
    assert rerun.stderr == ""
    steps = {m["step"]: m for m in map(STEP_LINE.match, lines) if m}
    assert {"demo_extracts", "load_sources", "jump_dbt_models", "csv_exports", "lakehouse__published"} <= set(steps)
    assert all(m["verdict"] == "ok" for m in steps.values())
    assert int(steps["jump_dbt_models"]["rows"].replace(",", "")) > 0
    assert not any(" of " in line and ("PASS" in line or "START" in line) for line in lines)
    # The full output is in the logs the summary names: dbt's per-test lines in the run log...
    run_log = Path(re.search(r"^Run log:\s+(\S+)$", rerun.stdout, re.MULTILINE)[1])
    assert "PASS" in run_log.read_text()
    # ...and dbt's own log, where the rerun parsed the project partially.
    rerun_dbt_log = dbt_log.read_text(errors="replace")[parsed_before:]
    assert "Running with dbt" in rerun_dbt_log
    assert "Unable to do partial parsing" not in rerun_dbt_log
    # The instance holds every check result the summary counts, as the UI shows them.
    passed = int(re.search(r"^Checks: (\d+) passed, 0 failed$", rerun.stdout, re.MULTILINE)[1])
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        run = instance.get_runs(limit=1)[0]
        kinds = [entry.dagster_event.event_type for entry in instance.all_logs(run.run_id) if entry.dagster_event]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert kinds.count(dg.DagsterEventType.ASSET_CHECK_EVALUATION) == passed > 0
