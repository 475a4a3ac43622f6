"""Allocator tuning and the memory helpers the daemon uses (glibc: the CI and dev machines)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streamcv.runtime.memory import resident_bytes, trim_heap

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator")


def _in_child(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (mallopt settings are process-wide)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=60, check=True)
    return out.stdout.strip()


@glibc
@pytest.mark.parametrize(("kwargs", "env", "expected"), [
    ("", {}, "M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=256 MiB, M_ARENA_MAX=default (ok)"),
    ("mmap_threshold=256 << 10, trim_threshold=32 << 20, arenas=2", {},
     "M_MMAP_THRESHOLD=0.25 MiB, M_TRIM_THRESHOLD=32 MiB, M_ARENA_MAX=2 (ok)"),
    ("arenas=2", {"STREAMCV_MALLOC_ARENAS": "4", "STREAMCV_MALLOC_MMAP_MB": "0.5"},
     "M_MMAP_THRESHOLD=0.5 MiB, M_TRIM_THRESHOLD=256 MiB, M_ARENA_MAX=4 (ok)"),
    ("", {"STREAMCV_MALLOPT": "0"}, "mallopt: disabled by STREAMCV_MALLOPT=0"),
])
def test_tune_malloc_settings(kwargs: str, env: dict[str, str], expected: str) -> None:
    got = _in_child("from streamcv.runtime.memory import tune_malloc\n"
                    f"print(tune_malloc({kwargs}))", **env)
    assert got.endswith(expected), got


@glibc
def test_trim_gives_freed_heap_pages_back() -> None:
    """Many small blocks freed in the middle of the heap stay resident until trimmed."""
    code = """
from streamcv.runtime.memory import resident_bytes, trim_heap, tune_malloc
tune_malloc(trim_threshold=1 << 30)  # nothing is returned without an explicit trim
before = resident_bytes()
blocks = [bytearray(4000) for _ in range(50_000)]  # ~200 MB of heap, below the mmap threshold
keep = blocks[-1]
del blocks
freed = resident_bytes()
assert trim_heap()
print(before >> 20, freed >> 20, resident_bytes() >> 20)
"""
    before, freed, trimmed = (int(v) for v in _in_child(code).split())
    assert freed - before > 150, (before, freed)  # the freed blocks are still resident ...
    assert trimmed - before < 30, (before, freed, trimmed)  # ... until trimmed


def test_resident_bytes_is_this_process() -> None:
    rss = resident_bytes()
    if rss is None:
        pytest.skip("no /proc on this platform")
    assert 10e6 < rss < 16e9
    trim_heap()  # safe to call anywhere
