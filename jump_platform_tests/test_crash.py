"""A run killed hard never blocks the next one; a run that waits says so and gives up in time.

See `jump_platform.runner.launcher`: a run holds the lakehouse by a file lock its process holds, and frees
what dead runs left in the Dagster instance (their STARTED status, their pool slots).
"""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from jump_platform.runner import launcher, processes
from jump_platform.runner.instance import write_local_instance
from jump_platform_tests.conftest import AS_OF

POOL = "lakehouse"
# Generous bounds so that a regression fails the test instead of hanging the suite.
RUN_TIMEOUT_SECONDS = 900
STEP_WAIT_SECONDS = 600


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster instance configured like `make run`'s (`make prepare` writes it)."""
    home = tmp_path / "dagster_home"
    write_local_instance(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _cli_env(home: Path, data: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "JUMP_DATA_DIR": str(data), "JUMP_AS_OF": AS_OF.isoformat()}
    env.pop("JUMP_DUCKDB_PATH", None)
    env.pop("JUMP_ANOMALIES", None)
    return {**env, "JUMP_SCALE": "0.2", **extra}


def _cli(job: str) -> list[str]:
    return [sys.executable, "-m", "jump_platform.runner.cli", "run", job]


def _wait_for_step_start(instance: dg.DagsterInstance, step_key: str, process: subprocess.Popen) -> str:
    """The run id of the run that started `step_key`, polled from the instance's event log."""
    deadline = time.monotonic() + STEP_WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before reaching the step"
        for run in instance.get_runs():
            starts = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
            if any(record.event_log_entry.step_key == step_key for record in starts):
                return run.run_id
        time.sleep(0.2)
    raise AssertionError(f"no STEP_START of {step_key} within {STEP_WAIT_SECONDS} s")


def _runs_holding(instance: dg.DagsterInstance, pool: str) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots}


