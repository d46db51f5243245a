"""A throwaway local PostgreSQL cluster, made with Debian's PostgreSQL binaries.

It stands in for the operational CRM the reverse ETL writes to, and serves as the warehouse of
`JUMP_WAREHOUSE=postgres` when no other server is given (`make postgres`, `make postgres-stop`); the
tests start their own in a temporary folder. The cluster listens on
127.0.0.1 only (and on a unix socket inside its folder), and asks for a password that is generated
at creation and kept, with the rest of the connection, in `<root>/connection.json` (mode 600).

    <root>/cluster/          PGDATA
    <root>/run/              the unix socket and the server log
    <root>/connection.json   host, port, user, password, database

`initdb` refuses to run as root: as root, the cluster's folders belong to the `postgres` user and
the server commands run as that user (`runuser`).

    python -m jump_platform.local_services.postgres start [--root DIR] [--port N]
    python -m jump_platform.local_services.postgres stop  [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jump_platform import settings

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
SERVER_USER = "postgres"  # who owns the cluster when we run as root
USER = "jump"
DATABASE = "jump"


class PostgresError(RuntimeError):
    """The local cluster could not be created, started or stopped; the message says why."""


def postgres_bin() -> Path:
    """The folder of `initdb` and `pg_ctl`: `JUMP_POSTGRES_BIN`, else Debian's newest version."""
    configured = settings.postgres_bin()
    candidates = [configured] if configured else POSTGRES_BIN_DIRS
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresError(
        "PostgreSQL's initdb and pg_ctl were not found in "
        f"{configured or '/usr/lib/postgresql/<version>/bin'}: install Debian's `postgresql` package "
        "(apt-get install postgresql) or set JUMP_POSTGRES_BIN."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The URL of a connection, and the file that holds it, are the settings' (they fall back to it).
connection_url = settings.connection_url


@dataclass(frozen=True)
class LocalCluster:
    """A cluster living in `root`; nothing happens until `start`."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "cluster"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "server.log"

    @property
    def connection_file(self) -> Path:
        return self.root / "connection.json"

    def connection(self) -> dict | None:
        """Host, port, user, password and database, once the cluster has been created."""
        return settings.local_postgres_connection(self.root)

    def url(self) -> str | None:
        connection = self.connection()
        return connection_url(connection) if connection else None

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        status = self._run(["pg_ctl", "status", "-D", str(self.pgdata)], check=False)
        return status.returncode == 0

    def start(self, port: int) -> str:
        """Create the cluster if needed, start it if it is not running, and return its URL."""
        if not (self.pgdata / "PG_VERSION").exists():
            self._create(port)
        connection = self.connection()
        if connection is None:
            raise PostgresError(f"{self.connection_file} is missing: remove {self.root} and start again.")
        if not self.is_running():
            started = self._run(
                ["pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60"], check=False
            )
            if started.returncode != 0:
                log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise PostgresError(
                    f"PostgreSQL did not start on 127.0.0.1:{connection['port']} ({self.pgdata}): "
                    f"{started.stderr.strip() or started.stdout.strip()}\n{log}"
                )
        return connection_url(connection)

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.is_running():
            return False
        self._run(["pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w"])
        return True

    def remove(self) -> None:
        """Stop the server and delete the whole cluster folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- internals ---------------------------------------------------------------------------------

    def _create(self, port: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # the server user must be able to reach its folders through ours
        self.root.chmod(0o755)
        for folder in (self.pgdata, self.run_dir):
            folder.mkdir(mode=0o700, exist_ok=True)
            self._hand_over(folder)
        password = secrets.token_urlsafe(24)
        password_file = self.run_dir / "password"
        password_file.write_text(password + "\n")
        self._hand_over(password_file)
        try:
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "-U",
                    USER,
                    f"--pwfile={password_file}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
        finally:
            password_file.unlink(missing_ok=True)
        settings = (
            "\n# jump_platform: a throwaway local cluster, reachable from this machine only\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {int(port)}\n"
            f"unix_socket_directories = '{str(self.run_dir).replace(chr(39), chr(39) * 2)}'\n"
            "fsync = off\n"
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        connection = {"host": "127.0.0.1", "port": int(port), "user": USER, "password": password, "database": "postgres"}
        self._write_connection(connection)
        self.start(port)
        # the platform's own database; `postgres` stays the maintenance one
        self._run(["createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE], password=password)
        self._write_connection({**connection, "database": DATABASE})

    def _write_connection(self, connection: dict) -> None:
        descriptor = os.open(self.connection_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(connection, handle, indent=2)

    def _hand_over(self, path: Path) -> None:
        """As root, give `path` to the server user, who runs initdb and the server."""
        if os.geteuid() == 0:
            server = pwd.getpwnam(SERVER_USER)
            os.chown(path, server.pw_uid, server.pw_gid)

    def _run(self, command: list[str], check: bool = True, password: str | None = None) -> subprocess.CompletedProcess:
        executable = str(postgres_bin() / command[0])
        argv = [executable, *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        env = {**os.environ, "PGPASSWORD": password} if password else None
        result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/")
        if check and result.returncode != 0:
            raise PostgresError(f"{' '.join(command[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.local_services.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument("--root", type=Path, default=None, help="cluster folder (default: $JUMP_DATA_DIR/postgres)")
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: $JUMP_POSTGRES_PORT or 55432)")
    arguments = parser.parse_args(argv)
    cluster = LocalCluster((arguments.root or settings.postgres_dir()).resolve())
    try:
        if arguments.action == "start":
            connection = cluster.connection()
            port = arguments.port or settings.postgres_port()
            if connection and arguments.port and connection["port"] != arguments.port:
                raise PostgresError(
                    f"The cluster in {cluster.root} listens on port {connection['port']}: "
                    "stop it and remove the folder to use another port."
                )
            cluster.start(connection["port"] if connection else port)
            connection = cluster.connection()
            print(
                f"PostgreSQL runs on 127.0.0.1:{connection['port']}, database {connection['database']}, "
                f"user {connection['user']} (password in {cluster.connection_file}). "
                "The reverse ETL writes there unless JUMP_CRM_POSTGRES_URL says otherwise, and so does "
                "JUMP_WAREHOUSE=postgres unless JUMP_POSTGRES_URL (or PGHOST) does."
            )
        elif arguments.action == "stop":
            print("PostgreSQL stopped." if cluster.stop() else f"No PostgreSQL running from {cluster.root}.")
        else:
            url = cluster.url()
            if url is None:
                print(f"No cluster in {cluster.root}: `make postgres` creates one.", file=sys.stderr)
                return 1
            print(url)
    except PostgresError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
