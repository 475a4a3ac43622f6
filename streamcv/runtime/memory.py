"""Process-wide allocator tuning for frame-sized buffers.

Decoded RGB frames are about 1 MB each (more at 1080p). glibc serves allocations above its mmap
threshold with a fresh ``mmap`` and returns them to the OS on ``free``, so a pipeline that keeps
a frame alive while the next is decoded page-faults every buffer in again: measured ~212k minor
faults per 1,394 frames at 768x432, and 15-35 % of decode throughput (bench/bench_decode.py).
Raising the mmap and trim thresholds keeps those buffers in the heap for reuse. The cost is that
up to ``trim`` bytes of freed memory stay with the process instead of going back to the OS.

A daemon wants the opposite trade. Its reader threads come and go with every camera reconnect,
each allocating in a glibc arena of its own (up to 8 per core), and frames kept in the heap leave
those arenas fragmented: RSS stepped up by 95-350 MiB minutes after warm-up in the soak
(bench/soak_daemon.py). ``streamcv run`` therefore gives frame-sized buffers (>= 256 KiB) pages
of their own, which go back to the OS when freed, shares two arenas among all threads, and calls
:func:`trim_heap` every minute; the soak then stayed within +3.7 % over 20 minutes. The page
faults cost little at camera frame rates.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

__all__ = ["tune_malloc", "trim_heap", "resident_bytes"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once (each ``CDLL`` load creates new ctypes classes)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tune_malloc(*, mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20,
                arenas: int = 0) -> str:
    """Tune glibc malloc for frame buffers (no-op elsewhere or with ``STREAMCV_MALLOPT=0``).

    ``STREAMCV_MALLOC_MMAP_MB`` / ``STREAMCV_MALLOC_TRIM_MB`` / ``STREAMCV_MALLOC_ARENAS``
    override the thresholds and the arena cap (``arenas`` 0 leaves glibc's default; the daemon
    uses a lower trim threshold and 2 arenas so that its RSS stays flat over months).

    Returns a one-line description of what was done.
    """
    if os.environ.get("STREAMCV_MALLOPT", "1") == "0":
        return "mallopt: disabled by STREAMCV_MALLOPT=0"
    def env_int(name: str, default: int, shift: int = 0) -> int:
        try:
            return int(float(os.environ[name]) * (1 << shift))
        except (KeyError, ValueError):
            return default

    mmap_threshold = env_int("STREAMCV_MALLOC_MMAP_MB", mmap_threshold, 20)
    trim_threshold = env_int("STREAMCV_MALLOC_TRIM_MB", trim_threshold, 20)
    arenas = env_int("STREAMCV_MALLOC_ARENAS", arenas)
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return "mallopt: not glibc, unchanged"
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold) and mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    if arenas > 0:
        ok = ok and mallopt(_M_ARENA_MAX, arenas)
    return (f"mallopt: M_MMAP_THRESHOLD={mmap_threshold / 2**20:g} MiB, "
            f"M_TRIM_THRESHOLD={trim_threshold >> 20} MiB, "
            f"M_ARENA_MAX={arenas or 'default'} ({'ok' if ok else 'failed'})")


def trim_heap() -> bool:
    """Give free heap memory back to the OS (glibc ``malloc_trim(0)``): whole free pages inside
    every arena, not only at the top. A daemon calls this now and then so that fragmentation left
    by frames of different sizes (reconnects, reloads) does not stay resident. False when not
    glibc or disabled by ``STREAMCV_MALLOPT=0``."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None or os.environ.get("STREAMCV_MALLOPT", "1") == "0":
        return False
    trim(0)  # returns 1 when it released something, 0 when there was nothing to release
    return True


def resident_bytes() -> int | None:
    """This process's resident set size in bytes (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
