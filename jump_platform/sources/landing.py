"""The landing zone: where extracts arrive, how they are read and validated, where they end up.

Layout under the landing root (`data/sources/`):
- `<system>/<table>.<csv|parquet>`: a snapshot, the table's full current content;
- `<system>/<table>/<batch>.<csv|parquet>`: increments, new or changed rows;
- `<system>.sqlite`: a SQLite database holding snapshots of that system's tables;
- `_batches/<batch id>/`: deliveries claimed by a load that is running;
- `_archive/<batch id>/`: deliveries that were loaded;
- `_rejected/<batch id>/`: deliveries that were refused, each with a `<file>.error.txt`.

A load claims what is pending by moving it into its own batch folder (a rename: atomic, and no two
batches ever share a folder, so nothing is overwritten), reads and validates every file against
its table's contract, and then archives or rejects it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jump_platform.sources.contracts import CONTRACTS, LOAD_METADATA_COLUMNS, TableContract

FORMATS = ("csv", "parquet")
SQLITE_SUFFIX = ".sqlite"
# A file modified more recently than this may still be being copied: leave it for the next pass.
SETTLE_SECONDS = 2.0
# Files are read, validated and written this many rows at a time, so memory stays bounded.
BATCH_ROWS = 200_000


class ExtractError(ValueError):
    """An extract file that cannot be loaded, with where and why."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


@dataclass(frozen=True)
class Delivery:
    """One file (or one table of a SQLite file) for one source table."""

    contract: TableContract
    path: Path
    incremental: bool
    sqlite_table: str | None = None

    def label(self, root: Path) -> str:
        relative = self.path.relative_to(root).as_posix()
        return f"{relative}#{self.sqlite_table}" if self.sqlite_table else relative


@dataclass(frozen=True)
class CheckedDelivery:
    """A delivery that passed validation: how many rows it holds, which unexpected columns."""

    delivery: Delivery
    rows: int
    extra_columns: tuple[str, ...]


def _is_pending_file(path: Path, settle_before: float | None) -> bool:
    if not path.is_file() or path.name.startswith("."):
        return False
    return settle_before is None or path.stat().st_mtime <= settle_before


def pending_files(root: Path, settle_seconds: float | None = SETTLE_SECONDS) -> list[Path]:
    """Files waiting in the landing zone that belong to a known table, in a stable order."""
    if not root.is_dir():
        return []
    settle_before = None if settle_seconds is None else dt.datetime.now().timestamp() - settle_seconds
    systems = {contract.system for contract in CONTRACTS.values()}
    found: list[Path] = []
    for system in sorted(systems):
        sqlite_file = root / f"{system}{SQLITE_SUFFIX}"
        if _is_pending_file(sqlite_file, settle_before):
            found.append(sqlite_file)
        for contract in (c for c in CONTRACTS.values() if c.system == system):
            for fmt in FORMATS:
                snapshot = root / system / f"{contract.name}.{fmt}"
                if _is_pending_file(snapshot, settle_before):
                    found.append(snapshot)
            folder = root / system / contract.name
            if folder.is_dir():
                found.extend(
                    sorted(
                        path
                        for path in folder.iterdir()
                        if path.suffix.lstrip(".") in FORMATS and _is_pending_file(path, settle_before)
                    )
                )
    return found


def deliveries_in(root: Path, files: Iterable[Path]) -> list[Delivery]:
    """What each file delivers, by its place in the layout (paths relative to `root`)."""
    by_place = {(c.system, c.name): c for c in CONTRACTS.values()}
    deliveries: list[Delivery] = []
    for path in files:
        parts = path.relative_to(root).parts
        if len(parts) == 1 and path.suffix == SQLITE_SUFFIX:
            system = path.stem
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                names = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
            deliveries.extend(
                Delivery(contract, path, incremental=False, sqlite_table=contract.name)
                for (sys_name, _), contract in sorted(by_place.items())
                if sys_name == system and contract.name in names
            )
        elif len(parts) == 2:
            deliveries.append(Delivery(by_place[(parts[0], path.stem)], path, incremental=False))
        elif len(parts) == 3:
            deliveries.append(Delivery(by_place[(parts[0], parts[1])], path, incremental=True))
    return deliveries


def claim(root: Path, files: Iterable[Path], batch_id: str) -> tuple[Path, list[Path]]:
    """Move pending files into `_batches/<batch_id>/`, keeping their layout. Returns the batch root."""
    batch_root = root / "_batches" / batch_id
    claimed = []
    for path in files:
        target = batch_root / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        claimed.append(target)
    return batch_root, claimed