@pytest.mark.slow
def test_a_run_killed_inside_the_dbt_build_does_not_block_the_next_run(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _cli_env(home, data)
    first = subprocess.Popen(
        _cli("refresh"), env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    instance = dg.DagsterInstance.get()
    try:
        killed_run = _wait_for_step_start(instance, "jump_dbt_models", first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the CLI and its dbt subprocess, like `kill -9 -- -$P`
        first.wait()
    # What the kill left behind: a run that says STARTED, holding the lakehouse pool slot.
    assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.STARTED
    assert _runs_holding(instance, POOL) == {killed_run}

    second = subprocess.run(_cli("refresh"), env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)

    assert second.returncode == 0, second.stdout + second.stderr
    assert "Job `refresh`: succeeded" in second.stdout
    assert f"run {killed_run} (refresh, pid {first.pid} on {socket.gethostname()}): its process is gone" in second.stderr
    assert "waiting for" not in second.stderr
    assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.FAILURE
    assert _runs_holding(instance, POOL) == set()


@pytest.mark.slow
def test_a_cli_run_waiting_for_the_lakehouse_says_so_and_gives_up_after_the_timeout(home: Path, data_dir: Path) -> None:
    env = _cli_env(home, data_dir, JUMP_LOCK_TIMEOUT="3")
    # This process holds the lakehouse the CLI below wants (data_dir points both at it).
    with launcher.lakehouse_turn(None, "the-holder", "refresh", say=print):
        waiting = subprocess.run(_cli("transform"), env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)

    assert waiting.returncode == 1
    assert f"waiting for run the-holder (refresh, pid {os.getpid()} on {socket.gethostname()}" in waiting.stderr
    assert "Gave up after 3 s (JUMP_LOCK_TIMEOUT=3) waiting for run the-holder" in waiting.stderr
    # It gave up before creating any run: nothing to clean up after it.
    assert dg.DagsterInstance.get().get_runs() == []


def test_the_lakehouse_is_free_again_once_its_holder_is_done(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_LOCK_TIMEOUT", "0")
    said: list[str] = []
    with (
        launcher.lakehouse_turn(None, "first", "load", say=said.append),
        pytest.raises(launcher.LakehouseBusyError, match=r"waiting for run first \(load"),
        launcher.lakehouse_turn(None, "second", "load", say=said.append),
    ):
        pass
    with launcher.lakehouse_turn(None, "third", "load", say=said.append):
        pass
    assert said == []  # a timeout of 0 gives up without waiting


# --- which runs are dead, and what they hold ------------------------------------------------


def _gone_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="refresh", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags))
    return run_id


def test_a_process_is_gone_when_it_exited_is_a_zombie_or_its_pid_was_reused() -> None:
    now = time.time()
    assert processes.process_state(processes.RunProcess(os.getpid(), None), now) is processes.ProcessState.ALIVE
    assert processes.process_state(processes.RunProcess(_gone_pid(), None), now) is processes.ProcessState.GONE
    zombie = subprocess.Popen(["true"])
    while processes._proc_stat(zombie.pid)[0] != "Z":
        time.sleep(0.05)
    assert processes.process_state(processes.RunProcess(zombie.pid, None), now) is processes.ProcessState.GONE
    zombie.wait()
    # This process started long after a run that began a day ago: its pid was reused.
    assert processes.process_state(processes.RunProcess(os.getpid(), None), now - 86400) is processes.ProcessState.GONE
    assert processes.process_state(processes.RunProcess(os.getpid(), "another-host"), now) is processes.ProcessState.UNKNOWN


def test_release_dead_runs_fails_the_dead_runs_frees_their_slots_and_leaves_the_others(home: Path) -> None:
    instance = dg.DagsterInstance.get()
    storage = instance.event_log_storage
    storage.set_concurrency_slots(POOL, 3)
    host = socket.gethostname()
    dead = _started_run(instance, {processes.PID_TAG: str(_gone_pid()), processes.HOST_TAG: host})
    alive = _started_run(instance, {processes.PID_TAG: str(os.getpid()), processes.HOST_TAG: host})
    elsewhere = _started_run(instance, {processes.PID_TAG: "1", processes.HOST_TAG: "another-host"})
    for run_id in (dead, alive, elsewhere):
        assert storage.claim_concurrency_slot(POOL, run_id, "load_sources").is_claimed

    released = processes.release_dead_runs(instance)

    assert len(released) == 1 and released[0].startswith(f"run {dead} (refresh, pid")
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED
    assert _runs_holding(instance, POOL) == {alive, elsewhere}


def test_run_monitoring_marks_failed_a_daemon_run_whose_worker_is_gone(home: Path) -> None:
    import logging

    instance = dg.DagsterInstance.get()
    assert isinstance(instance.run_launcher, launcher.JumpRunLauncher)
    dead = _started_run(instance, {processes.PID_TAG: str(_gone_pid()), processes.HOST_TAG: socket.gethostname()})
    alive = _started_run(instance, {processes.PID_TAG: str(os.getpid()), processes.HOST_TAG: socket.gethostname()})

    # What the daemon's monitoring loop does with each STARTED run (no resume: dagster.yaml).
    for run_id in (dead, alive):
        monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), logging.getLogger("test"))

    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED


# --- runs the daemon launches hold the lakehouse from their first step to their last ----------


def _lakehouse_is_held_by_this_run(context: dg.OpExecutionContext) -> None:
    with launcher.lock_path().open("a+") as handle:
        with pytest.raises(BlockingIOError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.seek(0)
        assert context.run_id in handle.read()


@dg.op
def first_step(context: dg.OpExecutionContext) -> int:
    _lakehouse_is_held_by_this_run(context)
    return 1


@dg.op
def last_step(context: dg.OpExecutionContext, upstream: int) -> None:
    _lakehouse_is_held_by_this_run(context)


@dg.job(executor_def=launcher.lakehouse_executor)
def probe_job() -> None:
    last_step(first_step())


def test_a_launched_run_holds_the_lakehouse_from_its_first_step_to_its_last(home: Path, data_dir: Path) -> None:
    instance = dg.DagsterInstance.get()
    with dg.execute_job(dg.reconstructable(probe_job), instance=instance) as result:
        assert result.success
        run = result.dagster_run
    tags = instance.get_run_by_id(run.run_id).tags
    assert tags[processes.PID_TAG] == str(os.getpid()) and tags[processes.HOST_TAG] == socket.gethostname()
    # Released at the end of the run.
    with launcher.lakehouse_turn(None, "next", "load", say=print):
        pass
