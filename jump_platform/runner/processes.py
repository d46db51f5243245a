"""Which process executes a run, whether it is gone, and what a dead run is made to release.

A run's process is known by the `jump/pid` and `jump/host` tags (set by the CLI, and by the
lakehouse executor in the run worker), else by the pid of its RUN_START event. A process is "gone"
when its pid no longer exists on this host, is a zombie, or belongs to a process started after the
run began (a pid reused after a reboot or a container restart). A run of another host, or without
any pid, cannot be checked: it is left alone.

`release_dead_runs` marks failed every unfinished run whose process is gone and frees the pool
slots of runs that are gone or finished: Dagster's own bookkeeping keeps a killed run STARTED, with
its place in the run queue and its `lakehouse` pool slot (see `jump_platform.runner.launcher`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import dagster as dg

PID_TAG = "jump/pid"
HOST_TAG = "jump/host"

# /proc start times are rounded to the second (boot time) and to a clock tick.
START_TIME_SLACK_SECONDS = 2.0

# Runs whose process could still be running, or could still hold a pool slot.
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class ProcessState(Enum):
    ALIVE = "alive"
    GONE = "gone"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RunProcess:
    """The process that executes a run: `host` None means this host (a run worker the daemon of
    this machine launched through its local code server, see workspace.yaml)."""

    pid: int
    host: str | None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host or socket.gethostname()}"


def this_process_tags() -> dict[str, str]:
    """The tags that tell which process executes a run: given to every run of the CLI."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


# --- is a process gone? -----------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """(state letter, start time as a Unix timestamp) of a Linux process, None without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_time = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime ")
        )
    except (OSError, StopIteration):
        return None
    # Fields after the command name (which may hold spaces and parentheses): state is field 3,
    # starttime (clock ticks since boot) field 22.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], boot_time + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def process_state(process: RunProcess, run_began_at: float) -> ProcessState:
    """Whether the process of a run that began at `run_began_at` (Unix time) still runs here."""
    if process.host is not None and process.host != socket.gethostname():
        return ProcessState.UNKNOWN
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return ProcessState.GONE
    except PermissionError:
        pass  # it exists, under another user
    stat = _proc_stat(process.pid)
    if stat is None:
        return ProcessState.ALIVE if not Path("/proc").is_dir() else ProcessState.GONE
    state, started_at = stat
    if state in ("Z", "X") or started_at > run_began_at + START_TIME_SLACK_SECONDS:
        return ProcessState.GONE  # a zombie, or the pid now belongs to a newer process
    return ProcessState.ALIVE


def run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunProcess | None:
    """The process executing `run`: from its tags, else from the pid of its RUN_START event."""
    if PID_TAG in run.tags:
        return RunProcess(int(run.tags[PID_TAG]), run.tags.get(HOST_TAG))
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    pid = records[0].event_log_entry.dagster_event.pid if records and records[0].event_log_entry.dagster_event else None
    return RunProcess(pid, None) if pid else None


def run_state(instance: dg.DagsterInstance, run_id: str) -> tuple[dg.DagsterRun, RunProcess | None, ProcessState] | None:
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None
    run = record.dagster_run
    process = run_process(instance, run)
    if process is None:
        return run, None, ProcessState.UNKNOWN
    began_at = record.start_time or record.create_timestamp.timestamp()
    return run, process, process_state(process, began_at)


# --- free what dead runs hold -----------------------------------------------------------------


def _runs_holding_slots(instance: dg.DagsterInstance) -> set[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    run_ids = set(storage.get_concurrency_run_ids())
    for pool in storage.get_concurrency_keys():
        run_ids.update(slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots)
    return run_ids


def release_dead_runs(instance: dg.DagsterInstance, except_run_id: str | None = None) -> list[str]:
    """Mark failed every unfinished run whose process is gone, and free the pool slots of every
    run that is gone or finished. Returns one line per run released, for the log."""
    unfinished = {r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED))}
    released = []
    for run_id in sorted((unfinished | _runs_holding_slots(instance)) - {except_run_id}):
        found = run_state(instance, run_id)
        if found is None:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            continue
        run, process, state = found
        what = f"run {run_id} ({run.job_name}, {process.describe() if process else 'no known process'})"
        if not run.is_finished and state is ProcessState.GONE:
            instance.report_run_failed(
                run, f"The process of this run ({process.describe()}) is gone: killed or crashed. Marked failed by {_me()}."
            )
            released.append(f"{what}: its process is gone; marked failed and freed its pool slots")
        elif run.is_finished and state is not ProcessState.ALIVE and run_id in _runs_holding_slots(instance):
            released.append(f"{what}: {run.status.value.lower()} but still holding a pool slot; freed it")
        else:
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return released


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"