def settle(batch_root: Path, root: Path, outcome: str, errors: dict[Path, str] | None = None) -> Path:
    """Move a claimed file (or a whole batch) to `_archive/` or `_rejected/`, with the reasons."""
    if outcome not in ("_archive", "_rejected"):
        raise ValueError(f"outcome must be _archive or _rejected, not {outcome!r}")
    target_root = root / outcome / batch_root.name
    for path, reason in (errors or {}).items():
        destination = target_root / path.relative_to(batch_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
        destination.with_name(destination.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")
    if errors is None:
        for path in sorted(p for p in batch_root.rglob("*") if p.is_file()):
            destination = target_root / path.relative_to(batch_root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)
    return target_root


def remove_empty_dirs(folder: Path) -> None:
    if folder.is_dir():
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()


# --- reading and validation -------------------------------------------------------------------

_DELIMITER_HINTS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
_NUMBER = {
    pl.Int32: (r"^\s*[+-]?\d+\s*$", "an integer"),
    pl.Decimal: (r"^\s*[+-]?\d+(\.\d{1,2})?\s*$", "a decimal number with at most 2 decimals, like 1234.50"),
}


def _check_utf8(path: Path, source: str) -> None:
    """Refuse invalid UTF-8, naming the line, while reading the file in bounded chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line += chunk.count(b"\n", 0, error.start)
                raise ExtractError(
                    source,
                    f"line {line}: invalid UTF-8 byte {chunk[error.start:error.start + 1]!r}; "
                    "expected a UTF-8 encoded file",
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ExtractError(source, f"line {line}: truncated UTF-8 sequence at the end of the file") from None


def _csv_batches(path: Path, source: str, contract: TableContract) -> tuple[list[str], Iterator[pl.DataFrame]]:
    if path.stat().st_size == 0:
        raise ExtractError(source, f"the file is empty; expected a header line with {', '.join(contract.column_names)}")
    _check_utf8(path, source)
    scan = pl.scan_csv(path, infer_schema=False)
    try:
        columns = scan.collect_schema().names()
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise ExtractError(source, f"not a readable CSV file: {str(error).splitlines()[0]}") from None

    def batches() -> Iterator[pl.DataFrame]:
        try:
            yield from scan.collect_batches(chunk_size=BATCH_ROWS)
        except pl.exceptions.ComputeError as error:
            raise ExtractError(source, f"not a readable CSV file: {str(error).splitlines()[0]}") from None

    return columns, batches()


def _sqlite_batches(delivery: Delivery) -> tuple[list[str], Iterator[pl.DataFrame]]:
    con = sqlite3.connect(f"file:{delivery.path}?mode=ro", uri=True)
    cursor = con.execute(f'select * from "{delivery.sqlite_table}"')
    columns = [d[0] for d in cursor.description]

    def batches() -> Iterator[pl.DataFrame]:
        try:
            while rows := cursor.fetchmany(BATCH_ROWS):
                frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
                yield frame.select(pl.all().cast(pl.String))
        finally:
            con.close()

    return columns, batches()


def _raw_batches(delivery: Delivery, source: str) -> tuple[list[str], Iterator[pl.DataFrame], str]:
    """The delivery's columns, its rows as text in bounded batches, and the word for a position
    in it ('line' for CSV, whose line 1 is the header, 'row' otherwise)."""
    if delivery.sqlite_table:
        return *_sqlite_batches(delivery), "row"
    if delivery.path.suffix == ".parquet":
        scan = pl.scan_parquet(delivery.path)
        try:
            columns = scan.collect_schema().names()
        except Exception as error:  # polars raises several types for a broken file
            raise ExtractError(source, f"not a readable Parquet file: {error}") from None
        batches = (batch.select(pl.all().cast(pl.String)) for batch in scan.collect_batches(chunk_size=BATCH_ROWS))
        return columns, batches, "row"
    return *_csv_batches(delivery.path, source, delivery.contract), "line"


def _check_columns(columns: list[str], contract: TableContract, source: str) -> tuple[str, ...]:
    """Refuse missing columns; return the unexpected ones, which are kept."""
    missing = [c for c in contract.columns if c.name not in columns]
    if missing:
        hint = ""
        if len(columns) == 1:
            hint = "".join(
                f"; the header seems separated by {word}, expected commas"
                for char, word in _DELIMITER_HINTS.items()
                if char in columns[0]
            )
        expected = ", ".join(f"{c.name} ({c.sql_type})" for c in missing)
        raise ExtractError(source, f"missing column(s) {expected}; found columns: {', '.join(columns)}{hint}")
    return tuple(name for name in columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS)


def validate(
    raw: pl.DataFrame, contract: TableContract, source: str, position: str, rows_before: int = 0
) -> pl.DataFrame:
    """Type one batch of text columns by the contract, or name the first value that does not parse.

    `rows_before` counts the rows of earlier batches, so positions are those of the whole file.
    """
    typed: list[pl.Series] = []
    for column in contract.columns:
        text = raw[column.name]
        if column.dtype == pl.String:
            typed.append(text)
            continue
        stripped = text.str.strip_chars()
        blank = text.is_null() | (stripped == "")
        if column.dtype == pl.Date:
            parsed = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = ~blank & parsed.is_null()
            expected = "a date formatted YYYY-MM-DD"
        else:
            pattern, expected = _NUMBER[type(column.dtype)]
            bad = ~blank & ~text.str.contains(pattern)
            parsed = None if bad.any() else pl.select(pl.when(blank).then(None).otherwise(stripped)).to_series()
        if bad.any():
            index = int(bad.arg_true()[0])
            number = rows_before + index + (2 if position == "line" else 1)
            count = int(bad.sum())
            more = f" ({count - 1} more bad value(s) in this column nearby)" if count > 1 else ""
            raise ExtractError(
                source,
                f"{position} {number}, column {column.name}: expected {expected}, found {text[index]!r}{more}",
            )
        typed.append(parsed.cast(column.dtype).alias(column.name))
    extras = [name for name in raw.columns if name not in contract.column_names and name not in LOAD_METADATA_COLUMNS]
    return pl.DataFrame([*typed, *(raw[name] for name in extras)])


def _open(delivery: Delivery, root: Path) -> tuple[tuple[str, ...], Iterator[pl.DataFrame]]:
    source = delivery.label(root)
    columns, batches, position = _raw_batches(delivery, source)
    extras = _check_columns(columns, delivery.contract, source)

    def typed() -> Iterator[pl.DataFrame]:
        rows = 0
        for batch in batches:
            yield validate(batch, delivery.contract, source, position, rows)
            rows += batch.height
        if rows == 0:
            raise ExtractError(
                source, "the file has a header but no rows; refusing to replace the table with an empty extract"
            )

    return extras, typed()


def iter_delivery(delivery: Delivery, root: Path) -> Iterator[pl.DataFrame]:
    """The delivery's rows, typed by its contract, in batches of at most BATCH_ROWS rows.

    Raises ExtractError naming the file, the line or column, what was expected and what was found.
    """
    return _open(delivery, root)[1]


def check_delivery(delivery: Delivery, root: Path) -> CheckedDelivery:
    """Validate a whole delivery, one batch at a time, holding none of it in memory."""
    extras, batches = _open(delivery, root)
    return CheckedDelivery(delivery, sum(batch.height for batch in batches), extras)


def read_delivery(delivery: Delivery, root: Path) -> pl.DataFrame:
    """The whole delivery, typed, in memory (tests and small files)."""
    return pl.concat(list(iter_delivery(delivery, root)))


def with_load_metadata(frame: pl.DataFrame, batch_id: str, loaded_at: dt.datetime, source_file: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(batch_id, dtype=pl.String).alias("_batch_id"),
        pl.lit(loaded_at, dtype=LOAD_METADATA_COLUMNS["_loaded_at"]).alias("_loaded_at"),
        pl.lit(source_file, dtype=pl.String).alias("_source_file"),
    )


def write_csv_atomically(frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path) -> int:
    """Write one frame, or chunks of one table, as a CSV with a header; readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    chunks = [frame] if isinstance(frame, pl.DataFrame) else frame
    rows = 0
    with temporary.open("wb") as handle:
        for index, chunk in enumerate(chunks):
            chunk.write_csv(handle, include_header=index == 0, date_format="%Y-%m-%d")
            rows += chunk.height
    os.replace(temporary, path)
    return rows


def batch_id_for(now: dt.datetime, run_id: str) -> str:
    """A batch id that sorts by time and never repeats: `20261121T060000Z-<run id prefix>`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{run_id[:8]}"
