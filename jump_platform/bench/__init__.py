"""Benchmark: the whole `refresh` run, step by step, at several scales, beside bare DuckDB.

    python -m jump_platform.bench                      # make bench: scales 1, 200 and 2000
    python -m jump_platform.bench --scales 1,200       # make bench SCALES=1,200
    python -m jump_platform.bench --scales 20000       # ~100M invoices (hours, tens of GB of disk)
    python -m jump_platform.bench --scales 50 --runs 3  # make bench SCALES=50 RUNS=3: the file across reruns
    python -m jump_platform.bench --engines duckdb,postgres,spark,spark-cluster --scales 1   # make bench-engines

Scale 1 is the demo (about 5,000 invoices), 200 about 1M invoices, 2000 about 10M. For each scale
it runs `python -m jump_platform.runner.cli run refresh` (what `make run` runs) in a fresh data folder,
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

Then, on DuckDB (`--no-daily` to skip it), the daily refresh: the next day's delivery (`daily`: the
day's invoices and contracts, a late invoice two years back, a contract ended after the fact, a
CRM score changed) dropped in the landing zone and loaded by the `load_and_refresh` job as of that
day, in the same data folder, with its own table: its steps, the publish, the data folder's size
on disk and the peak memory.

`--engines` runs the same at each scale on each warehouse (`JUMP_WAREHOUSE`), and `spark-cluster`
(Spark with a standalone cluster of `make spark`'s shape as its master, started under the bench
folder before the runs and stopped after them), then prints them side by side: wall time, the dbt
build, the export, peak memory of the run's process tree and, for PostgreSQL, of the server's
processes with it (a throwaway local cluster under the bench folder, unless JUMP_POSTGRES_URL names
a server: then a database of it per run), for the Spark cluster of its master, workers and
executors, and the published lakehouse's size. Bare DuckDB and the reset of the build are measured on DuckDB only.

The modules: `memory` (a process tree's memory and CPU time), `refresh` (one run and its steps),
`baselines` (bare DuckDB, the reset of the build), `engines` (PostgreSQL's server, the size of a
lakehouse on another engine) and `report` (the tables); this one runs them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from jump_platform import settings
from jump_platform.bench.baselines import bare_duckdb_load, reset_build_in_child
from jump_platform.bench.daily import write_daily_delivery
from jump_platform.bench.engines import BENCH_ENGINES, SPARK_CLUSTER, Postgres, SparkCluster
from jump_platform.bench.refresh import AS_OF, SEED, Run, run_refresh
from jump_platform.bench.report import report, side_by_side
from jump_platform.engines import ENGINES
from jump_platform.sources.generator import GeneratorParams

DEFAULT_SCALES = "1,200,2000"


def bench_scale(
    scale: float,
    root: Path,
    runs: int | None = None,
    engine: str = "duckdb",
    postgres: Postgres | None = None,
    cluster: SparkCluster | None = None,
    daily: bool = False,
) -> tuple[str, Run]:
    """`runs` runs of `refresh` in one data folder (default: 2 at the demo scale, else 1), on `engine`
    (one of `BENCH_ENGINES`); then, with `daily`, the next day's delivery and its `load_and_refresh`
    run (a table of its own)."""
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{scale:g}-{engine}-", dir=root))
    try:
        data_dir = folder / "data"
        done = [run_refresh(data_dir, scale, engine, postgres, cluster) for _ in range(runs or (2 if scale <= 1 else 1))]
        if not ENGINES[BENCH_ENGINES[engine]].publishes_file:
            return report(scale, done, None, None, engine), done[-1]
        # a failed run's files wait in `_rejected/`, not in the archive the bare load reads
        bare = bare_duckdb_load(data_dir) if done[-1].ok else None
        reset = reset_build_in_child(data_dir) if done[-1].ok else None
        table = report(scale, done, bare, reset, engine)
        if daily and done[-1].ok:
            table += "\n" + daily_refresh(data_dir, scale, engine, postgres)
        return table, done[-1]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def daily_refresh(data_dir: Path, scale: float, engine: str, postgres: Postgres | None) -> str:
    """The day after the full run: its delivery (`daily.py`), loaded by `load_and_refresh` as of that day."""
    day = AS_OF + dt.timedelta(days=1)
    params = GeneratorParams(seed=SEED, as_of=day, scale=scale)
    delivered = write_daily_delivery(data_dir / "sources", params, settings.extract_format())
    run = run_refresh(data_dir, scale, engine, postgres, job="load_and_refresh", as_of=day)
    return report(scale, [run], None, None, engine, scenario="daily refresh", delivered=delivered)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=DEFAULT_SCALES, help=f"comma-separated JUMP_SCALE values (default {DEFAULT_SCALES})")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per scale, in one data folder (default: 2 at scale 1, else 1)"
    )
    parser.add_argument("--folder", type=Path, default=None, help="where the runs write (default: <data dir>/bench)")
    parser.add_argument(
        "--engines", default="duckdb", help=f"comma-separated, some of {', '.join(BENCH_ENGINES)} (default duckdb)"
    )
    parser.add_argument(
        "--no-daily", action="store_true", help="skip the daily refresh after the full run (run on DuckDB alone by default)"
    )
    args = parser.parse_args(argv)
    names = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    unknown = [engine for engine in names if engine not in BENCH_ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}: expected some of {', '.join(BENCH_ENGINES)}")
    root = args.folder or settings.data_dir() / "bench"
    root.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, DuckDB memory cap {settings.duckdb_memory_limit()}; temporary runs under {root}")
    postgres = Postgres(root) if any(ENGINES[BENCH_ENGINES[name]].needs_server for name in names) else None
    cluster = None
    results = []
    try:
        for raw in args.scales.split(","):
            for engine in names:
                if engine == SPARK_CLUSTER and cluster is None:
                    cluster = SparkCluster(root)
                daily = not args.no_daily and names == ["duckdb"]
                table, run = bench_scale(float(raw), root, args.runs, engine, postgres, cluster, daily)
                results.append((float(raw), engine, run))
                print(table, flush=True)
    finally:
        if cluster is not None:
            cluster.close()
        if postgres is not None:
            postgres.close()
    if len(names) > 1:
        print(side_by_side(results), flush=True)
