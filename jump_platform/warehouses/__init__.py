"""The engines that can hold the lakehouse, behind one small interface.

`JUMP_WAREHOUSE` picks one (`jump_platform.settings.warehouse`): DuckDB (the default, one file),
PostgreSQL (a server) or Spark (local[2] here, a cluster elsewhere). For each there is
- an IO manager that writes the `sources` tables, one transaction (or one atomic swap) per table;
- a `Warehouse` through which the assets read what dbt built (row counts and column schemas of the
  models, the exports, the tables the Python rules judge);
- for PostgreSQL, the `TableStore` (`postgres_schemas.py`) that builds, publishes and rolls back
  its schemas for write-audit-publish (`jump_platform/lakehouse/`).

`jump_platform.engines` puts each engine's pieces together, and is what the rest of the code asks.

The assets, the dbt models and the lineage graph are the same on every engine.
"""

from jump_platform.warehouses.base import Warehouse

__all__ = ["Warehouse"]
