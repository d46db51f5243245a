"""The `extract` and `sources` groups: demo extracts written to the landing zone, then loaded.

`extract` is one producer of landing-zone files among others (real extracts dropped there take
the same path): it draws the five tables with the generator and writes them as CSV snapshots.
`sources` loads whatever waits in the landing zone, validated against each table's contract,
into the lakehouse's `sources` schema.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from jump_platform import settings
from jump_platform.defs.as_of import run_as_of
from jump_platform.defs.catalog import OWNERS
from jump_platform.defs.lakehouse.resources import LakehouseBuild
from jump_platform.io_manager import TableParts
from jump_platform.sources import landing
from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.extracts import snapshot_path, write_demo_extracts
from jump_platform.sources.generator import GeneratorParams
from jump_platform.sources.landing.batches import plan_batch
from jump_platform.sources.settings_checks import check_anomaly_names, parse_as_of

SOURCES_FRESH_FOR = dt.timedelta(days=1)


def landing_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", table])


def source_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["sources", table])


def ensure_generator_on() -> None:
    """With `JUMP_PRODUCER=extracts` the generator is switched off, whoever launches it."""
    if settings.producer() != "generator":
        raise dg.Failure(
            description="JUMP_PRODUCER=extracts: the generator is switched off, so that generated data never "
            "overwrites delivered extracts. Load the delivered files with the `load` job instead."
        )


class ExtractConfig(dg.Config):
    """Generator settings; each one left empty falls back to its environment variable.

    The as-of date is not among them: it is the run's (`defs/as_of.py`), so that the extracts and
    the models of one run describe the same day. Set it with the run's tag `jump/as_of`.
    """

    seed: int | None = Field(default=None, description="Random seed (JUMP_SEED, default 42).")
    extracted_on: str | None = Field(
        default=None,
        description="The day the extracts are taken, YYYY-MM-DD, on or after the run's as-of date (tag jump/as_of): "
        "a later day gives extracts delivered after it, holding what happened since. Default: the as-of date.",
    )
    scale: float | None = Field(default=None, description="1 = 1,000 freelancers, 20 clients, ~5,000 invoices (JUMP_SCALE).")
    anomalies: list[str] | None = Field(default=None, description="Anomalies to inject (JUMP_ANOMALIES).")
    format: str | None = Field(
        default=None, description="Extract file format, csv or parquet (JUMP_EXTRACT_FORMAT, default csv)."
    )

    def params(self, run_as_of: dt.date) -> GeneratorParams:
        """The generator's parameters; `run_as_of` is the run's as-of date (see `defs/as_of.py`).

        Raises `dg.Failure` for an extract taken before the run's as-of date: the models would describe
        a day the extracts know nothing of."""
        cut = run_as_of
        if self.extracted_on is not None:
            try:
                cut = parse_as_of(self.extracted_on, "config extracted_on")
            except settings.SettingsError as error:
                raise dg.Failure(str(error)) from None
            if cut < run_as_of:
                raise dg.Failure(
                    f"config extracted_on: expected a day on or after the run's as-of date {run_as_of} "
                    f"(tag jump/as_of), found '{self.extracted_on}'. To describe an earlier day, set the run's tag."
                )
        return GeneratorParams(
            seed=settings.seed() if self.seed is None else self.seed,
            as_of=cut,
            scale=settings.scale() if self.scale is None else self.scale,
        )

    def anomaly_names(self) -> list[str]:
        return check_anomaly_names(settings.anomalies()) if self.anomalies is None else self.anomalies

    def file_format(self) -> str:
        return settings.extract_format() if self.format is None else self.format


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            landing_key(table),
            description=f"Demo extract of {contract.system}.{contract.name}, as the Jump {contract.system} writes it: "
            f"`data/sources/{snapshot_path(table)}` (`.parquet` with JUMP_EXTRACT_FORMAT=parquet). {contract.description}",
            group_name="extract",
            owners=OWNERS,
            kinds={"python", "csv", "parquet"},
            metadata={"path": f"data/sources/{snapshot_path(table)}"},
        )
        for table, contract in CONTRACTS.items()
    ],
)
def demo_extracts(context: dg.AssetExecutionContext, config: ExtractConfig) -> Iterator[dg.MaterializeResult]:
    """Draw the Jump app and CRM tables with Faker pools and write them as CSV (or Parquet) extracts."""
    ensure_generator_on()
    as_of = run_as_of(context)
    params = config.params(as_of)
    anomalies, fmt = config.anomaly_names(), config.file_format()
    root = settings.landing_dir()
    context.log.info(
        f"Generating seed={params.seed} as_of={as_of} extracted_on={params.as_of} scale={params.scale} "
        f"anomalies={anomalies} as {fmt}"
    )
    written = write_demo_extracts(params, root, fmt, anomalies)
    for table, rows in written.items():
        yield dg.MaterializeResult(
            asset_key=landing_key(table),
            metadata={
                "dagster/row_count": rows,
                "path": dg.MetadataValue.path(str(root / snapshot_path(table, fmt))),
                "seed": params.seed,
                "as_of": as_of.isoformat(),
                "extracted_on": params.as_of.isoformat(),
                "scale": params.scale,
                "anomalies": ", ".join(anomalies) or "none",
            },
        )


def _source_out(table: str) -> dg.AssetOut:
    contract = CONTRACTS[table]
    columns = [dg.TableColumn(c.name, c.sql_type, description=c.description) for c in contract.columns]
    return dg.AssetOut(
        key=source_key(table),
        description=f"{contract.description} Raw copy of the {contract.system} extract, one row per delivered row, "
        "with load metadata (_batch_id, _loaded_at, _source_file).",
        group_name="sources",
        owners=OWNERS,
        kinds={settings.warehouse(), "polars"},
        is_required=False,
        # Sources must be refreshed daily; a stale one shows as failing freshness, without blocking.
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=SOURCES_FRESH_FOR),
        metadata={
            "dagster/column_schema": dg.TableSchema(columns=columns),
            "primary_key": ", ".join(contract.primary_key),
            "dagster/table_name": f"sources.{table}",
        },
    )


def _stray_messages(root: Path, strays: dict[Path, str]) -> list[str]:
    # The name is shown escaped: it may hold newlines or quotes.
    return [f"{path.relative_to(root).as_posix()!r}: {reason}" for path, reason in strays.items()]


def _fail_if_refused(batch_id: str, refused: list[str], batch_size: int = 0) -> None:
    """Fail the step when anything was refused, listing each file with its reason."""
    if refused:
        batch = f"; no table changed, and the whole batch ({batch_size} file(s)) went there too" if batch_size else ""
        raise dg.Failure(
            description=f"{len(refused)} file(s) refused and moved to _rejected/{batch_id}/{batch}",
            metadata={"errors": dg.MetadataValue.md("\n".join(f"- {message}" for message in refused))},
        )


@dg.multi_asset(
    outs={table: _source_out(table) for table in CONTRACTS},
    deps=[landing_key(table) for table in CONTRACTS],
    internal_asset_deps={table: {landing_key(table)} for table in CONTRACTS},
    can_subset=True,
    # Every step opening the lakehouse is in this pool (see instance/dagster.yaml).
    pool="lakehouse",
)
def load_sources(context: dg.AssetExecutionContext, warehouse: LakehouseBuild) -> Iterator[dg.Output[TableParts]]:
    """Load every extract waiting in the landing zone into `sources`, in the build.

    The waiting files are claimed as one batch (`_batches/<batch id>/`) and validated against their
    table's contract before anything is written. A batch lands whole or not at all: if any file is
    refused, no table changes, and every file of the batch goes to `_rejected/<batch id>/` with its
    reason (the refused file what is wrong with it, the others which file was refused). Otherwise
    each table is written in one transaction (a snapshot replaces it, increments are appended), and
    the files wait in `_batches/` for the audit: archived in `_archive/<batch id>/` when the build
    is published, moved to `_rejected/<batch id>/` with the failed check when it is not. Strays
    (unknown files, a directory where a file is expected, symbolic links) go to `_rejected/<batch
    id>/` too, whatever tables are selected, and refuse the batch the same way: a run that leaves a
    file unloaded never reports success.
    """
    # Holding the build first: recovering it may give the landing zone back files to load.
    warehouse.open()
    root = warehouse.layout.landing
    selected = {key.path[-1] for key in context.selected_asset_keys}
    now = dt.datetime.now(dt.UTC)
    batch_id = landing.batch_id_for(now, context.run.run_id)
    # Deliveries in progress (the protocol: a temporary name, renamed into place) are never claimed;
    # one left for long is said, every load, rather than forgotten.
    for path, age in landing.stale_in_progress(root).items():
        context.log.warning(
            f"{path.relative_to(root).as_posix()!r}: a name in progress (a dot first or .tmp last), unchanged for "
            f"{age / 3600:.1f} h: not loaded until renamed into place; remove it if it is no delivery"
        )
    for path, note in landing.late_writes(root).items():
        context.log.warning(f"{path.relative_to(root).as_posix()!r}: {note}")
    # Strays first, so that none is mistaken for a delivery; entries still being written wait. A
    # SQLite file that is not a whole snapshot of its system is refused like a stray (whatever its age:
    # the load takes every delivery waiting, see `pending_files`).
    strays = {**landing.stray_entries(root), **landing.incomplete_sqlite_files(root, settle_seconds=None)}
    if strays:
        landing.reject_strays(root, batch_id, strays)
        for message in _stray_messages(root, strays):
            context.log.error(message)
    pending = [
        d for d in landing.deliveries_in(root, landing.pending_files(root, settle_seconds=None)) if d.contract.table in selected
    ]
    if not pending:
        context.log.info(f"Nothing waiting in {root} for {sorted(selected)}.")
        _fail_if_refused(batch_id, _stray_messages(root, strays))
        return
    files = sorted({d.path for d in pending})
    batch_root, _ = landing.claim(root, files, batch_id)
    warehouse.add_batch(batch_id)
    # The same deliveries, at their new place: no need to list the files (or SQLite tables) again.
    deliveries = sorted(
        (dataclasses.replace(d, path=batch_root / d.path.relative_to(root)) for d in pending),
        key=lambda d: (d.path, d.sqlite_table or ""),
    )

    errors: dict = {}
    checked: list[landing.CheckedDelivery] = []
    for delivery in deliveries:
        try:
            # First pass: validate every file, batch by batch, before anything is written.
            checked.append(landing.check_delivery(delivery, batch_root))
        except landing.ExtractError as error:
            errors[delivery.path] = str(error)
            context.log.error(str(error))
    # A file written to since it was claimed was read halfway: it is refused, whatever its rows said.
    for path, reason in landing.changed_since_claimed(batch_root).items():
        errors[path] = reason
        context.log.error(reason)
    strays_shown = [repr(path.relative_to(root).as_posix()) for path in strays]
    plan = plan_batch(deliveries, checked, errors, batch_root, strays=strays_shown)
    if plan.refused:
        landing.settle(batch_root, root, "_rejected", plan.refused)
        landing.remove_empty_dirs(batch_root)
        landing.remove_empty_dirs(root / "_batches")
        warehouse.drop_batch(batch_id)
        _fail_if_refused(batch_id, [*_stray_messages(root, strays), *plan.errors], batch_size=len(plan.refused))

    for load in plan.loads:
        # Second pass: the IO manager writes the parts of a table in one transaction, in the build,
        # DuckDB reading each file straight into the table (a SQLite table comes as typed batches).
        writes = (landing.delivery_part(p.delivery, batch_root, batch_id, now, p.delivery.label(batch_root)) for p in load.parts)
        if load.extra_columns:
            context.log.warning(f"{load.table}: kept extra column(s) {', '.join(map(repr, load.extra_columns))}")
        warehouse.open(writing=True)
        yield dg.Output(
            TableParts(writes),
            output_name=load.table,
            metadata={
                "write_mode": load.write_mode,
                "batch_id": batch_id,
                "files": ", ".join(p.delivery.label(batch_root) for p in load.parts),
                "extra_columns": ", ".join(load.extra_columns) or "none",
                "rows_delivered": load.rows,
            },
        )
        # The generator resumes here only once the IO manager has committed the table.
        warehouse.record_written([source_key(load.table)])
    changed = landing.changed_since_claimed(batch_root)
    if changed:
        # Written while DuckDB read it: the build holds part of it; the failed audit rejects the batch.
        raise dg.Failure(
            description="; ".join(changed.values()),
            metadata={"files": dg.MetadataValue.md("\n".join(f"- {reason}" for reason in changed.values()))},
        )
    # The files wait in _batches/ for the audit: a failure from here on (a full disk, a failed
    # check) fails the run's audit, and they go to _rejected/ with its reason (defs/lakehouse/).
