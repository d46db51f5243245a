"""Benchmark: generation and load throughput, with peak memory, at 1M and 10M invoices.

    python -m jump_platform.bench                    # make bench
    python -m jump_platform.bench --invoices 200000  # a quick run

Each measurement runs in its own process, so its peak memory (max RSS) is its own. It prints
figures and asserts nothing: timings vary from one machine to the next.
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
    from jump_platform.sources.extracts import write_demo_extracts
    from jump_platform.sources.generator import GeneratorParams

    params = GeneratorParams(seed=42, as_of=AS_OF, scale=scale)
    start = time.perf_counter()
    rows = write_demo_extracts(params, Path(folder))["app__invoices"]
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib()}


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
    with duckdb.connect(str(root / "bench.duckdb"), config=settings.duckdb_config()) as con:
        con.begin()
        rows = write_batches_bounded(con, "main", "invoices", batches, replace=True)
        con.commit()
    assert rows == checked.rows
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_mib": _peak_mib()}


def _in_child(function, *args) -> dict:  # noqa: ANN001
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args(argv)
    print(f"{'invoices':>12} {'step':<10} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak MiB':>9}")
    for target in args.invoices:
        scale = target / INVOICES_AT_SCALE_1
        with tempfile.TemporaryDirectory() as folder:
            for step, figures in (
                ("generate", _in_child(_generate, scale, folder)),
                ("load", _in_child(_load, folder)),
            ):
                rate = figures["rows"] / figures["seconds"]
                print(
                    f"{target:>12,} {step:<10} {figures['rows']:>12,} {figures['seconds']:>9.1f} "
                    f"{rate:>12,.0f} {figures['peak_mib']:>9,.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
