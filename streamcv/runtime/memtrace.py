"""Finding what grows in a long-running process: ``tracemalloc`` snapshots on SIGUSR2.

With ``STREAMCV_TRACEMALLOC=N`` in the environment, ``streamcv run`` starts :mod:`tracemalloc`
keeping ``N`` frames per allocation (1 is enough to name the line; more shows who called it).
Each SIGUSR2 then logs the allocation sites whose live memory grew most since the previous
SIGUSR2 (or since the start), with the Python heap's total; compare two signals an hour apart to
see what a daemon is accumulating. Tracing costs CPU and memory (roughly 1.5-2x on
allocation-heavy code), so it is off unless asked for.

Example:
    >>> tracer = MemoryTracer(frames=1)
    >>> tracer.start()
    >>> keep = [bytearray(1000) for _ in range(100)]
    >>> any("memtrace" in line for line in tracer.report(limit=50))
    True
    >>> tracer.stop()
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import tracemalloc
from typing import Any

__all__ = ["MemoryTracer", "install_from_env"]

log = logging.getLogger(__name__)


class MemoryTracer:
    """Snapshots of the Python heap and the growth between consecutive ones."""

    def __init__(self, frames: int = 1) -> None:
        self.frames = max(1, frames)
        self._last: tracemalloc.Snapshot | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
        self._last = self._snapshot()

    def stop(self) -> None:
        tracemalloc.stop()
        self._last = None

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])

    def report(self, limit: int = 15) -> list[str]:
        """Lines naming the ``limit`` sites that grew most since the previous report."""
        with self._lock:
            snap = self._snapshot()
            previous, self._last = self._last, snap
        key = "traceback" if self.frames > 1 else "lineno"
        current, peak = tracemalloc.get_traced_memory()
        lines = [f"python heap: {current / 2**20:.1f} MiB traced (peak {peak / 2**20:.1f} MiB)"]
        if previous is not None:
            grown = sorted(snap.compare_to(previous, key), key=lambda d: -d.size_diff)
            rows = [(d.size_diff, d.size, d.count, d.traceback) for d in grown[:limit]]
        else:
            stats = snap.statistics(key)[:limit]
            rows = [(s.size, s.size, s.count, s.traceback) for s in stats]
        for diff, size, count, traceback in rows:
            where = " -> ".join(str(f) for f in traceback)  # caller -> allocation site
            lines.append(f"{diff / 1024:+10.1f} KiB  now {size / 1024:10.1f} KiB in "
                         f"{count} blocks  {where}")
        return lines


def install_from_env() -> MemoryTracer | None:
    """Start tracing and hook SIGUSR2 when ``STREAMCV_TRACEMALLOC`` is set (main thread only)."""
    value = os.environ.get("STREAMCV_TRACEMALLOC", "")
    if not value.isdigit() or int(value) < 1:
        return None
    tracer = MemoryTracer(frames=int(value))
    tracer.start()

    def log_report() -> None:
        for line in tracer.report():
            log.warning("memory: %s", line)

    def dump(_signum: int, _frame: Any) -> None:
        # The report runs on its own thread: a snapshot can take seconds on a large heap.
        threading.Thread(target=log_report, name="memtrace", daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR2, dump)
    log.warning("tracemalloc on (%d frames): send SIGUSR2 to log what grew", tracer.frames)
    return tracer
