"""Which frames a sampled read keeps, decided from packet timestamps before decoding.

Selection rule (the same whether frames are decoded or skipped):
- ``every_n=N``: frames whose index is a multiple of N;
- ``fps=F``: for each target time ``start + k/F``, the first frame whose time is ≥ the target
  (a frame is taken at most once);
- neither: every frame.

``GopPlanner`` applies the rule to one GOP (a keyframe and the packets up to the next keyframe) at a
time, knowing only packet timestamps, so the file source can skip decoding GOPs that hold no wanted
frame and stop decoding a GOP after its last wanted frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Sampler", "GopPlanner"]


@dataclass
class Sampler:
    """Stateful frame selector in presentation order.

    Example:
        >>> s = Sampler(fps=1.0)
        >>> [t for t in (0.0, 0.4, 0.9, 1.0, 1.5, 2.2) if s.take(0, t)]
        [0.0, 1.0, 2.2]
    """

    every_n: int | None = None
    fps: float | None = None
    start: float = 0.0
    _next_target: float | None = None

    def __post_init__(self) -> None:
        if self.every_n is not None and self.fps is not None:
            raise ValueError("every_n and fps are mutually exclusive")
        self._next_target = self.start if self.fps is not None else None

    @property
    def selective(self) -> bool:
        return (self.every_n is not None and self.every_n > 1) or self.fps is not None

    def take(self, index: int, time: float) -> bool:
        """Decide for the next frame in presentation order."""
        if self.every_n is not None:
            return index % self.every_n == 0
        if self.fps is None or self._next_target is None:
            return True
        if time + 1e-9 < self._next_target:
            return False
        # advance past every target this frame satisfies
        period = 1.0 / self.fps
        k = math.floor((time - self.start) / period + 1e-9) + 1
        self._next_target = self.start + k * period
        return True

    def next_target(self) -> float | None:
        """Earliest time a future frame could be taken at (``None``: any frame)."""
        return self._next_target


@dataclass
class GopPlanner:
    """Plans which presentation timestamps of one GOP to decode.

    ``plan(pts_list, first_index)`` takes the GOP's packet pts (decode order) and the index of its
    first frame, and returns the set of wanted pts, in the sampler's order.
    """

    sampler: Sampler
    to_seconds: float  # seconds per pts tick
    start_pts: int

    def plan(self, gop_pts: list[int], first_index: int) -> list[int]:
        wanted = []
        for rank, pts in enumerate(sorted(gop_pts)):
            t = (pts - self.start_pts) * self.to_seconds
            if t + 1e-9 < self.sampler.start:  # before the range (a seek lands on an earlier key)
                continue
            if self.sampler.take(first_index + rank, t):
                wanted.append(pts)
        return wanted
