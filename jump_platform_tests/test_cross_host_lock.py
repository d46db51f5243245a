"""One run at a time on a PostgreSQL lakehouse across hosts: two data folders (two "hosts", each
with its own lock file) on one PostgreSQL warehouse still exclude each other, through the
server's advisory lock; a holder killed with SIGKILL frees it at once (see
`jump_platform.warehouses.postgres_lock`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from jump_platform.runner import launcher

pytestmark = pytest.mark.slow

HOLD = textwrap.dedent(
    """
    import sys, time
    from jump_platform.runner import launcher
    with launcher.lakehouse_turn(None, "run-on-host-a", "refresh", say=print):
        print("held", flush=True)
        time.sleep(float(sys.argv[1]))
    print("released", flush=True)
    """
)


@pytest.fixture
def warehouse(postgres_database: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Host B's settings (this process); host A's differ only by their data folder."""
    url = postgres_database("cross_host_lock")
    environment = {"JUMP_WAREHOUSE": "postgres", "JUMP_POSTGRES_URL": url}
    for name, value in {**environment, "JUMP_DATA_DIR": str(tmp_path / "host_b")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    return {**os.environ, **environment, "JUMP_DATA_DIR": str(tmp_path / "host_a")}


def hold_on_host_a(environment: dict, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(seconds)], env=environment, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_run_on_another_host_is_named_and_waited_for(warehouse: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = hold_on_host_a(warehouse, seconds=4)
    try:
        # the two hosts' lock files differ: only the server's lock can make B wait
        assert launcher.lock_path() != Path(warehouse["JUMP_DATA_DIR"]) / "lakehouse" / "lakehouse.duckdb.lock"
        monkeypatch.setenv("JUMP_LOCK_TIMEOUT", "0")
        refused = pytest.raises(launcher.LakehouseBusyError, match=r"run run-on-host-a \(refresh, pid \d+ on .+, since ")
        with refused as busy, launcher.lakehouse_turn(None, "run-on-host-b", "refresh", say=print):
            pass
        assert "the PostgreSQL lakehouse" in str(busy.value)

        monkeypatch.setenv("JUMP_LOCK_TIMEOUT", "120")
        said: list[str] = []
        with launcher.lakehouse_turn(None, "run-on-host-b", "refresh", say=said.append):
            # host A let go (its `with` ended) before host B got in
            assert holder.stdout.readline().strip() == "released"
        assert said and said[0].startswith("waiting for run run-on-host-a (refresh")
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_killed_with_sigkill_frees_the_lakehouse_at_once(warehouse: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = hold_on_host_a(warehouse, seconds=600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    monkeypatch.setenv("JUMP_LOCK_TIMEOUT", "0")
    with launcher.lakehouse_turn(None, "run-on-host-b", "refresh", say=print):
        pass
