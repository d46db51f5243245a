"""Benchmark: the whole `refresh` run, step by step, at several scales, beside bare DuckDB.

    python -m jump_platform.bench                      # make bench: scales 1, 200 and 2000
    python -m jump_platform.bench --scales 1,200       # make bench SCALES=1,200
    python -m jump_platform.bench --scales 20000       # ~100M invoices (hours, tens of GB of disk)
    python -m jump_platform.bench --scales 50 --runs 3  # make bench SCALES=50 RUNS=3: the file across reruns

Scale 1 is the demo (about 5,000 invoices), 200 about 1M invoices, 2000 about 10M. For each scale
it runs `python -m jump_platform.cli run refresh` (what `make run` runs) in a fresh data folder,
as a process of its own, and prints one table:
- each step's time, the rows it wrote (for checks: the rows of the tables they judge), rows per
  second and the peak memory (RSS) of the run's process tree (dbt runs in a subprocess) while it ran;
- the source checks, which run inside the dbt build (dbt tests on the sources): dbt's time for each;
- start-up (from the process start to the first step) and the end-to-end wall time;
- the published lakehouse file's size, and the whole lakehouse folder's (its build and snapshots);
- the reset of the build from the published file (a copy), what a run pays first after a failure;
- beside the load, bare DuckDB (same version, same memory cap, same process environment) reading
  the same files into a table with `read_csv` / `read_parquet`, and the ratio of the two.
At the demo scale the run is made twice and the second one is shown (the first one after an
install also warms caches). Every figure is printed; nothing is asserted: timings vary from one
machine to the next. Set JUMP_EXTRACT_FORMAT=parquet to run with Parquet extracts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jump_platform import settings

AS_OF = dt.date(2026, 11, 21)
DEFAULT_SCALES = "1,200,2000"
SAMPLE_SECONDS = 0.1


# --- memory of a process tree -----------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_usage(root: int) -> tuple[int, float]:
    """Resident memory (bytes) and CPU time used so far (seconds) by process `root` and all its
    descendants, from Linux's /proc (CPU time of descendants that exited is in their parent's)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    rss, ticks, todo, page = 0, 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                rss += int(statm.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14 to 17 of stat, 12 to 15 after the name.
            ticks += sum(int(value) for value in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return rss, ticks / _TICKS


@dataclass
class MemorySampler:
    """Samples the RSS and CPU time of a process tree every SAMPLE_SECONDS on a thread, as
    (time, bytes, CPU seconds)."""

    pid: int
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), *_tree_usage(self.pid)))
            self._stop.wait(SAMPLE_SECONDS)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for at, rss, _ in self.samples if start <= at <= end), default=0)

    def cpu(self, start: float = 0.0, end: float = float("inf")) -> float:
        """CPU seconds the tree used between `start` and `end` (to the sampling period)."""
        within = [cpu for at, _, cpu in self.samples if start <= at <= end]
        before = [cpu for at, _, cpu in self.samples if at < start]
        return (max(within, default=0.0) - (before[-1] if before else 0.0)) if within else 0.0


# --- one run of `refresh` -------------------------------------------------------------------------


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


