"""What the run is compared with: bare DuckDB loading the same files, and the reset of the build.
Each runs in a process of its own, so that its peak memory is its own."""

from __future__ import annotations

import multiprocessing
import resource
import time
from pathlib import Path

from jump_platform import settings


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
            source = con.read_parquet(path) if path.endswith(".parquet") else con.read_csv(path, header=True, columns=columns)
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


def reset_build_in_child(data_dir: Path) -> dict:
    return _in_child(_reset, str(data_dir))


def _in_child(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)
