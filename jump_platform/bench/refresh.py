"""One run of `refresh` (what `make run` runs) in a process of its own, and its steps as the
Dagster instance recorded them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jump_platform import settings
from jump_platform.bench.engines import BENCH_ENGINES, Postgres, SparkCluster, published_bytes
from jump_platform.bench.memory import MemorySampler
from jump_platform.engines import ENGINES
from jump_platform.lakehouse.stores import block_usage
from jump_platform.runner.instance import write_local_instance

AS_OF = dt.date(2026, 11, 21)
SEED = 42


@dataclass
class Step:
    """A group of steps of the run: the extract, the load, the source checks, dbt, ..."""

    name: str
    seconds: float = 0.0
    rows: int = 0
    intervals: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Run:
    invoices: int
    folder_bytes: int
    began: float
    wall: float
    startup: float
    steps: list[Step]
    peak_rss: int
    lakehouse_bytes: int
    ok: bool
    sampler: MemorySampler
    # `table/check` -> dbt's execution time of the test, for the checks of the source tables.
    source_checks: dict[str, float] = field(default_factory=dict)
    # The events the run wrote to the instance, and the seconds from the process start to the first.
    events: int = 0
    first_event: float = 0.0
    # The dbt step's parts, in seconds: see `dbt_breakdown`.
    dbt: dict[str, float] = field(default_factory=dict)
    # The job run and the as-of date it ran for.
    job: str = "refresh"
    as_of: dt.date = AS_OF
    # The whole data folder's size on disk (blocks allocated: landing zone, archive, lakehouse, exports).
    data_disk_bytes: int = 0
    # The share of the published DuckDB file's blocks that are free (`pragma database_size`), and of
    # the build's, which a publish compacts past `COMPACT_ABOVE_FREE_SHARE`.
    published_free_share: float | None = None
    build_free_share: float | None = None


def _events(home: Path) -> list:
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        [run] = instance.get_runs(limit=1)
        return list(instance.all_logs(run.run_id))
    finally:
        instance.dispose()


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def dbt_breakdown(logs: list, target: Path) -> dict[str, float]:
    """The dbt step, from its events and dbt's `run_results.json` (the one of this step's invocation
    under `target`): dbt's start (the process, its imports), its parse and set-up before the first
    node, the nodes, dbt's end after the last node (its artifacts), and the step after dbt exits
    (the events, row counts and previews); with the count of nodes."""
    dbt = [entry for entry in logs if entry.step_key == "jump_dbt_models"]
    launched = next((e.timestamp for e in dbt if (e.user_message or "").startswith("Running dbt command")), None)
    exited = next((e.timestamp for e in dbt if (e.user_message or "").startswith("Finished dbt command")), None)
    if not dbt or launched is None or exited is None:
        return {}
    for path in target.glob("lakehouse-*/run_results.json"):
        results = json.loads(path.read_text())
        started = _epoch(results["metadata"]["invocation_started_at"])
        if not launched <= started <= exited:
            continue
        timings = [t for result in results["results"] for t in result["timing"] if t.get("started_at")]
        first = min((_epoch(t["started_at"]) for t in timings), default=started)
        last = max((_epoch(t["completed_at"]) for t in timings), default=first)
        return {
            "dbt start": started - launched,
            "dbt parse and set-up": first - started,
            "dbt nodes": last - first,
            "dbt end (artifacts)": exited - last,
            "after dbt exits": dbt[-1].timestamp - exited,
            "nodes": len(results["results"]),
        }
    return {}


def _group(asset_keys: set[tuple[str, ...]], checked: set[tuple[str, ...]]) -> str:
    """Which part of the run a step is, from what it materialized or checked."""
    layers = {key[0] for key in asset_keys}
    if "lakehouse" in layers:
        return "publish"
    if "landing" in layers:
        return "extract"
    if "sources" in layers:
        return "load"
    if layers & {"staging", "intermediate", "marts"}:
        return "dbt build"
    if "exports" in layers:
        return "export"
    checked_layers = {key[0] for key in checked}
    if checked_layers == {"sources"}:
        return "source checks"
    if checked_layers:
        return "mart checks"
    return "other"


def _steps(home: Path, job: str = "refresh") -> tuple[list[Step], float, bool, int, dict[str, float]]:
    """The last run of `job`'s steps from the Dagster instance in `home`, grouped; the time its first
    step started; whether it succeeded; the invoices it loaded; dbt's time for each source check."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
        if not runs:
            return [], 0.0, False, 0, {}
        [run] = runs
        logs = instance.all_logs(run.run_id)
    finally:
        instance.dispose()
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    rows: dict[str, int] = {}
    produced: dict[str, set[tuple[str, ...]]] = {}
    checked: dict[str, set[tuple[str, ...]]] = {}
    table_rows: dict[tuple[str, ...], int] = {}
    source_checks: dict[str, float] = {}
    for entry in logs:
        event, step = entry.dagster_event, entry.step_key
        if event is None or step is None:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ends[step] = entry.timestamp
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            key = tuple(materialization.asset_key.path)
            produced.setdefault(step, set()).add(key)
            count = materialization.metadata.get("dagster/row_count")
            if count is not None and key[-1] != "view":
                rows[step] = rows.get(step, 0) + int(count.value)
                table_rows[key] = int(count.value)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            checked.setdefault(step, set()).add(tuple(evaluation.asset_key.path))
            duration = evaluation.metadata.get("Execution Duration")
            if evaluation.asset_key.path[0] == "sources" and duration is not None:
                source_checks[f"{evaluation.asset_key.path[-1]}/{evaluation.check_name}"] = float(duration.value)
    groups: dict[str, Step] = {}
    for step, start in sorted(starts.items(), key=lambda item: item[1]):
        end = ends.get(step, start)
        name = _group(produced.get(step, set()), checked.get(step, set()))
        group = groups.setdefault(name, Step(name))
        group.seconds += end - start
        group.intervals.append((start, end))
        if name.endswith("checks"):
            group.rows += sum(table_rows.get(key, 0) for key in checked.get(step, set()))
        else:
            group.rows += rows.get(step, 0)
    first_start = min(starts.values(), default=0.0)
    invoices = table_rows.get(("sources", "app__invoices"), 0)
    return list(groups.values()), first_start, run.is_success, invoices, source_checks


