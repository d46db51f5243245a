"""The SQLite event log of the instance, at a few milliseconds an event instead of ~60.

Dagster's `SqliteEventLogStorage` keeps each run's events in a file of its own and mirrors asset
events into an index file. For every write it creates an engine, opens a connection, commits and
closes it: closing the last connection to a WAL database checkpoints it (two fsyncs) and deletes
the WAL file. An asset check result takes four such connections, so a run of ~500 events spent
~35 s of its ~60 s under load storing them (measured: `make bench`, and a replay of a run's events).

This storage is Dagster's, with two changes in how it connects:
- a pooled engine per file, kept for the few files in use (the index and the recent runs), so a
  write is one transaction on an open connection;
- `synchronous=NORMAL`, SQLite's advice for WAL databases: a commit no longer waits for the disk;
  the file cannot be corrupted, though a power cut may lose the last events written (the run
  monitoring then marks the run failed, as when its process dies).

The files are Dagster's own: any instance reads them. Dagster's UI follows a running run by
watching its file for changes (`watchdog`), which the old checkpoint on every close produced; here
a write that changed a run's file touches it (its modification time), so the UI still follows.

`$DAGSTER_HOME/dagster.yaml` names this class as `event_log_storage` (see `runner.instance`).
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from jump_platform.compat import INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage

# Open files at most: the index and the runs being written or watched (the UI reads older runs
# in turn; each one evicted closes its connection).
KEPT_FILES = 8


class JumpSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log on kept connections (see the module's docstring)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> JumpSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # A forked child never shares its parent's SQLite connections.
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = sa.create_engine(self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        sa.event.listen(engine, "connect", _relaxed_sync)
        self._engines[shard] = engine
        while len(self._engines) > KEPT_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's lock: one connection of this storage in use at a time, so an engine is never
        # disposed of while one of its connections is out.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                changes_before = conn.connection.dbapi_connection.total_changes
                with conn.begin():
                    yield conn
                changed = conn.connection.dbapi_connection.total_changes != changes_before
            if changed and shard != INDEX_SHARD_NAME:
                # What the UI's watcher of a running run waits for (see the module's docstring).
                with contextlib.suppress(FileNotFoundError):
                    os.utime(self.path_for_shard(shard))

    def _close_files(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        # Dagster deletes the runs' files: no connection may outlive its file (its writes would be lost).
        with self._db_lock:
            self._close_files()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_files()


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
