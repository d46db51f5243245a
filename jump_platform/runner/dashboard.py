"""Serve the dashboard: `python -m jump_platform.runner.dashboard [--host H] [--port P] [--refresh]` (`make dashboard`).

Runs `streamlit run` on `app.py`, headless, without usage statistics. Defaults: 127.0.0.1 and
`JUMP_DASHBOARD_PORT` (8501). The Docker image passes `--host 0.0.0.0`. With `--refresh`, the
dashboard's copy of the marts is refreshed first (job `dashboard`) when it is missing or older than
the lakehouse.
"""

import argparse
import os
import sys
from pathlib import Path

from jump_platform import engines, published, settings
from jump_platform.runner.ports import busy_message, port_in_use

# The Streamlit app (jump_platform/dashboard/app.py), beside this runner package.
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
        "--theme.primaryColor",
        "#2563eb",
    ]


def published_at() -> float | None:
    """When the engine's lakehouse was last published (on PostgreSQL and Spark: the rename of
    `current`); None when nothing is published yet."""
    engine = engines.current()
    return engine.published_changed_at(engine.layout())


def copy_is_stale() -> bool:
    """Whether the dashboard's copy is missing or older than the published lakehouse."""
    copy, published = settings.dashboard_path(), published_at()
    return published is not None and (not copy.exists() or copy.stat().st_mtime < published)


def refresh_copy() -> None:
    """Run the `dashboard` job in process, on the Dagster instance of `DAGSTER_HOME`."""
    from jump_platform.runner.cli import run_job

    summary = run_job("dashboard")
    if not summary.ok:
        sys.exit(summary.render("dashboard"))
    print(f"Refreshed the dashboard's copy of the marts from {published.location()}.", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jump_platform.runner.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default JUMP_DASHBOARD_PORT or 8501; make: PORT)")
    parser.add_argument("--refresh", action="store_true", help="refresh a missing or stale copy of the marts first")
    arguments = parser.parse_args(argv)
    if arguments.refresh and published_at() is None:
        sys.exit("No lakehouse published yet: run 'make run' first.")
    port = arguments.port or settings.dashboard_port()
    # Before the refresh: a busy port stops here at once, not after a run.
    if port_in_use(arguments.host, port):
        sys.exit(busy_message(arguments.host, port, "PORT", "dashboard"))
    if arguments.refresh and copy_is_stale():
        refresh_copy()
    print(f"Dashboard on http://{arguments.host}:{port} (data: {settings.dashboard_path()})", flush=True)
    command = streamlit_command(arguments.host, port)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
