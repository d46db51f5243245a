"""One run at a time owns the build: an exclusive lock on `build.lock`, held by the run's process.

It is an OS lock (`flock`) on an open file: the kernel releases it when the process ends, however
it ends (a SIGKILL, an OOM kill, a container stop), so a dead run never strands it. The holder
writes who it is in the file, so a run that waits can say for whom. Readers take no lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

# A waiting run says so after this many seconds, then again every REPORT_EVERY_SECONDS.
FIRST_REPORT_SECONDS = 1.0
REPORT_EVERY_SECONDS = 30.0
POLL_SECONDS = 0.25


class BuildBusy(TimeoutError):
    """Another run kept the build for longer than this run would wait."""


class BuildLock:
    """The build's lock, for one holder. `acquire` waits for it; `release` (or the process's end)
    gives it back."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        """Who holds the lock (or held it last), as that holder described itself."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another run"
        except OSError:
            return "another run"

    def acquire(self, owner: str, timeout_seconds: float, on_wait: Callable[[str], None]) -> None:
        """Take the lock, waiting at most `timeout_seconds` for its holder to finish.

        While it waits, `on_wait` gets a message naming the holder, within about a second and then
        every REPORT_EVERY_SECONDS. Raises BuildBusy when the time is up.
        """
        if self.held:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        started = time.monotonic()
        next_report = FIRST_REPORT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= timeout_seconds:
                    os.close(fd)
                    raise BuildBusy(
                        f"gave up after {waited:.0f} s waiting for {self.holder()} to finish with the lakehouse "
                        f"build (JUMP_BUILD_WAIT_SECONDS={timeout_seconds:g}); run again once it is done"
                    ) from None
                if waited >= next_report:
                    on_wait(
                        f"waiting for {self.holder()} to finish with the lakehouse build "
                        f"({waited:.0f} s so far; gives up after {timeout_seconds:g} s)"
                    )
                    next_report = waited + REPORT_EVERY_SECONDS
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner.encode("utf-8") + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
