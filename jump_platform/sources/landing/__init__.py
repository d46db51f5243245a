"""The landing zone: where extracts arrive, how they are read and validated, where they end up.

Layout under the landing root (`data/sources/`):
- `<system>/<table>.<csv|parquet>`: a snapshot, the table's full current content;
- `<system>/<table>/<batch>.<csv|parquet>`: increments, new or changed rows;
- `<system>.sqlite`: a SQLite database holding snapshots of that system's tables;
- `_batches/<batch id>/`: deliveries claimed by a load, waiting for the lakehouse they were loaded
  into to be published (a run that died leaves them there: the next run gives them back);
- `_archive/<batch id>/`: deliveries that were loaded and published;
- `_rejected/<batch id>/`: deliveries that were refused, or failed the audit, each with a
  `<file>.error.txt`, and strays: anything else found in the landing zone (unknown files, a
  directory where a file is expected, symbolic links, which are never followed).

A load claims what is pending by moving it into its own batch folder (a rename: atomic, and no two
batches ever share a folder, so nothing is overwritten), and reads and validates every file against
its table's contract. A batch is all or nothing: one refused file and the whole batch is rejected.
It is archived once published, rejected if its audit fails, given back if its run died.

The delivery protocol: write a file under a temporary name (a dot first, or `.tmp` last) and
rename it into place once complete. See `zone` for what a load does with files that do not follow it.

The modules: `zone` (where files sit, claiming and settling them), `reading` (typed batches of
a delivery, with one reader per format: `csv_reading`, `parquet_reading`, `sqlite_reading`, and
the confined DuckDB connection they share in `scanning`) and `validation` (the contract's columns
and values).
"""

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.landing.reading import (
    CheckedDelivery,
    check_delivery,
    delivery_part,
    iter_delivery,
    read_delivery,
    with_load_metadata,
)
from jump_platform.sources.landing.scanning import BATCH_ROWS
from jump_platform.sources.landing.validation import ExtractError, check_columns
from jump_platform.sources.landing.zone import (
    CHANGED,
    FORMATS,
    IN_PROGRESS_REPORT_SECONDS,
    SETTLE_SECONDS,
    SQLITE_SUFFIX,
    SYMLINK_REASON,
    Delivery,
    archive_batch,
    batch_id_for,
    batches_waiting,
    changed_since_claimed,
    claim,
    deliveries_in,
    in_progress,
    incomplete_sqlite_files,
    late_writes,
    pending_files,
    refuse_whole_batch,
    reject_batch,
    reject_strays,
    remove_empty_dirs,
    return_batch,
    settle,
    stale_in_progress,
    stray_entries,
)

__all__ = [
    "BATCH_ROWS",
    "CHANGED",
    "CONTRACTS",
    "FORMATS",
    "IN_PROGRESS_REPORT_SECONDS",
    "SETTLE_SECONDS",
    "SQLITE_SUFFIX",
    "SYMLINK_REASON",
    "CheckedDelivery",
    "Delivery",
    "ExtractError",
    "archive_batch",
    "batch_id_for",
    "batches_waiting",
    "changed_since_claimed",
    "check_columns",
    "check_delivery",
    "claim",
    "deliveries_in",
    "delivery_part",
    "in_progress",
    "incomplete_sqlite_files",
    "iter_delivery",
    "late_writes",
    "pending_files",
    "read_delivery",
    "refuse_whole_batch",
    "reject_batch",
    "reject_strays",
    "remove_empty_dirs",
    "return_batch",
    "settle",
    "stale_in_progress",
    "stray_entries",
    "with_load_metadata",
]
