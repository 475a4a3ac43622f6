"""Per-source picture-quality windows: the ``scene_quality`` rows of the tamper stage.

Frames are credited sample-and-hold, like the heat maps': what a frame shows is taken to last
until the next frame of the source (at most ``max_gap_s``); the last frame of a stream holds as
long as the gap before it. Windows are aligned to the Unix epoch (a ``1min`` window starts at
``:00``), so windows of different runs and cameras line up. Picture numbers are averaged over
the window's frames; ``<condition>_s`` counts the seconds each condition was reported (from its
``tamper_start`` to its ``tamper_end``).

Example:
    >>> from datetime import UTC, datetime, timedelta
    >>> from streamcv.features.tamper.events import Condition
    >>> acc = QualityWindows("cam", "tamper", window_s=60, max_gap_s=5)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = []
    >>> for s in range(0, 90, 10):  # a frame every 10 s (held 5 s at most); covered after 60 s
    ...     lost = frozenset({Condition.COVERED}) if s >= 60 else frozenset()
    ...     rows += acc.add(t0 + timedelta(seconds=s), (100.0 - s, 40.0, 500.0), lost)
    >>> [(r["frames"], r["seconds"], r["brightness_min"], r["covered_s"])
    ...  for r in rows + acc.flush()]
    [(6, 30.0, 50.0, 0.0), (3, 15.0, 20.0, 15.0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streamcv.features.tamper.events import Condition
from streamcv.features.tamper.schema import CONDITION_COLUMNS, STAT_COLUMNS
from streamcv.timeparse import window_start

__all__ = ["QualityWindows"]

Stats = tuple[float, float, float]  # brightness, contrast, sharpness


@dataclass
class _Open:
    start: datetime
    first_ts: datetime
    last_ts: datetime
    frames: int = 0
    seconds: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(STAT_COLUMNS))
    mins: list[float] = field(default_factory=lambda: [math.inf] * len(STAT_COLUMNS))
    condition_s: dict[Condition, float] = field(
        default_factory=lambda: dict.fromkeys(Condition, 0.0))
    tampered_s: float = 0.0


class QualityWindows:
    """Accumulates one source's frames into windows and returns their rows when they close.

    Args:
        source, stage: copied into every row (the writer turns ``source`` into ``source_id``).
        window_s: window length in seconds.
        max_gap_s: longest time one frame may stand for.
    """

    def __init__(self, source: str, stage: str, *, window_s: float, max_gap_s: float) -> None:
        if window_s <= 0 or max_gap_s <= 0:
            raise ValueError(f"window_s and max_gap_s must be > 0, got {window_s}, {max_gap_s}")
        self.source, self.stage = source, stage
        self.window_s, self.max_gap_s = float(window_s), float(max_gap_s)
        self._open: _Open | None = None
        self._pending: tuple[datetime, frozenset[Condition]] | None = None
        self._last_dt: float | None = None

    def add(self, ts: datetime, stats: Stats, active: frozenset[Condition]) -> list[dict[str, Any]]:
        """Record one frame at ``ts``; return the rows of the windows this closes."""
        rows: list[dict[str, Any]] = []
        if self._pending is not None:
            gap = (ts - self._pending[0]).total_seconds()
            if gap < 0:  # time went backwards (the source restarted): close everything first
                rows += self.flush()
            else:
                self._last_dt = min(gap, self.max_gap_s)
                self._credit(self._last_dt)
        start = window_start(ts, self.window_s)
        if self._open is not None and self._open.start != start:
            rows.append(self._close())
        o = self._open
        if o is None:
            o = self._open = _Open(start, ts, ts)
        o.frames += 1
        o.last_ts = ts
        for i, v in enumerate(stats):
            o.sums[i] += v
            o.mins[i] = min(o.mins[i], v)
        self._pending = (ts, active)
        return rows

    def flush(self) -> list[dict[str, Any]]:
        """Credit the last frame and close the open window (end of stream, reset)."""
        if self._pending is not None:
            self._credit(self._last_dt if self._last_dt is not None else min(1.0, self.max_gap_s))
            self._pending = None
        self._last_dt = None
        return [self._close()] if self._open is not None else []

    def _credit(self, dt: float) -> None:
        o, p = self._open, self._pending
        assert o is not None and p is not None
        o.seconds += dt
        for cond in p[1]:
            o.condition_s[cond] += dt
        if p[1]:
            o.tampered_s += dt

    def _close(self) -> dict[str, Any]:
        o = self._open
        assert o is not None
        self._open = None
        row: dict[str, Any] = {
            "source": self.source, "stage": self.stage, "ts": o.start,
            "ts_end": o.start + timedelta(seconds=self.window_s), "first_ts": o.first_ts,
            "last_ts": o.last_ts, "frames": o.frames, "seconds": round(o.seconds, 6),
        }
        for name, total, low in zip(STAT_COLUMNS, o.sums, o.mins, strict=True):
            row[f"{name}_mean"] = round(total / o.frames, 4)
            row[f"{name}_min"] = round(low, 4)
        for cond, column in CONDITION_COLUMNS.items():
            row[column] = round(o.condition_s[cond], 6)
        row["tampered_s"] = round(o.tampered_s, 6)
        return row
