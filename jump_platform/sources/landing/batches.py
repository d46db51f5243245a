"""The batch policy of a load: what a batch of validated deliveries writes, or why it is refused.

Plain logic on the outcome of validation (no file is read here): `load_sources` validates every
delivery of the batch, asks `plan_batch`, then either refuses the whole batch or writes each table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jump_platform.io_manager import APPEND, REPLACE
from jump_platform.sources.landing.reading import CheckedDelivery
from jump_platform.sources.landing.zone import Delivery, refuse_whole_batch


@dataclass(frozen=True)
class TableLoad:
    """What a batch writes into one source table: its parts in order, appended when every part is
    an increment, else replacing the table (one snapshot, then the increments after it)."""

    table: str
    parts: tuple[CheckedDelivery, ...]

    @property
    def write_mode(self) -> str:
        return APPEND if all(p.delivery.incremental for p in self.parts) else REPLACE

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns beyond the contract's (only a contract with `allow_extra_columns` lets them through)."""
        return tuple(sorted({column for p in self.parts for column in p.extra_columns}))

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)


@dataclass(frozen=True)
class BatchPlan:
    """A batch lands whole (`loads`) or not at all (`refused`: every file of the batch and why)."""

    loads: tuple[TableLoad, ...] = ()
    refused: dict[Path, str] = field(default_factory=dict)
    # The reasons of the files refused on their own (not those refused for the company they keep).
    errors: tuple[str, ...] = ()


def plan_batch(
    deliveries: list[Delivery],
    checked: list[CheckedDelivery],
    errors: dict[Path, str],
    root: Path,
    strays: list[str] = (),
) -> BatchPlan:
    """The batch policy.

    - `deliveries` is the batch; `checked` those that passed validation, in the batch's order;
      `errors` why the others did not (by path); `strays`, the names of the strays refused with it.
    - A table gets at most one snapshot per batch: two are both refused.
    - One refused file, or a stray, and the whole batch is refused: every file with its own reason,
      or saying which file was refused (`refuse_whole_batch`).
    - Otherwise each table delivered is written from its parts, in the batch's order.
    """
    errors = dict(errors)
    parts: dict[str, list[CheckedDelivery]] = {}
    for part in checked:
        parts.setdefault(part.delivery.contract.table, []).append(part)
    for table, table_parts in parts.items():
        snapshots = [p.delivery.label(root) for p in table_parts if not p.delivery.incremental]
        if len(snapshots) > 1:
            for p in table_parts:
                errors[p.delivery.path] = f"{table}: several snapshots in one batch ({', '.join(snapshots)}); expected one"
    if errors or strays:
        labels = {d.path: d.label(root) for d in deliveries}
        return BatchPlan(refused=refuse_whole_batch(labels, errors, also_refused=strays), errors=tuple(errors.values()))
    return BatchPlan(loads=tuple(TableLoad(table, tuple(table_parts)) for table, table_parts in parts.items()))
