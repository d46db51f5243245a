"""One run at a time on a PostgreSQL lakehouse, across hosts: a session-level advisory lock.

A run holds `pg_advisory_lock(LOCK_KEY)` on a connection of its own from its first step to its
last. The server frees a session's advisory locks when the session ends, whatever ended it: the
run's process killed (its socket closes), or its host gone (the server's TCP keepalives, set
short on that session, notice within about a minute). So a run whose host died is detected by the
lock's owner going away, not by a pid on this host. The lock's holder writes who it is (run,
job, host, pid, since) in `public._jump_lakehouse_holder`, beside its backend's pid, so that a run
waiting on another host can name it; a row whose backend no longer holds the lock is ignored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import adbc_driver_postgresql.dbapi as adbc

# The lock's key: one per database, the same on every host.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"jump_platform/lakehouse").digest()[:8], "big", signed=True)
HOLDER_TABLE = "public._jump_lakehouse_holder"
# The server notices a dead host's session after idle + interval x count seconds.
KEEPALIVE = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}


class PostgresTurn:
    """The advisory lock of one PostgreSQL lakehouse, as `runner.launcher.lakehouse_turn` takes it."""

    def __init__(self, url: str):
        self._url = url
        self._connection: adbc.Connection | None = None

    def __str__(self) -> str:
        return "the PostgreSQL lakehouse"

    def _execute(self, connection: adbc.Connection, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters or None)
            return cursor.fetchall() if cursor.description else []

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        connection = adbc.connect(self._url, autocommit=True)
        try:
            for name, value in {**KEEPALIVE, "idle_session_timeout": "0"}.items():
                self._execute(connection, "select set_config($1, $2, false)", (name, value))
            ((acquired,),) = self._execute(connection, "select pg_try_advisory_lock($1)", (LOCK_KEY,))
        except BaseException:
            connection.close()
            raise
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        return True

    def write_holder(self, holder: dict[str, Any]) -> None:
        assert self._connection is not None, "write_holder before try_acquire"
        self._execute(
            self._connection,
            f"create table if not exists {HOLDER_TABLE} (lock_key bigint primary key, backend_pid integer, holder text)",
        )
        self._execute(
            self._connection,
            f"insert into {HOLDER_TABLE} values ($1, pg_backend_pid(), $2) "
            "on conflict (lock_key) do update set backend_pid = excluded.backend_pid, holder = excluded.holder",
            (LOCK_KEY, json.dumps(holder)),
        )

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, as its holder wrote it; None when unknown (or free)."""
        with adbc.connect(self._url, autocommit=True) as connection:
            exists = self._execute(connection, "select to_regclass($1) is not null", (HOLDER_TABLE,))
            if not exists[0][0]:
                return None
            rows = self._execute(
                connection,
                f"select h.holder from {HOLDER_TABLE} h join pg_locks l on l.pid = h.backend_pid "
                "where h.lock_key = $1 and l.locktype = 'advisory' and l.granted "
                "and ((l.classid::bigint << 32) | l.objid::bigint) = $1",
                (LOCK_KEY,),
            )
        return json.loads(rows[0][0]) if rows else None

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._execute(self._connection, "select pg_advisory_unlock($1)", (LOCK_KEY,))
        finally:
            self._connection.close()
            self._connection = None
