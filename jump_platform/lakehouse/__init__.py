"""Write-audit-publish: the lakehouse people read is never locked, never half-loaded, never ahead of
its checks.

Under the lakehouse folder (`data/lakehouse/`, beside the published file):
- `lakehouse.duckdb`: the published lakehouse. Readers open it read-only (`make query`, dbt docs, BI
  tools); nothing ever writes it. It changes only by an atomic rename, at a publish.
- `snapshots/<id>/`: the snapshots published so far, the current one and the ones before it (for
  `make rollback`; `JUMP_SNAPSHOTS_KEPT` in all): `lakehouse.duckdb` (a copy of the build, compacted
  when it carries dead space; the published file is a link to it), `exports/` (the CSVs of
  `data/exports/` are hard links to them) and `snapshot.json`.
- `build/`: what runs write and check: `lakehouse.duckdb` (a copy of the published snapshot, then
  the run's loads and models), `exports/` (exports not published yet) and `state.json`.
- `postgres/`, `spark/`: the same `snapshots/`, `current` and `build/` for the other engines (each
  engine's published state apart, `jump_platform.engines`), holding the exports and the records;
  their tables are in the engine.
- `lakehouse.duckdb.lock`: held by the run that owns the lakehouse, and so the build, one at a time
  (`jump_platform/runs.py`), released by the OS when its process ends, however it ends.

The modules: `layout` (where things are), `snapshots` (publish, rollback, and finishing an
interrupted publish), `build` (preparing the build, recovering it after a crash, and what a run
leaves in it) and `housekeeping` (freeing a dead run's leftovers, retention, the space warning).
They expect the caller to hold the lakehouse.
"""

from jump_platform.lakehouse.layout import Layout

__all__ = ["Layout"]
