"""Benchmark: generation, load and publish, with peak memory, at 1M and 10M invoices.

    python -m jump_platform.bench                    # make bench
    python -m jump_platform.bench --invoices 200000  # a quick run

Each measurement runs in its own process, so its peak memory (max RSS) is its own. It prints
figures and asserts nothing: timings vary from one machine to the next.

- generate: the demo invoices, written as `app/invoices.csv`;
- load: validated and written into the build of a lakehouse, as `load_sources` does;
- publish: that build published as a snapshot (`lakehouse/published`: a copy of the build file,
  flushed to disk, then one rename); `size MiB` is the file copied;
- reset: the build started again from the published file (a copy), what the run after a failed
  audit, a crash or a rollback pays first.
The lakehouse here holds the sources' invoices only; a full one (models and marts too) is bigger,
and its publish takes size / (MiB/s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 21)
# Invoices the generator draws at scale 1 for AS_OF (seed 42); scale is chosen from it.
INVOICES_AT_SCALE_1 = 5_117


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate(scale: float, folder: str) -> dict:
    from jump_platform.sources.generator import GeneratorParams, generate_small_tables, iter_invoice_chunks
    from jump_platform.files import write_csv_atomically

    params = GeneratorParams(seed=42, as_of=AS_OF, scale=scale)
    start = time.perf_counter()
    small = generate_small_tables(params)
    rows = write_csv_atomically(
        iter_invoice_chunks(params, small.contracts_timeline, small.clients), Path(folder) / "app" / "invoices.csv"
    )
    seconds = time.perf_counter() - start
    size = (Path(folder) / "app" / "invoices.csv").stat().st_size / 2**20
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib(), "mib": size}


def _load(folder: str) -> dict:
    """The loader's own path: validate the file batch by batch, then write the batches through a
    scratch table and swap it in, as `load_sources` and the lakehouse IO manager do."""
    import duckdb

    from jump_platform import settings
    from jump_platform.io_manager import write_batches_bounded
    from jump_platform.sources import landing

    root = Path(folder)
    start = time.perf_counter()
    [delivery] = landing.deliveries_in(root, [root / "app" / "invoices.csv"])
    checked = landing.check_delivery(delivery, root)
    now = dt.datetime.now(dt.UTC)
    batches = (landing.with_load_metadata(b, "bench", now, "app/invoices.csv") for b in landing.iter_delivery(delivery, root))
    build = _layout(root).build
    build.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(build), config=settings.duckdb_config()) as con:
        con.execute("create schema sources")
        con.begin()
        rows = write_batches_bounded(con, "sources", "app__invoices", batches, replace=True)
        con.commit()
    assert rows == checked.rows
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib(), "mib": build.stat().st_size / 2**20}


def _layout(root: Path):  # noqa: ANN202
    from jump_platform.lakehouse import Layout

    return Layout(root / "lakehouse" / "lakehouse.duckdb", root / "exports", root)


def _publish(folder: str, rows: int) -> dict:
    """What `lakehouse/published` does with the build: stamp it, copy it into a new snapshot, flush,
    rename `current`."""
    from jump_platform.lakehouse import snapshots

    layout = _layout(Path(folder))
    now = dt.datetime.now(dt.UTC)
    snapshot = snapshots.Snapshot(snapshots.new_snapshot_id(now, "bench"), "bench", now.isoformat())
    start = time.perf_counter()
    published = snapshots.publish(layout, snapshot, [])
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib(), "mib": published.size_bytes / 2**20}


def _reset(folder: str, rows: int) -> dict:
    """What a run pays first after a failed audit, a crash or a rollback: a copy of the published file."""
    from jump_platform.lakehouse import snapshots
    from jump_platform.lakehouse.build import reset_build

    layout = _layout(Path(folder))
    start = time.perf_counter()
    reset_build(layout, snapshots.current_snapshot_id(layout))
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib(), "mib": layout.build.stat().st_size / 2**20}


def _in_child(function, *args) -> dict:  # noqa: ANN001
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args(argv)
    print(
        f"{'invoices':>12} {'step':<10} {'rows':>12} {'seconds':>9} {'rows/s':>12} "
        f"{'size MiB':>9} {'MiB/s':>8} {'peak MiB':>9}"
    )
    for target in args.invoices:
        scale = target / INVOICES_AT_SCALE_1
        with tempfile.TemporaryDirectory() as folder:
            _report(target, "generate", _in_child(_generate, scale, folder))
            loaded = _in_child(_load, folder)
            _report(target, "load", loaded)
            _report(target, "publish", _in_child(_publish, folder, loaded["rows"]))
            _report(target, "reset", _in_child(_reset, folder, loaded["rows"]))


def _report(target: int, step: str, figures: dict) -> None:
    print(
        f"{target:>12,} {step:<10} {figures['rows']:>12,} {figures['seconds']:>9.1f} "
        f"{figures['rows'] / figures['seconds']:>12,.0f} {figures['mib']:>9,.0f} "
        f"{figures['mib'] / figures['seconds']:>8,.0f} {figures['peak_mib']:>9,.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
