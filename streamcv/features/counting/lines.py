"""Counting tracks that cross a line segment, with hysteresis.

A track's anchor point (e.g. the feet: bottom centre of its box) has a signed distance to the
directed line ``start → end``: positive on the right-hand side as seen on screen (image y points
down), negative on the left. A track *commits* to a side only once it is more than ``margin``
pixels away from the line and within the segment's extent; a crossing is counted when a track
commits to the side opposite to the one it last committed to. So jitter around the line is never
counted, a track first seen on one side is not counted until it really crosses, and a track that
goes round the end of the segment is not counted (outside the segment's extent a track forgets
its side). Direction ``in`` = left → right side.

Example:
    >>> lc = LineCounter((0, 50), (100, 50), margin=5)
    >>> [lc.update([7], [[50, y]]) for y in (30, 48, 52, 60)][-1]
    [Crossing(track_id=7, direction='in')]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Crossing", "LineCounter"]

Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Crossing:
    track_id: int
    direction: Direction


class LineCounter:
    """Crossing counter of one line for one source (see the module docs)."""

    def __init__(self, start: npt.ArrayLike, end: npt.ArrayLike, *, margin: float,
                 max_tracks: int = 10_000) -> None:
        self.start = np.asarray(start, np.float64)
        self.end = np.asarray(end, np.float64)
        d = self.end - self.start
        self.length = float(np.hypot(*d))
        if self.length <= 0:
            raise ValueError("a counting line needs two distinct end points")
        self.unit = d / self.length
        self.margin = float(margin)
        self.max_tracks = max_tracks
        self._side: OrderedDict[int, int] = OrderedDict()
        self.counts: dict[Direction, int] = {"in": 0, "out": 0}

    def side_of(self, points: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """+1 / -1 for points committed to the right / left side, 0 inside the band, 2 outside
        the segment's extent."""
        p = np.asarray(points, np.float64).reshape(-1, 2) - self.start
        along = p @ self.unit
        across = p[:, 0] * self.unit[1] * -1 + p[:, 1] * self.unit[0]  # cross(unit, p)
        within = (along >= -self.margin) & (along <= self.length + self.margin)
        side = np.where(across > self.margin, 1, np.where(across < -self.margin, -1, 0))
        return np.where(within, side, 2).astype(np.int64)

    def update(self, track_ids: Iterable[int], points: npt.ArrayLike) -> list[Crossing]:
        """Feed this frame's confirmed tracks (ids and anchor points); return new crossings."""
        out = []
        for tid, side in zip(track_ids, self.side_of(points), strict=True):
            tid = int(tid)
            if side == 0:
                continue
            if side == 2:
                self._side.pop(tid, None)
                continue
            prev = self._side.get(tid)
            self._side[tid] = int(side)
            self._side.move_to_end(tid)
            if prev is not None and prev != side:
                direction: Direction = "in" if side > 0 else "out"
                self.counts[direction] += 1
                out.append(Crossing(tid, direction))
        while len(self._side) > self.max_tracks:
            self._side.popitem(last=False)
        return out

    def forget(self, track_ids: Iterable[int]) -> None:
        for tid in track_ids:
            self._side.pop(int(tid), None)

    def __len__(self) -> int:
        return len(self._side)