def _steps(home: Path) -> tuple[list[Step], float, bool, int, dict[str, float]]:
    """The run's steps from the Dagster instance in `home`, grouped; the time its first step
    started; whether it succeeded; the invoices it loaded; dbt's time for each source check."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        [run] = instance.get_runs(limit=1)
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


def run_refresh(data_dir: Path, scale: float) -> Run:
    """`python -m jump_platform.cli run refresh` in its own process, on `data_dir`, at `scale`."""
    home = data_dir.parent / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "JUMP_DATA_DIR": str(data_dir),
        "JUMP_SCALE": str(scale),
        "JUMP_AS_OF": AS_OF.isoformat(),
        "JUMP_SEED": "42",
        "DAGSTER_HOME": str(home),
    }
    for name in ("JUMP_DUCKDB_PATH", "JUMP_ANOMALIES"):
        env.pop(name, None)
    began = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "jump_platform.cli", "run", "refresh"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=settings.PROJECT_ROOT,
    )
    with MemorySampler(process.pid) as sampler:
        output = process.communicate()[0]
    wall = time.time() - began
    steps, first_start, success, invoices, source_checks = _steps(home)
    if process.returncode != 0:
        print(output.decode(errors="replace")[-3000:], file=sys.stderr)
    lakehouse = data_dir / "lakehouse" / "lakehouse.duckdb"
    # Hard links (the published file and its snapshot) count once.
    files = {(p.stat().st_dev, p.stat().st_ino): p.stat().st_size for p in lakehouse.parent.rglob("*") if p.is_file()}
    folder = sum(files.values())
    return Run(
        invoices=invoices,
        folder_bytes=folder,
        began=began,
        wall=wall,
        startup=first_start - began if first_start else wall,
        steps=steps,
        peak_rss=sampler.peak(),
        lakehouse_bytes=lakehouse.stat().st_size if lakehouse.exists() else 0,
        ok=process.returncode == 0 and success,
        sampler=sampler,
        source_checks=source_checks,
    )


# --- bare DuckDB on the same files ----------------------------------------------------------------


def _bare_duckdb(files: list[tuple[str, str]], database: str) -> dict:
    """Read each (table, file) into a table of a new DuckDB file, in one transaction, with the
    contract's column types; runs in a process of its own (its peak RSS is its own)."""
    import duckdb

    from jump_platform.sources.contracts import CONTRACTS

    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    rows = 0
    config = settings.duckdb_config()
    with duckdb.connect(database, config=config) as con:
        con.begin()
        for table, path in files:
            columns = {column.name: column.sql_type for column in CONTRACTS[table].columns}
            if path.endswith(".parquet"):
                source = con.read_parquet(path)
            else:
                source = con.read_csv(path, header=True, columns=columns)
            source.create(table)
            rows += con.execute(f'select count(*) from "{table}"').fetchone()[0]
        con.commit()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "peak_rss": usage.ru_maxrss * 1024}


def bare_duckdb_load(data_dir: Path) -> dict:
    """Bare DuckDB reading the files the run loaded (archived under `sources/_archive/`)."""
    from jump_platform.sources import landing

    archive = data_dir / "sources" / "_archive"
    [batch] = sorted(archive.iterdir())[-1:]
    deliveries = landing.deliveries_in(batch, sorted(p for p in batch.rglob("*") if p.is_file()))
    files = [(d.contract.table, str(d.path)) for d in deliveries]
    return _in_child(_bare_duckdb, files, str(data_dir / "bare.duckdb"))


# --- the reset of the build ---------------------------------------------------------------------------


def _reset(data_dir: str) -> dict:
    """What a run pays first after a failed audit, a crash or a rollback: a copy of the published
    file into the build (in a process of its own)."""
    from jump_platform.lakehouse import Layout, snapshots
    from jump_platform.lakehouse.build import reset_build

    root = Path(data_dir)
    layout = Layout(root / "lakehouse" / "lakehouse.duckdb", root / "exports", root / "sources")
    start = time.perf_counter()
    reset_build(layout, snapshots.current_snapshot_id(layout))
    return {"seconds": time.perf_counter() - start, "mib": layout.build.stat().st_size / 2**20}


def _in_child(function, *args) -> dict:  # noqa: ANN001
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


# --- the table --------------------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f}"


def _line(name: str, seconds: float, rows: int | None, rss: int | None, cpu: float | None = None) -> str:
    rate = f"{rows / seconds:,.0f}" if rows and seconds > 0 else ""
    count = f"{rows:,}" if rows else ""
    cpu_seconds = f"{cpu:.1f}" if cpu is not None else ""
    return f"| {name:<26} | {seconds:>9.1f} | {cpu_seconds:>7} | {count:>13} | {rate:>12} | {_mib(rss) if rss else '':>9} |"


