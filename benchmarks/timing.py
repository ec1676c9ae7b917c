"""Timing and memory helpers: a stopwatch, measurement records and process peak memory."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


@dataclass
class Recorder:
    """Measurements of one benchmark run, one row per (workload, benchmark, variant, metric)."""

    path: Path | None = None
    rows: list[dict] = field(default_factory=list)

    def save(self) -> None:
        """Write the rows so far to `path` as CSV, so an interrupted run keeps its data."""
        if self.path is not None and self.rows:
            import pandas as pd

            self.path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(self.rows).to_csv(self.path, index=False)

    def add(
        self,
        workload: str,
        benchmark: str,
        variant: str,
        metric: str,
        value: float,
        repetition: int,
    ) -> None:
        """Record one measured value."""
        self.rows.append(
            {
                "workload": workload,
                "benchmark": benchmark,
                "variant": variant,
                "metric": metric,
                "value": float(value),
                "repetition": repetition,
                # Other processes on the machine slow the timings down: keep the load with them.
                "load_1min": os.getloadavg()[0],
            }
        )


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a one-element list that holds the block's wall time in seconds when it ends."""
    elapsed = [0.0]
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - start


def _children(pid: int) -> list[int]:
    children = PROC / str(pid) / "task" / str(pid) / "children"
    try:
        return [int(child) for child in children.read_text().split()]
    except OSError:
        return []


def _peak_rss_kib(pid: int) -> int | None:
    """Return the process's peak resident set size (VmHWM) in KiB, or None once it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class ProcessTreeSampler:
    """Sample the peak RSS of a process and all its descendants from /proc until stopped.

    VmHWM is each process's own peak, so a sample taken any time before the process exits
    contains the peak up to then. A process that grows in its last `interval` seconds, or lives
    shorter than that, can be under-reported. `wait4`'s ru_maxrss is no substitute: a child
    started with vfork and exec, as `subprocess` starts it, also reports its parent's peak.
    """

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.peaks_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pending = [self.root_pid]
            while pending:
                pid = pending.pop()
                peak = _peak_rss_kib(pid)
                if peak is not None:
                    self.peaks_kib[pid] = max(peak, self.peaks_kib.get(pid, 0))
                pending.extend(_children(pid))
            self._stop.wait(self.interval)


def own_peak_rss_mib() -> float:
    """Return this process's peak RSS so far in MiB."""
    peak = _peak_rss_kib(os.getpid())
    return (peak or 0) / 1024
