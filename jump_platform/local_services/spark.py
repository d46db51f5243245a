"""A Spark standalone cluster on 127.0.0.1: a master and two workers, each a JVM of its own with its
own memory limit, started from pyspark's own classes (`spark-class
org.apache.spark.deploy.master.Master` / `...worker.Worker`): `make spark`, `make spark-stop`.

`JUMP_WAREHOUSE=spark JUMP_SPARK_MASTER=spark://127.0.0.1:7077 make run` then runs the pipeline on
it: dbt's Spark session (and the exports') is the driver, in the run's process, and the executors
run on the two workers, in JVMs of their own, shuffling over the network. The executors read and
write the tables under `data/spark/` by their absolute paths: on one machine that is shared
storage as it is; a cluster of several machines needs a shared mount or an HDFS/S3-style URL there
(README, "Spark on a cluster").

    <root>/cluster.json   the master's URL, its web UI and the processes' pids
    <root>/logs/          each process's log
    <root>/work/          the workers' folders (executors' logs, scratch)

    python -m jump_platform.local_services.spark start [--root DIR] [--port N] [--ui-port N]
    python -m jump_platform.local_services.spark stop  [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"
WORKERS = 2
WORKER_CORES = 1
WORKER_MEMORY = "1g"
START_TIMEOUT_SECONDS = 120.0


class SparkClusterError(RuntimeError):
    """The local cluster could not be started or stopped; the message says why."""


def spark_home() -> Path:
    """pyspark's own Spark distribution: its jars and `bin/spark-class`."""
    import pyspark

    return Path(pyspark.__file__).parent


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class LocalSparkCluster:
    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    def state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def master_url(self) -> str | None:
        """`spark://127.0.0.1:<port>` of a running cluster, else None."""
        state = self.state()
        if state and all(_alive(pid) for pid in state["pids"]):
            return state["master"]
        return None

    def alive_workers(self, ui_port: int) -> int:
        """How many workers the master counts alive (its web UI's JSON)."""
        try:
            with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as answer:
                return int(json.load(answer).get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def _spawn(self, name: str, arguments: list[str], memory: str) -> int:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": HOST,
            # The JVM's heap: each process its own limit.
            "SPARK_DAEMON_MEMORY": memory,
            "SPARK_LOG_DIR": str(logs),
        }
        with (logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,  # outlives `make spark`, stopped by `make spark-stop`
            )
        return process.pid

    def start(self, port: int = 7077, ui_port: int = 8080) -> str:
        """Start the master and the workers (or find them running); return the master's URL once
        every worker has registered with it."""
        running = self.master_url()
        if running:
            return running
        for busy in (port, ui_port):
            if _port_open(busy):
                raise SparkClusterError(
                    f"port {busy} on {HOST} is already in use: stop what listens there, or pick other ports "
                    "(make spark SPARK_PORT=... SPARK_UI_PORT=...)"
                )
        master = f"spark://{HOST}:{port}"
        pids = [self._spawn("master", [MASTER_CLASS, "--host", HOST, "--port", str(port), "--webui-port", str(ui_port)], "512m")]
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"master": master, "ui": f"http://{HOST}:{ui_port}", "pids": pids}))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _port_open(port):
            self._give_up_if(deadline, "the master", pids)
            time.sleep(0.5)
        for number in range(1, WORKERS + 1):
            work = self.root / "work" / f"worker-{number}"
            work.mkdir(parents=True, exist_ok=True)
            arguments = [WORKER_CLASS, master, "--host", HOST, "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY]
            arguments += ["--work-dir", str(work), "--webui-port", "0"]
            pids.append(self._spawn(f"worker-{number}", arguments, "256m"))
        self.state_file.write_text(json.dumps({"master": master, "ui": f"http://{HOST}:{ui_port}", "pids": pids}))
        while self.alive_workers(ui_port) < WORKERS:
            self._give_up_if(deadline, f"{WORKERS} workers", pids)
            time.sleep(0.5)
        return master

    def _give_up_if(self, deadline: float, what: str, pids: list[int]) -> None:
        if time.monotonic() > deadline or not all(_alive(pid) for pid in pids):
            self.stop()
            raise SparkClusterError(f"{what} of the Spark cluster did not come up: see the logs in {self.root / 'logs'}")

    def stop(self) -> bool:
        """Stop every process of the cluster; False when none was running."""
        state = self.state()
        if not state:
            return False
        pids = [pid for pid in state["pids"] if _alive(pid)]
        for pid in reversed(pids):  # the workers first
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        self.state_file.unlink()
        return bool(pids)


def default_root() -> Path:
    from jump_platform import settings

    return settings.data_dir() / "spark-cluster"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.local_services.spark", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--port", type=int, default=7077)
    parser.add_argument("--ui-port", type=int, default=8080)
    args = parser.parse_args(argv)
    cluster = LocalSparkCluster(args.root or default_root())
    try:
        if args.command == "start":
            master = cluster.start(args.port, args.ui_port)
            state = cluster.state() or {}
            print(f"Spark cluster: master {master}, {WORKERS} workers ({WORKER_CORES} core, {WORKER_MEMORY} each)")
            print(f"  web UI: {state.get('ui')}   logs: {cluster.root / 'logs'}")
            print(f"  run on it: JUMP_WAREHOUSE=spark JUMP_SPARK_MASTER={master} make run")
        else:
            print("Spark cluster stopped." if cluster.stop() else "No Spark cluster was running.")
    except SparkClusterError as error:
        print(f"make spark: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