def report(scale: float, runs: list[Run], bare: dict, reset: dict | None = None) -> str:
    run = runs[-1]
    invoices = next((s.rows for s in run.steps if s.name == "load"), 0)
    lines = [
        "",
        f"## scale {scale:g} (JUMP_SCALE={scale:g}, as of {AS_OF}, {os.environ.get('JUMP_EXTRACT_FORMAT') or 'csv'} extracts)"
        + ("" if run.ok else "  -- THE RUN FAILED"),
        "",
        f"| {'step':<26} | {'seconds':>9} | {'CPU s':>7} | {'rows':>13} | {'rows/s':>12} | {'peak MiB':>9} |",
        f"|{'-' * 28}|{'-' * 10}:|{'-' * 8}:|{'-' * 14}:|{'-' * 13}:|{'-' * 10}:|",
        _line("start-up", run.startup, None, None, run.sampler.cpu(0, run.began + run.startup)),
    ]
    order = ["extract", "load", "source checks", "dbt build", "mart checks", "export", "publish", "other"]
    for step in sorted(run.steps, key=lambda s: order.index(s.name)):
        peak = max(run.sampler.peak(start, end) for start, end in step.intervals)
        cpu = sum(run.sampler.cpu(start, end) for start, end in step.intervals)
        lines.append(_line(step.name, step.seconds, step.rows, peak, cpu))
        if step.name == "load":
            lines.append(_line("  bare DuckDB, same files", bare["seconds"], bare["rows"], bare["peak_rss"], bare["cpu"]))
            ratio = f"{step.seconds / bare['seconds']:.2f}x"
            lines.append(f"| {'  load / bare DuckDB':<26} | {ratio:>9} | {'':>7} | {'':>13} | {'':>12} | {'':>9} |")
    lines.append(_line("end to end (wall)", run.wall, invoices, run.peak_rss, run.sampler.cpu()))
    lines.append("")
    extract = next((s for s in run.steps if s.name == "extract"), None)
    load = next((s for s in run.steps if s.name == "load"), None)
    if run.invoices and extract and load:
        lines.append(
            f"Invoices: {run.invoices:,}; generated and written at {run.invoices / extract.seconds:,.0f} invoices/s "
            f"(with the other tables), loaded at {run.invoices / load.seconds:,.0f} invoices/s."
        )
    if run.source_checks:
        slowest = sorted(run.source_checks.items(), key=lambda item: -item[1])
        lines.append(
            f"Source checks, inside the dbt build ({len(slowest)} dbt tests, {sum(run.source_checks.values()):.1f} s of "
            "dbt's time in all, run beside the models): " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest) + "."
        )
    sizes = ", ".join(f"{_mib(r.lakehouse_bytes)} MiB (folder {_mib(r.folder_bytes)} MiB)" for r in runs)
    lines.append(f"Published lakehouse after each run: {sizes}. Rows: every table of a step (checks: the tables judged).")
    if reset:
        lines.append(
            f"Reset of the build from the published file (what a run pays first after a failure): {reset['seconds']:.1f} s "
            f"for {reset['mib']:,.0f} MiB."
        )
    if len(runs) > 1:
        lines.append(f"Wall time of each run: {', '.join(f'{r.wall:.1f} s' for r in runs)} (the table shows the last one).")
    return "\n".join(lines)


def bench_scale(scale: float, root: Path, runs: int | None = None) -> str:
    """`runs` runs of `refresh` in one data folder (default: 2 at the demo scale, else 1)."""
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{scale:g}-", dir=root))
    try:
        data_dir = folder / "data"
        done = [run_refresh(data_dir, scale) for _ in range(runs or (2 if scale <= 1 else 1))]
        bare = bare_duckdb_load(data_dir)
        reset = _in_child(_reset, str(data_dir)) if done[-1].ok else None
        return report(scale, done, bare, reset)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=DEFAULT_SCALES, help=f"comma-separated JUMP_SCALE values (default {DEFAULT_SCALES})")
    parser.add_argument("--runs", type=int, default=None, help="runs per scale, in one data folder (default: 2 at scale 1, else 1)")
    parser.add_argument("--folder", type=Path, default=None, help="where the runs write (default: <data dir>/bench)")
    args = parser.parse_args(argv)
    root = args.folder or settings.data_dir() / "bench"
    root.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, DuckDB memory cap {settings.duckdb_memory_limit()}; temporary runs under {root}")
    for raw in args.scales.split(","):
        print(bench_scale(float(raw), root, args.runs), flush=True)


if __name__ == "__main__":
    main()
