"""What a sync must send: the rows of a mart that changed since the last sync, and those that left it.

A sync remembers the rows the target holds after its last successful load (`synced`). The next sync
compares the mart with them, key by key, and sends only:
- inserted: keys the target does not hold;
- updated: keys it holds with other values;
- deleted: keys it holds that left the mart, sent with `deleted_in_lakehouse` true. The target then
  deletes them (mode `delete`) or keeps them flagged (mode `flag`).
Nothing else is sent, so a sync with no change sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

DeleteMode = Literal["delete", "flag"]
DELETED = "deleted_in_lakehouse"


@dataclass(frozen=True)
class SyncPlan:
    """The rows to send, how many of each kind, and what the target holds once they are loaded."""

    changes: pl.DataFrame
    inserted: int
    updated: int
    deleted: int
    target: pl.DataFrame

    @property
    def is_empty(self) -> bool:
        return self.changes.is_empty()


def plan_sync(current: pl.DataFrame, synced: pl.DataFrame | None, keys: list[str], delete_mode: DeleteMode) -> SyncPlan:
    """Compare the mart (`current`) with what the target holds (`synced`, None before the first sync).

    `synced` has the columns of `current` plus `deleted_in_lakehouse`. A row flagged earlier (mode
    `flag`) that comes back in the mart counts as updated; one still absent is not sent again.
    """
    if DELETED in current.columns:
        raise ValueError(f"The mart must not have a column named {DELETED}: the sync adds it.")
    duplicated = current.select(keys).is_duplicated()
    if duplicated.any():
        sample = current.filter(duplicated).select(keys).unique(maintain_order=True).head(3).rows()
        raise ValueError(f"The key {keys} is not unique in the mart, e.g. {sample}: the sync cannot match rows.")
    current = current.with_columns(pl.lit(False).alias(DELETED))
    if synced is None:
        synced = current.clear()
    if synced.schema != current.schema:
        # The mart's columns changed since the last sync: every row is sent again, matched by key.
        synced = (
            synced.select(*keys, DELETED)
            .with_columns(
                *(pl.lit(None, dtype).alias(name) for name, dtype in current.schema.items() if name not in (*keys, DELETED))
            )
            .select(current.columns)
            .cast(dict(current.schema))
        )
        changed = current
    else:
        changed = current.join(synced, on=current.columns, how="anti", nulls_equal=True)
    held_keys = synced.select(keys)
    inserted = changed.join(held_keys, on=keys, how="anti", nulls_equal=True)
    updated = changed.join(held_keys, on=keys, how="semi", nulls_equal=True)
    gone = (
        synced.filter(~pl.col(DELETED))
        .join(current.select(keys), on=keys, how="anti", nulls_equal=True)
        .with_columns(pl.lit(True).alias(DELETED))
    )
    if delete_mode == "delete":
        target = current
    else:
        still_flagged = synced.filter(pl.col(DELETED)).join(current.select(keys), on=keys, how="anti", nulls_equal=True)
        target = pl.concat([current, still_flagged, gone])
    return SyncPlan(
        changes=pl.concat([inserted, updated, gone]),
        inserted=inserted.height,
        updated=updated.height,
        deleted=gone.height,
        target=target,
    )
