"""What `make run` shows while a run goes: one line per step, written as the step starts and
completed as it ends (its time, and the rows it wrote where known), and the warnings and errors of
the steps. The rest goes
to files: libraries' own printing (dbt's per-model and per-test lines, which dagster-dbt echoes)
to `<data dir>/logs/run.log`, dbt's own log to `dbt.log` in its target folder (the summary names
both). `VERBOSE=1` (`--verbose`) brings Dagster's and dbt's full output back instead.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import dagster as dg

# Library warnings that say nothing a person running the platform can act on: the project uses a
# beta or preview parameter on purpose (backfill policies, automation conditions...).
NOISE = (dg.BetaWarning, dg.PreviewWarning)


def _rows(event: dg.DagsterEvent) -> int | None:
    """The rows a materialization wrote, when it says so (a view's rows are not counted)."""
    materialization = event.step_materialization_data.materialization
    count = materialization.metadata.get("dagster/row_count")
    return int(count.value) if count is not None else None


class StepProgress(logging.Handler):
    """A handler of Dagster's log records that prints one line per step: its name when it starts,
    its outcome, time and rows when it ends (on a line of their own if something was said in
    between)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.out = out
        self.started: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        # The step whose line is written up to its name, waiting for its outcome, and what it
        # said meanwhile (printed under its line once it is complete).
        self.open_line: str | None = None
        self.notes: list[str] = []
        # Steps not run because a step they need failed: one line for all of them, at the end.
        self.not_run: list[str] = []

    def _say(self, text: str, end: str = "\n") -> None:
        if self.open_line is not None:
            print(file=self.out)
            self.open_line = None
        print(text, end=end, file=self.out, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event: dg.DagsterEvent | None = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:
            # What a step says on purpose, at warning or above: news for the person at the terminal.
            if record.levelno >= logging.WARNING:
                message = str(meta.get("orig_message") or record.getMessage()).strip().splitlines()
                if step and message and message[-1].endswith("Not executing."):
                    self.not_run.append(step)
                    return
                note = f"    ! {message[0] if message else ''}"
                if step and self.open_line == step:
                    self.notes.append(note)
                else:
                    self._say(f"  ! {step + ': ' if step else ''}{note.strip()[2:]}")
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.started[step] = time.monotonic()
            self._say(f"  {step:<52}", end="")
            self.open_line = step
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            rows = _rows(event)
            if rows is not None:
                self.rows[step] = self.rows.get(step, 0) + rows
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            elapsed = time.monotonic() - self.started.get(step, time.monotonic())
            rows = f"{self.rows[step]:>12,} rows" if step in self.rows else ""
            verdict = "ok" if kind == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
            outcome = f" {verdict:<6} {elapsed:6.1f} s {rows}".rstrip()
            if self.open_line == step:
                self.open_line = None
                print(outcome, file=self.out, flush=True)
            else:
                self._say(f"  {step:<52}{outcome}")
            for note in self.notes:
                print(note, file=self.out, flush=True)
            self.notes = []
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self._say(f"  {step:<52} skipped")
        elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE) and self.not_run:
            self._say(f"  not run, a step they need failed: {', '.join(self.not_run)}")
            self.not_run = []


def progress_logger(out: TextIO) -> dg.LoggerDefinition:
    """A Dagster logger printing a run's progress to `out` (see `StepProgress`). Dagster builds
    loggers more than once in a run (for the run, for its steps): they share one handler."""
    handler = StepProgress(out)

    @dg.logger(description="One line per step as it starts and ends, with its time and rows; warnings and errors.")
    def progress(_: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("jump_platform.runner.progress", level=logging.DEBUG)
        logger.addHandler(handler)
        return logger

    return progress


def run_log_path(data_dir: Path) -> Path:
    """Where a quiet run sends what libraries print: `<data dir>/logs/run.log`, one run's worth."""
    return data_dir / "logs" / "run.log"


@contextlib.contextmanager
def quiet(log: Path) -> Iterator[None]:
    """While a run goes, send what libraries print on stdout to `log`, and drop the warnings that
    are noise. Warnings and errors of Dagster and of the steps still show (on stderr)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as sink, warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        for category in NOISE:
            warnings.simplefilter("ignore", category)
        try:
            yield
        finally:
            sys.stdout.flush()
