"""A newcomer's first hour (issue 21): what `make help`, `make load`, `make dev`, `make dashboard`,
the install, the end of a run and `make prepare` say and do on a fresh clone. The dashboard's own
items are tested in the browser in `test_dashboard.py`, `make sync`'s in `test_reverse_etl.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from jump_platform import settings
from jump_platform.dashboard.snapshot import MARTS
from jump_platform.dashboard.turnover_page import headline
from jump_platform.runner import cli
from jump_platform.runner.summary import RunSummary
from jump_platform_tests.conftest import AS_OF

ROOT = settings.PROJECT_ROOT


def make(*arguments: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`make` in the project, as a person types it; the timeout only guards the test session."""
    return subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- 1. the headline month ----------------------------------------------------------------------------


def months(*amounts: str, first: dt.date = dt.date(2026, 10, 1)) -> pl.DataFrame:
    dates = pl.date_range(first, first + dt.timedelta(days=31 * (len(amounts) - 1)), "1mo", eager=True)
    return pl.DataFrame({"month": dates, "amount": [float(a) for a in amounts]})


def test_a_month_in_progress_is_labelled_and_not_compared_with_the_whole_month_before() -> None:
    month = headline(months("300000", "57266.89"), as_of=dt.date(2026, 11, 7))
    assert month.label == "Turnover in 2026-11 so far (€)"
    assert month.amount == 57266.89
    assert month.delta is None
    assert "Month in progress: 1–7 November" in month.note


def test_a_whole_month_is_compared_with_the_month_before() -> None:
    # the as-of date is the month's last day: the month is whole
    month = headline(months("300000", "250000"), as_of=dt.date(2026, 11, 30))
    assert (month.label, month.delta, month.note) == ("Turnover in 2026-11 (€)", -50000.0, "")


# --- 2. make load with nothing to load --------------------------------------------------------------------


def test_make_load_with_an_empty_landing_zone_says_so_in_one_plain_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir.parent / "home"))
    (data_dir.parent / "home").mkdir()
    (data_dir / "sources").mkdir(parents=True)
    assert cli.main(["run", "load"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        (
            f"Nothing to load: the landing zone {data_dir / 'sources'} holds no file. "
            "`make extract` writes demo extracts there (`make run` extracts and loads them)."
        )
    ]
    assert err == ""
    assert not (data_dir / "lakehouse").exists()  # no run, no build


def test_a_stray_file_is_still_a_load_to_run(data_dir: Path) -> None:
    (data_dir / "sources").mkdir(parents=True)
    assert cli.landing_zone_empty()
    (data_dir / "sources" / "notes.txt").write_text("not an extract")
    assert not cli.landing_zone_empty()  # the load rejects it, saying why


# --- 3. a busy port -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("target", "variable"), [("dev", "PORT"), ("dashboard", "PORT")])
def test_a_busy_port_stops_the_server_at_once_naming_the_port_and_the_variable(
    target: str, variable: str, tmp_path: Path
) -> None:
    lakehouse = tmp_path / "data" / "lakehouse" / "lakehouse.duckdb"
    lakehouse.parent.mkdir(parents=True)
    lakehouse.touch()  # `make dashboard` looks for one first; the port is asked before it is read
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"JUMP_DATA_DIR": str(tmp_path / "data"), "JUMP_DUCKDB_PATH": str(lakehouse), "PORT": str(port)}
        result = make(target, env=env, timeout=300)
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"make {target} {variable}={port + 1}" in result.stderr
    assert "Serving" not in result.stdout + result.stderr  # neither the webserver nor the daemon started


# --- 4. exit codes through make ------------------------------------------------------------------------


@pytest.mark.slow
def test_exit_codes_through_make_are_as_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "Through `make`, every failure exits 2" in readme
    result = make("load", env={"JUMP_AS_OF": "2026-13-01"})
    assert result.returncode == 2
    assert "JUMP_AS_OF: expected an ISO date" in result.stderr
    assert re.search(r"\[Makefile:\d+: \S+\] Error 2", result.stderr)  # the runner's own status, in make's line


# --- 5. make dashboard on a fresh clone -----------------------------------------------------------------


