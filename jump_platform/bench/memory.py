"""The memory and CPU time of a process tree, sampled from Linux's /proc on a thread."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

SAMPLE_SECONDS = 0.1

_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_usage(root: int) -> tuple[int, float]:
    """Resident memory (bytes) and CPU time used so far (seconds) by process `root` and all its
    descendants, from Linux's /proc (CPU time of descendants that exited is in their parent's)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    rss, ticks, todo, page = 0, 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                rss += int(statm.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14 to 17 of stat, 12 to 15 after the name.
            ticks += sum(int(value) for value in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return rss, ticks / _TICKS


@dataclass
class MemorySampler:
    """Samples the RSS and CPU time of a process tree every SAMPLE_SECONDS on a thread, as
    (time, bytes, CPU seconds); `also` are the roots of other trees counted with it (a server's)."""

    pid: int
    also: list[int] = field(default_factory=list)
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            usages = [_tree_usage(pid) for pid in (self.pid, *self.also)]
            self.samples.append((time.time(), sum(rss for rss, _ in usages), sum(cpu for _, cpu in usages)))
            self._stop.wait(SAMPLE_SECONDS)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for at, rss, _ in self.samples if start <= at <= end), default=0)

    def cpu(self, start: float = 0.0, end: float = float("inf")) -> float:
        """CPU seconds the tree used between `start` and `end` (to the sampling period)."""
        within = [cpu for at, _, cpu in self.samples if start <= at <= end]
        before = [cpu for at, _, cpu in self.samples if at < start]
        return (max(within, default=0.0) - (before[-1] if before else 0.0)) if within else 0.0
