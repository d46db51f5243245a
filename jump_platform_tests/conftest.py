"""Shared fixtures: every test that writes gets its own data folder and lakehouse file."""

import datetime as dt
from pathlib import Path

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
