"""Helpers of the write-audit-publish tests: real `make run` processes, stopped where a test wants
them, and a fingerprint of a lakehouse's content to compare two of them.

A process is paused at a named function through a `sitecustomize` module put on its PYTHONPATH:
when the module holding the function is imported, the function is wrapped so that its n-th call
writes a marker file and sleeps. The test then sends a real SIGKILL to the whole process group
(make, Python, dbt). Nothing in the platform's code knows about it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from jump_platform.sql import qualified, quote_identifier

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOAD_METADATA = ("_batch_id", "_loaded_at")
SCHEMAS = ("sources", "staging", "intermediate", "marts")

SITECUSTOMIZE = """
import importlib.abc, importlib.util, os, sys, time

_where = os.environ.get("JUMP_TEST_PAUSE_AT")
if _where:
    _module, _function, _nth = _where.split(":")
    _calls = [0]

    def _wrap(module):
        original = getattr(module, _function)

        def paused(*args, **kwargs):
            _calls[0] += 1
            if _calls[0] == int(_nth):
                with open(os.environ["JUMP_TEST_PAUSE_MARKER"], "w") as marker:
                    marker.write(str(os.getpid()))
                time.sleep(3600)
            return original(*args, **kwargs)

        setattr(module, _function, paused)

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != _module:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            execute = spec.loader.exec_module

            def exec_module(module):
                execute(module)
                _wrap(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _Finder())
"""


@dataclass
class MakeRun:
    """A `make run` in its own process group, writing its output to `log`."""

    process: subprocess.Popen
    log: Path

    def wait(self, timeout: float = 900) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to make and everything under it (the Python run, dbt)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


def run_env(data: Path, home: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUMP_")}
    env.update({"JUMP_DATA_DIR": str(data), "DAGSTER_HOME": str(home), **settings})
    return env


def start_make_run(env: dict[str, str], log: Path, pause_at: str | None = None, marker: Path | None = None) -> MakeRun:
    """Start `make run`; with `pause_at` ("module:function:n"), it stops at that call and writes `marker`."""
    env = dict(env)
    if pause_at:
        site = log.parent / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
            JUMP_TEST_PAUSE_AT=pause_at,
            JUMP_TEST_PAUSE_MARKER=str(marker),
        )
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return MakeRun(process, log)


def wait_for(condition, what: str, run: MakeRun, timeout: float = 600) -> None:
    """Wait until `condition()` holds, while `run` is still running."""
    deadline = time.monotonic() + timeout
    while not condition():
        if run.process.poll() is not None:
            raise AssertionError(f"make run ended ({run.process.returncode}) before {what}:\n{run.output()[-4000:]}")
        if time.monotonic() > deadline:
            run.kill()
            raise AssertionError(f"{what}: not within {timeout} s\n{run.output()[-4000:]}")
        time.sleep(0.05)


def group_runs(run: MakeRun, word: str) -> bool:
    """Whether a process of the run's group has `word` among its arguments (e.g. dbt's `build`)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != run.process.pid:
                continue
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ProcessLookupError):
            continue
        if any(a.endswith(b"/dbt") for a in arguments) and word.encode() in arguments:
            return True
    return False


def lakehouse_content(path: Path) -> dict[str, tuple[int, str]]:
    """Every table and view of the four schemas: its row count and a digest of its rows, load
    metadata (`_batch_id`, `_loaded_at`) aside, in no particular order."""
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in SCHEMAS)}) order by all",
            list(SCHEMAS),
        ).fetchall()
        content = {}
        for schema, table in relations:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if name not in LOAD_METADATA
            ]
            row = "md5(cast(row(" + ", ".join(quote_identifier(c) for c in columns) + ") as varchar))"
            content[f"{schema}.{table}"] = con.execute(
                f"select count(*), md5(coalesce(string_agg({row}, ',' order by {row}), '')) from {qualified(schema, table)}"
            ).fetchone()
    return content


def snapshot_id(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select snapshot_id from _lakehouse.snapshot").fetchone()[0]


def exports_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.csv"))}
