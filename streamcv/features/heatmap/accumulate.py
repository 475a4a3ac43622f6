"""Per-source accumulation of occupancy into epoch-aligned time windows.

Observations are weighted by sample-and-hold: what a frame shows is taken to last until the next
observed frame of the source, capped at ``max_gap_s`` (a dropped feed does not keep its last
crowd forever). The last observation of a stream holds as long as the gap before it (one
nominal second when it is the only one). Each hold is credited to the window of the observation
that starts it. Windows are aligned to the Unix epoch (a 15-minute window starts at :00, :15,
...), so windows of different runs and cameras line up and merge exactly.

With ``decay_s`` the accumulator also keeps a live, exponentially fading grid for live views.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime, timedelta
    >>> acc = WindowAccumulator("cam", "heatmap", "detections", window_s=60, max_gap_s=5)
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> closed = []
    >>> for s in range(0, 90, 10):  # one person in view, a frame every 10 s (held 5 s at most)
    ...     closed += acc.add(t0 + timedelta(seconds=s), np.ones((1, 1)), frame_size=(8, 8))
    >>> [(w.frames, w.seconds) for w in closed + acc.flush()]
    [(6, 30.0), (3, 15.0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.features.heatmap.grid import Grid, HeatWindow, resample_sum
from streamcv.timeparse import window_start

__all__ = ["WindowAccumulator"]



@dataclass
class _Open:
    start: datetime
    grid: Grid
    frame_size: tuple[int, int]
    frames: int = 0
    seconds: float = 0.0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    refs: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    next_ref: datetime | None = None


@dataclass
class _Pending:
    ts: datetime
    occupancy: Grid
    frame_size: tuple[int, int]


class WindowAccumulator:
    """Accumulates one source's observations into windows (see the module docstring).

    Args:
        source, stage, kind: copied into every window.
        window_s: window length in seconds.
        max_gap_s: longest time one observation may stand for.
        decay_s: time constant of the live fading grid (``None``: no live grid).
        reference_samples: frames sampled per window for its reference picture (their median
            removes passers-by); 0 keeps none.
        reference_width: width of the stored reference picture (pixels).
    """

    def __init__(
        self,
        source: str,
        stage: str,
        kind: str,
        *,
        window_s: float,
        max_gap_s: float = 5.0,
        decay_s: float | None = None,
        reference_samples: int = 5,
        reference_width: int = 480,
    ) -> None:
        if window_s <= 0 or max_gap_s <= 0:
            raise ValueError(f"window_s and max_gap_s must be > 0, got {window_s}, {max_gap_s}")
        self.source, self.stage, self.kind = source, stage, kind
        self.window_s = float(window_s)
        self.max_gap_s = float(max_gap_s)
        self.decay_s = decay_s
        self.reference_samples = reference_samples
        self.reference_width = reference_width
        self._open: _Open | None = None
        self._pending: _Pending | None = None
        self._last_dt: float | None = None
        self._live: Grid | None = None
        self._live_ts: datetime | None = None

    # public ----------------------------------------------------------------------------------
    def add(self, ts: datetime, occupancy: Grid, *, frame_size: tuple[int, int],
            image: npt.NDArray[np.uint8] | None = None) -> list[HeatWindow]:
        """Record one observation at ``ts``; return the windows this closes (oldest first)."""
        closed: list[HeatWindow] = []
        if self._pending is not None:
            gap = (ts - self._pending.ts).total_seconds()
            if gap < 0:  # time went backwards (source restarted): close everything first
                closed += self.flush()
            else:
                dt = min(gap, self.max_gap_s)
                self._last_dt = dt
                self._credit(self._pending, dt)
        start = window_start(ts, self.window_s)
        if self._open is not None and self._open.start != start:
            closed.append(self._close())
        if self._open is None:
            self._open = _Open(start, np.zeros(occupancy.shape), frame_size)
        self._sample_reference(ts, image)
        self._pending = _Pending(ts, np.asarray(occupancy, np.float64), frame_size)
        self._update_live(ts, occupancy)
        return closed

    def flush(self) -> list[HeatWindow]:
        """Credit the last observation and close the open window (end of stream)."""
        if self._pending is not None:
            dt = self._last_dt if self._last_dt is not None else min(1.0, self.max_gap_s)
            self._credit(self._pending, dt)
            self._pending = None
        self._last_dt = None
        return [self._close()] if self._open is not None and self._open.frames else []

    def live(self) -> Grid | None:
        """The live fading grid (person-seconds with decay), or ``None`` without ``decay_s``."""
        return None if self._live is None else self._live.copy()

    # internals -------------------------------------------------------------------------------
    def _credit(self, p: _Pending, dt: float) -> None:
        o = self._open
        assert o is not None
        occ = p.occupancy
        if occ.shape != o.grid.shape:  # the frame size changed mid-window: keep the window's
            occ = resample_sum(occ, o.grid.shape)  # grid, move the amounts onto it
        o.grid += occ * dt
        o.frames += 1
        o.seconds += dt
        o.first_ts = p.ts if o.first_ts is None else min(o.first_ts, p.ts)
        o.last_ts = p.ts if o.last_ts is None else max(o.last_ts, p.ts)
        o.frame_size = p.frame_size

    def _close(self) -> HeatWindow:
        o = self._open
        assert o is not None
        self._open = None
        ref = None
        if o.refs:
            shapes = {r.shape for r in o.refs}
            ref = (np.median(np.stack(o.refs), axis=0).astype(np.uint8)
                   if len(o.refs) >= 3 and len(shapes) == 1 else o.refs[0])
        first = o.first_ts or o.start
        return HeatWindow(
            self.source, self.stage, self.kind, o.start,
            o.start + timedelta(seconds=self.window_s), o.grid, o.frame_size, o.frames,
            o.seconds, first, o.last_ts or first, ref,
        )

    def _sample_reference(self, ts: datetime, image: npt.NDArray[np.uint8] | None) -> None:
        o = self._open
        if image is None or o is None or self.reference_samples <= 0:
            return
        if o.next_ref is not None and ts < o.next_ref:
            return
        if len(o.refs) >= self.reference_samples:
            return
        h, w = image.shape[:2]
        s = min(1.0, self.reference_width / w)
        small = image if s == 1.0 else cv2.resize(
            image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        o.refs.append(np.ascontiguousarray(small))
        o.next_ref = ts + timedelta(seconds=self.window_s / self.reference_samples)

    def _update_live(self, ts: datetime, occupancy: Grid) -> None:
        if self.decay_s is None:
            return
        if self._live is None or self._live.shape != occupancy.shape or self._live_ts is None:
            self._live = np.zeros(occupancy.shape)
            dt = 0.0
        else:
            dt = min(max(0.0, (ts - self._live_ts).total_seconds()), self.max_gap_s)
        self._live = self._live * math.exp(-dt / self.decay_s) + occupancy * max(dt, 1e-9)
        self._live_ts = ts
