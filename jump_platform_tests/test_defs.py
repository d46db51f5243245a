"""A snapshot of the definitions: every asset (with its group, owners and kinds), asset check,
job, schedule and sensor of the code location, compared with `defs_snapshot.txt`.

An unintended change (an asset renamed by a dbt change, a check lost, a job gone) fails here and
shows in review. After an intended one, write the snapshot again and commit it with the change:

    JUMP_UPDATE_DEFS_SNAPSHOT=1 .venv/bin/pytest jump_platform_tests/test_defs.py
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from jump_platform.definitions import defs

SNAPSHOT = Path(__file__).with_name("defs_snapshot.txt")


def describe(definitions: dg.Definitions) -> list[str]:
    """One sorted line per definition, in public Dagster terms."""
    lines = []
    for spec in definitions.resolve_all_asset_specs():
        lines.append(
            f"asset {spec.key.to_user_string()}  group={spec.group_name}  owners={','.join(sorted(spec.owners))}"
            f"  kinds={','.join(sorted(spec.kinds))}"
        )
    for assets in definitions.assets or []:
        for check in getattr(assets, "check_specs", []):
            lines.append(f"check {check.asset_key.to_user_string()}:{check.name}  blocking={check.blocking}")
    for checks in definitions.asset_checks or []:
        for check in checks.check_specs:
            lines.append(f"check {check.asset_key.to_user_string()}:{check.name}  blocking={check.blocking}")
    for job in definitions.jobs or []:
        lines.append(f"job {job.name}")
    for schedule in definitions.schedules or []:
        lines.append(f"schedule {schedule.name}  cron={schedule.cron_schedule}  job={schedule.job_name}")
    for sensor in definitions.sensors or []:
        lines.append(f"sensor {sensor.name}")
    return sorted(set(lines))


def test_the_definitions_are_those_of_the_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The defaults (the engine is DuckDB, see conftest): the producer and the engine pick jobs and kinds.
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUMP_PRODUCER", raising=False)
    found = describe(defs())
    if os.environ.get("JUMP_UPDATE_DEFS_SNAPSHOT"):
        SNAPSHOT.write_text("\n".join(found) + "\n", encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    diff = "\n".join(difflib.unified_diff(expected, found, "defs_snapshot.txt", "the definitions now", lineterm=""))
    assert found == expected, (
        f"The definitions changed:\n{diff}\n"
        "If intended: JUMP_UPDATE_DEFS_SNAPSHOT=1 .venv/bin/pytest jump_platform_tests/test_defs.py, and commit the file."
    )


# What only some runs need: ADBC's PostgreSQL driver (which loads pyarrow.dataset and pandas) when the
# engine is PostgreSQL, dlt when a sync runs. Every run loads the definitions before its first event.
NOT_AT_LOAD = ("adbc_driver_postgresql", "pandas", "dlt")


def test_loading_the_definitions_on_duckdb_imports_neither_the_postgres_driver_nor_dlt(tmp_path: Path) -> None:
    # A fresh interpreter (this one has imported them for other tests), on the default engine (conftest).
    code = (
        "import sys\n"
        "from jump_platform.definitions import defs\n"
        "defs()\n"
        f"print(' '.join(name for name in {NOT_AT_LOAD!r} if name in sys.modules))\n"
    )
    env = {**os.environ, "JUMP_DATA_DIR": str(tmp_path / "data")}
    loaded = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == [], f"Loading the definitions imported {loaded.stdout.strip()}"