@pytest.mark.slow
def test_make_dashboard_without_a_lakehouse_says_so_before_installing_anything(tmp_path: Path) -> None:
    venv, tools = tmp_path / ".venv", tmp_path / ".tools"
    env = {"JUMP_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    env.pop("JUMP_DUCKDB_PATH", None)
    result = subprocess.run(
        # PYTHON=false: an install, if one started, would fail at once
        ["make", "--no-print-directory", "dashboard", f"VENV={venv}", f"TOOLS={tools}", f"UV={tools}/bin/uv", "PYTHON=false"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "JUMP_DUCKDB_PATH"}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout.strip() == "No lakehouse published yet: run 'make run' first."
    assert not venv.exists() and not tools.exists()


# --- 6. a quiet install; every run ends with the as-of date and what to do next -----------------------


@pytest.mark.slow
def test_the_install_prints_one_progress_line(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    # uv's cache makes this a copy of the locked packages; bytecode is left uncompiled to keep it short
    result = make("install", f"VENV={venv}", "UV_COMPILE_BYTECODE=0")
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).splitlines() == [
        f"Installing the locked dependencies into {venv} (the first time: a few minutes, ~2 GB)..."
    ]
    assert (venv / "bin" / "dagster").exists()


def test_a_run_ends_with_its_as_of_date_and_the_next_commands() -> None:
    summary = RunSummary(materialized={"marts/kpi__nps": 1}, as_of=AS_OF)
    lines = summary.render("refresh", by_layer=True, next_commands=True).splitlines()
    assert f"As of:     {AS_OF:%Y-%m-%d} (the date the lakehouse describes; JUMP_AS_OF changes it)" in lines
    assert lines[-2].startswith("As of:")
    assert lines[-1].startswith("Next:")
    assert re.findall(r"make (\w+)", lines[-1]) == ["dev", "dashboard", "query"]


def test_the_run_pins_its_as_of_date_on_the_run(data_dir: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    summary = cli.run_job("extract", instance=instance)
    assert summary.ok
    [run] = instance.get_runs()
    assert run.tags["jump/as_of"] == AS_OF.isoformat() and summary.as_of == AS_OF


# --- 7. automation off in make dev ----------------------------------------------------------------------

DEFAULT_STATUSES = """
import json
from jump_platform.definitions import defs
d = defs()
print(json.dumps({
    **{s.name: s.default_status.value for s in d.sensors if s.name in ("landing_zone_sensor", "automation_condition_sensor")},
    **{s.name: s.default_status.value for s in d.schedules},
}))
"""


def default_statuses(env: dict[str, str]) -> dict[str, str]:
    """The default status of the sensors that launch runs and of the schedules, in a code location
    loaded with `env` (read when it loads, as `dg dev` loads it)."""
    base = {k: v for k, v in os.environ.items() if k not in ("JUMP_AUTOMATION", "JUMP_SCHEDULES")}
    out = subprocess.run(
        [sys.executable, "-c", DEFAULT_STATUSES], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.slow
def test_make_dev_starts_with_automation_off_and_one_switch_turns_it_on() -> None:
    dry = make("-n", "dev")
    assert "JUMP_AUTOMATION=off" in dry.stdout
    assert "JUMP_AUTOMATION=on" in make("-n", "dev", env={"JUMP_AUTOMATION": "on"}).stdout
    automation = ["automation_condition_sensor", "daily_refresh", "landing_zone_sensor", "monthly_invoices"]
    off = default_statuses({"JUMP_AUTOMATION": "off"})
    assert sorted(off) == automation
    assert set(off.values()) == {"STOPPED"}
    # deployments (the Docker image: no JUMP_AUTOMATION) keep everything on, the daily schedule too
    assert set(default_statuses({}).values()) == {"RUNNING"}


# --- 9. make help ----------------------------------------------------------------------------------------


def test_make_help_is_grouped_start_here_first_and_aligned() -> None:
    result = make("help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Start here:"
    start_here = lines[1 : lines.index("")]
    assert [line.split()[1] for line in start_here][:4] == ["run", "dev", "dashboard", "query"]
    targets = [line for line in lines if line.startswith("  make ")]
    # every description starts in the same column
    assert len({re.match(r"  make \S+\s+", line).end() for line in targets}) == 1
    assert "$(" not in result.stdout
    described = {line.split()[1]: line for line in targets}
    assert "PORT=" in described["dashboard"] and "PORT=" in described["dev"] and "PORT=" in described["docs"]
    assert "JUMP_POSTGRES_PORT" in described["postgres"]
    assert "JUMP_AUTOMATION=on" in described["dev"]


def test_port_moves_make_dashboard_too() -> None:
    result = make("-n", "dashboard", "PORT=8600")
    assert "jump_platform.runner.dashboard --refresh --port 8600" in result.stdout


# --- 10. the docs say what is true ---------------------------------------------------------------------


def test_the_dbt_docs_overview_says_the_sources_are_checked_by_dbt_as_they_are() -> None:
    manifest = json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    source_tests = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and any(d.startswith("source.") for d in node["depends_on"]["nodes"])
    ]
    assert source_tests  # dbt tests the source tables
    overview = (ROOT / "dbt_project" / "models" / "overview.md").read_text()
    [sources_row] = [line for line in overview.splitlines() if line.startswith("| sources |")]
    assert "not dbt" not in sources_row and "checked by dbt" in sources_row
    [dashboard] = [e for e in manifest["exposures"].values() if e["name"] == "jump_dashboard"]
    assert sorted(node.split(".")[-1] for node in dashboard["depends_on"]["nodes"]) == sorted(MARTS)


# --- make prepare parses as runs do ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_first_run_after_make_prepare_parses_the_project_partially(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jump_platform import engines
    from jump_platform.defs.transform.assets import dbt_build_args
    from jump_platform.defs.transform.resources import dbt_executable, dbt_invocation_env

    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path / "data"))  # a new data folder
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    prepared = tmp_path / "prepared"
    # what the Makefile's manifest rule runs
    recipe = make("-n", "-W", "dbt_project/dbt_project.yml", "dbt_project/target/manifest.json").stdout
    assert "-m jump_platform.runner.prepare" in recipe
    subprocess.run([sys.executable, "-m", "jump_platform.runner.prepare", "--target-path", str(prepared)], check=True, cwd=ROOT)
    # the run's own folder, seeded with that parse as dagster-dbt seeds it
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    shutil.copy(prepared / "partial_parse.msgpack", run_folder)
    threads = dbt_build_args()[dbt_build_args().index("--threads") + 1]
    # the environment a run gives its dbt invocation
    parsed = subprocess.run(
        [
            *(dbt_executable(), "parse", "--project-dir", str(settings.DBT_PROJECT_DIR)),
            *("--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target", engines.current().dbt_target),
            *("--target-path", str(run_folder), "--threads", threads),
        ],
        env={**os.environ, **dbt_invocation_env(settings.build_duckdb_path(), AS_OF)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Unable to do partial parsing" not in parsed.stdout
    perf = json.loads((run_folder / "perf_info.json").read_text())
    assert perf["is_partial_parse_enabled"] and perf["parsed_path_count"] == 0
