"""Benchmark: `make run` on each warehouse, wall time and peak memory side by side.

    python -m jump_platform.bench_engines                         # make bench-engines: scale 1
    python -m jump_platform.bench_engines --scales 1 200          # and about 1M invoices
    python -m jump_platform.bench_engines --engines duckdb spark

Each run is `python -m jump_platform.cli run refresh` (what `make run` runs) in a fresh data
folder, with seed 42 and one as-of date. Peak memory is the largest sum of the resident memory of
the run's whole process tree (Dagster, the dbt subprocess, Spark's JVM), sampled every 0.2 s; a
PostgreSQL server's own processes are not in the tree and not counted. PostgreSQL needs
JUMP_POSTGRES_URL (or `make postgres`). It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2026-11-21"
ENGINES = ("duckdb", "postgres", "spark")


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children, total, stack = _children(), 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        current = stack.pop()
        try:
            total += int((Path("/proc") / str(current) / "statm").read_text().split()[1]) * page
        except (OSError, IndexError):
            pass
        stack.extend(children.get(current, []))
    return total


def measure(engine: str, scale: float, folder: Path) -> dict:
    env = {
        **os.environ,
        "JUMP_WAREHOUSE": engine,
        "JUMP_DATA_DIR": str(folder / "data"),
        "JUMP_SCALE": str(scale),
        "JUMP_SEED": "42",
        "JUMP_AS_OF": AS_OF,
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }
    env.pop("JUMP_DUCKDB_PATH", None)
    (folder / "dagster_home").mkdir(parents=True)
    start, peak = time.perf_counter(), 0
    with open(folder / "run.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "jump_platform.cli", "run", "refresh"], env=env, stdout=log, stderr=log)
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.2)
    seconds = time.perf_counter() - start
    summary = (folder / "run.log").read_text()
    invoices = next((line.split()[-2] for line in summary.splitlines() if line.strip().startswith("sources/app__invoices")), "?")
    return {"ok": process.returncode == 0, "seconds": seconds, "peak_mib": peak / 2**20, "invoices": invoices, "log": summary}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    args = parser.parse_args(argv)
    print(f"{'scale':>6} {'invoices':>10} {'engine':<9} {'result':<7} {'wall s':>8} {'peak MiB':>9}", flush=True)
    for scale in args.scales:
        for engine in args.engines:
            with tempfile.TemporaryDirectory(prefix=f"jump-bench-{engine}-") as folder:
                figures = measure(engine, scale, Path(folder))
            result = "ok" if figures["ok"] else "FAILED"
            print(
                f"{scale:>6g} {figures['invoices']:>10} {engine:<9} {result:<7} {figures['seconds']:>8.1f} {figures['peak_mib']:>9,.0f}",
                flush=True,
            )
            if not figures["ok"]:
                print("\n".join(figures["log"].splitlines()[-15:]), file=sys.stderr)


if __name__ == "__main__":
    main()
