"""Process-wide allocator tuning for frame-sized buffers.

Decoded RGB frames are about 1 MB each (more at 1080p). glibc serves allocations above its mmap
threshold with a fresh ``mmap`` and returns them to the OS on ``free``, so a pipeline that keeps
a frame alive while the next is decoded page-faults every buffer in again: measured ~212k minor
faults per 1,394 frames at 768x432, and 15-35 % of decode throughput (bench/bench_decode.py).
Raising the mmap and trim thresholds keeps those buffers in the heap for reuse. The cost is that
up to ``trim`` bytes of freed memory stay with the process instead of going back to the OS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["tune_malloc"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_malloc(*, mmap_threshold: int = 32 << 20, trim_threshold: int = 256 << 20) -> str:
    """Tune glibc malloc for frame buffers (no-op elsewhere or with ``STREAMCV_MALLOPT=0``).

    ``STREAMCV_MALLOC_MMAP_MB`` / ``STREAMCV_MALLOC_TRIM_MB`` override the two thresholds (the
    daemon uses a lower trim threshold so that its RSS stays flat over months).

    Returns a one-line description of what was done.
    """
    if os.environ.get("STREAMCV_MALLOPT", "1") == "0":
        return "mallopt: disabled by STREAMCV_MALLOPT=0"
    for env, name in (("STREAMCV_MALLOC_MMAP_MB", "mmap"), ("STREAMCV_MALLOC_TRIM_MB", "trim")):
        value = os.environ.get(env)
        if value and value.isdigit():
            if name == "mmap":
                mmap_threshold = int(value) << 20
            else:
                trim_threshold = int(value) << 20
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "mallopt: not glibc, unchanged"
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold) and mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    return (f"mallopt: M_MMAP_THRESHOLD={mmap_threshold >> 20} MiB, "
            f"M_TRIM_THRESHOLD={trim_threshold >> 20} MiB ({'ok' if ok else 'failed'})")
