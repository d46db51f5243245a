"""The table `make bench` prints for one scale."""

from __future__ import annotations

from jump_platform import settings
from jump_platform.bench.refresh import Run
from jump_platform.lakehouse.stores import COMPACT_ABOVE_FREE_SHARE


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f}"


def _line(name: str, seconds: float, rows: int | None, rss: int | None, cpu: float | None = None) -> str:
    rate = f"{rows / seconds:,.0f}" if rows and seconds > 0 else ""
    count = f"{rows:,}" if rows else ""
    cpu_seconds = f"{cpu:.1f}" if cpu is not None else ""
    return f"| {name:<26} | {seconds:>9.1f} | {cpu_seconds:>7} | {count:>13} | {rate:>12} | {_mib(rss) if rss else '':>9} |"


def report(
    scale: float,
    runs: list[Run],
    bare: dict | None,
    reset: dict | None = None,
    engine: str = "duckdb",
    scenario: str = "",
    delivered: dict[str, int] | None = None,
) -> str:
    """The table of one scale: the last of `runs`, step by step, and what was measured around it.
    `scenario` names a run other than the full one (the daily refresh), `delivered` its files' rows."""
    run = runs[-1]
    invoices = next((s.rows for s in run.steps if s.name == "load"), 0)
    lines = [
        "",
        f"## scale {scale:g} on {engine}{', ' + scenario if scenario else ''} (JUMP_SCALE={scale:g}, "
        f"job {run.job}, as of {run.as_of}, {settings.extract_format()} extracts)" + ("" if run.ok else "  -- THE RUN FAILED"),
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
        if step.name == "load" and bare:
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
            "dbt's time in all, run beside the models): "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest)
            + "."
        )
    if run.events:
        lines.append(
            f"Events written to the instance: {run.events:,}; the first one {run.first_event:.1f} s after the process "
            f"started (the first step {run.startup:.1f} s)."
        )
    if run.dbt:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.dbt.items() if name != "nodes")
        lines.append(f"The dbt step ({run.dbt['nodes']:.0f} nodes): {parts}.")
    if delivered:
        lines.append("Delivered: " + ", ".join(f"{name} ({rows:,} rows)" for name, rows in delivered.items()) + ".")
    sizes = ", ".join(f"{_mib(r.lakehouse_bytes)} MiB (folder {_mib(r.folder_bytes)} MiB)" for r in runs)
    lines.append(f"Published lakehouse after each run: {sizes}. Rows: every table of a step (checks: the tables judged).")
    shares = [
        f"{r.published_free_share:.1%}" + (f" (the build's {r.build_free_share:.1%})" if r.build_free_share is not None else "")
        for r in runs
        if r.published_free_share is not None
    ]
    if shares:
        lines.append(
            "Free blocks in the published file after each run (pragma database_size): "
            + ", ".join(shares)
            + f"; a build with more than {COMPACT_ABOVE_FREE_SHARE:.0%} free is published as a compacted copy."
        )
    lines.append(
        "Data folder on disk after each run (landing zone, archive, lakehouse, exports): "
        + ", ".join(f"{_mib(r.data_disk_bytes)} MiB" for r in runs)
        + "."
    )
    if reset:
        lines.append(
            f"Reset of the build from the published file (what a run pays first after a failure): {reset['seconds']:.1f} s "
            f"for {reset['mib']:,.0f} MiB."
        )
    if len(runs) > 1:
        lines.append(f"Wall time of each run: {', '.join(f'{r.wall:.1f} s' for r in runs)} (the table shows the last one).")
    return "\n".join(lines)


def side_by_side(results: list[tuple[float, str, Run]]) -> str:
    """One line per scale and engine (`make bench-engines`): the figures to compare them by."""
    lines = [
        "",
        "## the engines side by side (the last run of each)",
        "",
        "| scale | engine | invoices | wall s | dbt build s | export s | peak MiB | published MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scale, engine, run in results:
        seconds = {step.name: step.seconds for step in run.steps}
        state = "" if run.ok else " (FAILED)"
        lines.append(
            f"| {scale:g} | {engine}{state} | {run.invoices:,} | {run.wall:.1f} | {seconds.get('dbt build', 0):.1f} | "
            f"{seconds.get('export', 0):.1f} | {_mib(run.peak_rss)} | {_mib(run.lakehouse_bytes)} |"
        )
    lines.append("")
    lines.append(
        "Peak memory: the run's process tree (Dagster, dbt, Spark's JVMs), plus on PostgreSQL the local server's "
        "processes. Published size: the DuckDB file, PostgreSQL's tables (pg_total_relation_size), Spark's Parquet files."
    )
    return "\n".join(lines)
