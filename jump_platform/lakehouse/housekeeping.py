"""What every run does around its steps, holding the lakehouse: first free what the last run left
if it died or met a full disk (`before_run`), and warn when the disk is clearly too small for this
run; last apply the retention of old snapshots and of settled deliveries (`after_run`).

Nothing here removes what it cannot prove expendable: see `build.free_leftovers`,
`snapshots.expendable_snapshots` and `sources.landing.retention`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from jump_platform import settings
from jump_platform.files import free_bytes, human_size
from jump_platform.lakehouse import snapshots
from jump_platform.lakehouse.build import free_leftovers
from jump_platform.lakehouse.layout import Layout
from jump_platform.sources import landing
from jump_platform.sources.landing import retention


def space_needed(layout: Layout) -> int:
    """A floor on what a run that publishes writes under the lakehouse folder: the build (a copy of
    the published file) and the snapshot (another copy), plus the deliveries waiting to be loaded
    (the tables grow by about their size). Copies that share blocks (a clone) take less."""
    published = layout.published.stat().st_size if layout.store.has_file and layout.published.is_file() else 0
    waiting = sum(path.stat().st_size for path in landing.pending_files(layout.landing, settle_seconds=None))
    return 2 * published + waiting


def space_warning(layout: Layout) -> str | None:
    """A warning when the lakehouse's file system has clearly too little room for this run."""
    free = free_bytes(layout.folder)
    needed = space_needed(layout)
    if free is None or free >= needed:
        return None
    return (
        f"{layout.folder} has {human_size(free)} free, and this run needs about {human_size(needed)} "
        "(a copy of the published lakehouse for the build, another for the snapshot, and the deliveries waiting): "
        "it will probably fail on a full disk. Free some space first (README: What is deleted, and when)."
    )


def before_run(layout: Layout, say: Callable[[str], None]) -> None:
    """At the start of a run: free the leftovers of the last one (said), then warn if space is short."""
    freed = free_leftovers(layout)
    if freed:
        say(f"Freed what the last run left when it stopped: {', '.join(freed)}.")
    warning = space_warning(layout)
    if warning:
        say(warning)


def after_run(layout: Layout, say: Callable[[str], None], now: dt.datetime | None = None) -> None:
    """At the end of a run: drop the snapshots beyond `JUMP_SNAPSHOTS_KEPT` and the settled
    deliveries past `JUMP_ARCHIVE_RETENTION_DAYS` / `JUMP_REJECTED_RETENTION_DAYS`."""
    try:
        snapshots.settle_published(layout)
    except Exception as error:  # housekeeping never fails a run: it says why it kept them
        say(f"Old snapshots kept: {error}")
    removed = retention.apply_retention(
        layout.landing,
        settings.archive_retention_days(),
        settings.rejected_retention_days(),
        now or dt.datetime.now(dt.UTC),
    )
    if removed:
        total = human_size(sum(r.size_bytes for r in removed))
        say(
            f"Retention: removed {len(removed)} settled batch folder(s) ({total}) past their time: "
            + ", ".join(r.folder.relative_to(layout.landing).as_posix() for r in removed)
        )
