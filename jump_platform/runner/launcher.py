"""Run housekeeping: one run at a time on the lakehouse, and no dead run left holding it.

DuckDB has one writer, and the checks, the dbt build and the exports of a run must judge the same
data. So a run takes **its turn on the lakehouse** (`lakehouse_turn`) before its first step and
keeps it until its last one: an exclusive `flock` on `<lakehouse>.lock`, taken by the process that
executes the run (the CLI of `make run`, or the run worker the daemon of `make dev` launched,
through `lakehouse_executor`). The kernel releases a `flock` when its process dies, whatever
killed it (`kill -9`, the OOM killer, a container stopped hard), so a crash can never leave the
lakehouse taken. A run that finds it taken says so at once ("waiting for run X to finish…"),
repeats it every minute, and gives up after `JUMP_LOCK_TIMEOUT` seconds with the name of the run
holding it.

Dagster's own bookkeeping does not survive a crash as well: the dead run stays STARTED, keeping
its place in the run queue (`max_concurrent_runs: 1`), and its `lakehouse` pool slot stays
claimed, so every later step of that pool would wait forever. Once a run holds the lakehouse it
calls `release_dead_runs` (`jump_platform/run_processes.py`): every run of the instance whose
process is gone is marked failed and its pool slots are freed. A run's process is known by the
`jump/pid` and `jump/host` tags (set by the CLI, and by `lakehouse_executor` in the run worker),
else by the pid of its RUN_START event.
The daemon does the same for the runs it launched between two runs of ours: `JumpRunLauncher`
gives run monitoring (instance/dagster.yaml) the run worker health check that Dagster's default launcher
lacks.

A process is "gone" when its pid no longer exists on this host, is a zombie, or belongs to a
process started after the run began (a pid reused after a reboot or a container restart). A run
of another host, or without any pid, cannot be checked: it is left alone, and named when we wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import dagster as dg

from jump_platform import engines, settings
from jump_platform.compat import CheckRunHealthResult, WorkerStatus
from jump_platform.lakehouse import housekeeping

# Re-exported: the instance configuration every instance starts from (see runner/instance.py).
from jump_platform.runner.instance import INSTANCE_YAML as INSTANCE_YAML
from jump_platform.runner.processes import ProcessState, release_dead_runs, run_state, this_process_tags

POLL_SECONDS = 1.0
REPEAT_WAITING_EVERY_SECONDS = 60.0


# --- one run at a time on the lakehouse -------------------------------------------------------


class LakehouseBusyError(Exception):
    """Raised when a run gave up waiting for the lakehouse (`JUMP_LOCK_TIMEOUT`)."""


def lock_path() -> Path:
    """`<lakehouse>.lock`, beside the DuckDB file (which it never touches)."""
    database = settings.duckdb_path()
    return database.with_name(database.name + ".lock")


class Turn(Protocol):
    """One lock a run holds for its whole length: taken without waiting or not at all, naming its
    holder to those who wait."""

    def try_acquire(self) -> bool: ...
    def write_holder(self, holder: dict[str, Any]) -> None: ...
    def holder(self) -> dict[str, Any] | None: ...
    def release(self) -> None: ...


class FileTurn:
    """An exclusive `flock` on a file of this host; the kernel frees it when its process dies."""

    def __init__(self, path: Path):
        self.path = path
        self._handle: IO[str] | None = None

    def __str__(self) -> str:
        return f"the lakehouse {settings.duckdb_path()}"

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def write_holder(self, holder: dict[str, Any]) -> None:
        assert self._handle is not None, "write_holder before try_acquire"
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(holder))
        self._handle.flush()

    def holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text() or "{}") or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def run_turns() -> list[Turn]:
    """What a run holds: the lock file beside the lakehouse on this host, and, where the lakehouse
    is a server's, the lock that server holds for every host (PostgreSQL's advisory lock)."""
    return [FileTurn(lock_path()), *engines.current().server_locks()]


def _describe(holder: dict[str, Any] | None) -> str:
    """Who holds the lakehouse, as written by its holder."""
    if not holder:
        return "another run"
    return (
        f"run {holder.get('run_id')} ({holder.get('job')}, pid {holder.get('pid')} on {holder.get('host')}, "
        f"since {holder.get('since')})"
    )


def _wait_for(turn: Turn, started: float, timeout: float, say: Callable[[str], None]) -> None:
    """Take `turn`, waiting while another run holds it (saying so at once, then every minute), up
    to `timeout` seconds since `started`."""
    said_at: float | None = None
    while not turn.try_acquire():
        waited = time.monotonic() - started
        if waited >= timeout:
            raise LakehouseBusyError(
                f"Gave up after {waited:.0f} s (JUMP_LOCK_TIMEOUT={timeout:g}) waiting for {_describe(turn.holder())} "
                f"to finish with {turn}. If that run is stuck, stop it "
                "(Terminate in the UI, or end its process); a killed run frees the lakehouse at once."
            )
        if said_at is None or time.monotonic() - said_at >= REPEAT_WAITING_EVERY_SECONDS:
            said_at = time.monotonic()
            say(
                f"waiting for {_describe(turn.holder())} to finish with {turn}… "
                f"({waited:.0f} s so far; gives up after JUMP_LOCK_TIMEOUT={timeout:g} s)"
            )
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def lakehouse_turn(
    instance: dg.DagsterInstance | None,
    run_id: str,
    job_name: str,
    say: Callable[[str], None],
    turns: list[Turn] | None = None,
) -> Iterator[None]:
    """Hold the lakehouse exclusively for one run (every lock of `run_turns()`, in order); wait
    for it, saying so, up to the timeout.

    Once held, the dead runs of `instance` are released (see `release_dead_runs`), each reported
    through `say`.
    """
    turns = run_turns() if turns is None else turns
    timeout = settings.lock_timeout()
    started = time.monotonic()
    held: list[Turn] = []
    try:
        for turn in turns:
            _wait_for(turn, started, timeout, say)
            held.append(turn)
        holder = {
            "run_id": run_id,
            "job": job_name,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        for turn in held:
            turn.write_holder(holder)
        if instance is not None:
            for line in release_dead_runs(instance, except_run_id=run_id):
                say(line)
        yield
    finally:
        for turn in reversed(held):
            turn.release()


@contextlib.contextmanager
def run_turn(instance: dg.DagsterInstance | None, run_id: str, job_name: str, say: Callable[[str], None]) -> Iterator[None]:
    """A run's turn on the lakehouse (`lakehouse_turn`), with its housekeeping: the last run's
    leftovers freed before the first step (a full disk must not fail this run before anything is
    freed), and the retention applied after the last (`lakehouse.housekeeping`)."""
    with lakehouse_turn(instance, run_id, job_name, say=say):
        layout = engines.current().layout()
        housekeeping.before_run(layout, say=say)
        yield
        housekeeping.after_run(layout, say=say)


class _LakehouseTurnExecutor(dg.Executor):
    """The in-process executor, inside the run's turn on the lakehouse (runs the daemon launched)."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        run = plan_context.dagster_run
        instance = plan_context.instance
        # Tag the run with the process executing it, so any later run can tell whether it is gone.
        instance.add_run_tags(run.run_id, this_process_tags())
        with run_turn(instance, run.run_id, run.job_name, say=plan_context.log.warning):
            yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(name="lakehouse_in_process", config_schema=dg.in_process_executor.config_schema)
def lakehouse_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Executes every step in the run's process, one after the other, holding the lakehouse from
    the first step to the last (see `lakehouse_turn`).

    `execute_in_process` ignores a job's executor: the CLI takes the same turn around it.
    """
    return _LakehouseTurnExecutor(dg.in_process_executor.executor_creation_fn(init_context))


class JumpRunLauncher(dg.DefaultRunLauncher):
    """Dagster's default run launcher, plus the run worker health check that run monitoring needs
    (instance/dagster.yaml): a STARTED run whose process is gone is reported failed by the daemon, which
    frees its place in the run queue, and then its pool slots (`free_slots_after_run_end_seconds`).
    A run whose process still runs, or cannot be checked (another host), is left alone."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        found = run_state(self._instance, run.run_id)
        if found is None or found[2] is not ProcessState.GONE:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run worker ({found[1].describe()}) is gone")
