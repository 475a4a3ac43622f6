"""The daemon hands free heap pages back to the OS on its watchdog thread, as configured."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.daemon.daemonkit import start_daemon


@pytest.mark.parametrize(("interval_s", "expect_trims"), [(0.2, True), (0.0, False)])
def test_periodic_heap_trim(tmp_path: Path, interval_s: float, expect_trims: bool) -> None:
    d = start_daemon({
        "database": {"url": f"sqlite:///{tmp_path}/m.db", "flush_interval_s": 0.2},
        "health": {"listen": None, "watchdog_interval_s": 0.05,
                   "memory_trim_interval_s": interval_s},
        "spool": {"dir": str(tmp_path / "spool")},
        "sources": [{"type": "synthetic", "id": "syn", "seconds": 600, "fps": 10, "width": 64,
                     "height": 48, "realtime": True}]})
    try:
        deadline = time.monotonic() + 10
        while d.daemon.trims < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        if not expect_trims:
            time.sleep(1.0)
    finally:
        d.stop()
    assert (d.daemon.trims >= 2) == expect_trims, d.daemon.trims
