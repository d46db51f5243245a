"""Shared fixtures: every test that writes gets its own data folder and lakehouse file."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

AS_OF = dt.date(2026, 11, 21)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the platform at a fresh data folder (landing zone, lakehouse, exports)."""
    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("JUMP_AS_OF", AS_OF.isoformat())
    monkeypatch.setenv("JUMP_SEED", "42")
    monkeypatch.delenv("JUMP_ANOMALIES", raising=False)
    monkeypatch.delenv("JUMP_SCALE", raising=False)
    return tmp_path / "data"


@pytest.fixture(scope="session")
def lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse built once per session by the `refresh` job from clean generated data.

    Tests read it (read-only connections); none writes to it.
    """
    from jump_platform.cli import run_job

    data = tmp_path_factory.mktemp("lakehouse") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMP_DATA_DIR", str(data))
        env.delenv("JUMP_DUCKDB_PATH", raising=False)
        env.setenv("JUMP_AS_OF", AS_OF.isoformat())
        env.setenv("JUMP_SEED", "42")
        env.delenv("JUMP_ANOMALIES", raising=False)
        env.delenv("JUMP_SCALE", raising=False)
        summary = run_job("refresh", instance=dg.DagsterInstance.ephemeral())
    assert summary.ok, summary.render("refresh")
    return data