def disk_usage(folder: Path) -> int:
    """What the files under `folder` take on disk (allocated blocks; a hard-linked file once)."""
    found: dict[tuple[int, int], int] = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            found[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(found.values())


def run_refresh(
    data_dir: Path,
    scale: float,
    engine: str = "duckdb",
    postgres: Postgres | None = None,
    cluster: SparkCluster | None = None,
    job: str = "refresh",
    as_of: dt.date = AS_OF,
) -> Run:
    """`python -m jump_platform.runner.cli run <job>` (default `refresh`, what `make run` runs) in its own
    process, on `data_dir`, at `scale`, as of `as_of`, on `engine` (`BENCH_ENGINES`; PostgreSQL: the
    folder's database of `postgres`, whose server is measured too; `spark-cluster`: Spark with
    `cluster` as its master, whose processes are measured too)."""
    bench_engine, engine = engine, BENCH_ENGINES[engine]
    home = data_dir.parent / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    # `make run`'s instance (`runner.instance`), on SQLite whatever JUMP_DAGSTER_POSTGRES_URL says.
    write_local_instance(home)
    env = {
        **os.environ,
        "JUMP_DATA_DIR": str(data_dir),
        "JUMP_SCALE": str(scale),
        "JUMP_AS_OF": as_of.isoformat(),
        "JUMP_SEED": str(SEED),
        "DAGSTER_HOME": str(home),
        "JUMP_WAREHOUSE": engine,
    }
    for name in ("JUMP_DUCKDB_PATH", "JUMP_ANOMALIES", "JUMP_CRM_POSTGRES_URL", "JUMP_KPI_ENDPOINT_URL"):
        env.pop(name, None)
    server: list[int] = []
    if ENGINES[engine].needs_server:
        assert postgres is not None
        env["JUMP_POSTGRES_URL"] = postgres.database_for(data_dir)
        server = postgres.server_pids()
    if bench_engine != engine:
        assert cluster is not None
        env["JUMP_SPARK_MASTER"] = cluster.master
        server = cluster.pids()
    began = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "jump_platform.runner.cli", "run", job],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=settings.PROJECT_ROOT,
    )
    with MemorySampler(process.pid, server) as sampler:
        output = process.communicate()[0]
    wall = time.time() - began
    steps, first_start, success, invoices, source_checks = _steps(home, job)
    logs = _events(home)
    if process.returncode != 0:
        print(output.decode(errors="replace")[-3000:], file=sys.stderr)
    lakehouse = data_dir / "lakehouse" / "lakehouse.duckdb"
    # Hard links (the published file and its snapshot) count once.
    files = {(p.stat().st_dev, p.stat().st_ino): p.stat().st_size for p in lakehouse.parent.rglob("*") if p.is_file()}
    folder = sum(files.values())
    published = lakehouse.stat().st_size if lakehouse.exists() else 0
    free_share = block_usage(lakehouse).free_share if lakehouse.exists() else None
    build = lakehouse.parent / "build" / lakehouse.name
    build_free_share = block_usage(build).free_share if build.exists() else None
    if not ENGINES[engine].publishes_file and process.returncode == 0:
        published = published_bytes(env)
    return Run(
        invoices=invoices,
        folder_bytes=folder,
        began=began,
        wall=wall,
        startup=first_start - began if first_start else wall,
        steps=steps,
        peak_rss=sampler.peak(),
        lakehouse_bytes=published,
        ok=process.returncode == 0 and success,
        sampler=sampler,
        source_checks=source_checks,
        events=len(logs),
        first_event=logs[0].timestamp - began if logs else wall,
        dbt=dbt_breakdown(logs, settings.DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")),
        job=job,
        as_of=as_of,
        data_disk_bytes=disk_usage(data_dir),
        published_free_share=free_share,
        build_free_share=build_free_share,
    )
