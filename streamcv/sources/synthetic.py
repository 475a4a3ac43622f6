"""A synthetic test clip: moving shapes on a textured background, deterministic per seed.

Used by ``streamcv demo`` when no input is given, and by tests that need frames without files.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import Field

from streamcv.sources.base import BufferPolicy, Source, SourceInfo
from streamcv.sources.registry import register_source
from streamcv.strict import StrictModel
from streamcv.types import Frame

__all__ = ["SyntheticSourceConfig", "SyntheticSource", "synth_frame"]


class SyntheticSourceConfig(StrictModel):
    type: Literal["synthetic"] = "synthetic"
    id: str = Field("synthetic", min_length=1)
    seconds: float = Field(10.0, gt=0, description="Clip length.")
    fps: float = Field(10.0, gt=0, le=240)
    width: int = Field(640, ge=16, le=7680)
    height: int = Field(360, ge=16, le=4320)
    walkers: int = Field(3, ge=0, le=50, description="Moving blobs (stand-ins for people).")
    seed: int = 0
    realtime: bool = Field(False, description="Pace frames like a live camera.")
    start_time: datetime = Field(
        datetime(2026, 1, 1, 9, 0, tzinfo=UTC), description="Wall clock of frame 0."
    )


def synth_frame(index: int, *, width: int, height: int, walkers: int, seed: int) -> np.ndarray:
    """Frame ``index`` of the synthetic clip (RGB uint8)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx // 32 + yy // 32) % 2 * 40 + 60).astype(np.uint8)
    img = np.repeat(base[:, :, None], 3, axis=2)
    img[..., 1] = np.clip(img[..., 1].astype(int) + 20, 0, 255)
    starts = rng.uniform(0, 1, size=(walkers, 2))
    speeds = rng.uniform(-0.01, 0.01, size=(walkers, 2))
    bw, bh = max(4, width // 20), max(8, height // 6)
    for k in range(walkers):
        fx, fy = (starts[k] + speeds[k] * index) % 1.0
        x, y = int(fx * (width - bw)), int(fy * (height - bh))
        img[y:y + bh, x:x + bw] = (200, 60 + 40 * k % 190, 40)
    return img


@register_source("synthetic", SyntheticSourceConfig)
class SyntheticSource(Source):
    kind = "synthetic"
    policy = BufferPolicy.WAIT

    def __init__(self, config: SyntheticSourceConfig) -> None:
        super().__init__(config.id)
        self.config = config

    def describe(self) -> str:
        c = self.config
        return f"synthetic:{c.width}x{c.height}@{c.fps:g}fps/{c.seconds:g}s"

    def _open(self) -> SourceInfo:
        c = self.config
        n = round(c.seconds * c.fps)
        return SourceInfo(self.source_id, self.kind, self.describe(), fps=c.fps, frame_count=n,
                          width=c.width, height=c.height, duration=c.seconds)

    def _iter_frames(self) -> Iterator[Frame]:
        c = self.config
        tb = Fraction(1, 1000)
        t0 = _time.monotonic()
        for i in range(round(c.seconds * c.fps)):
            t = i / c.fps
            if c.realtime:
                delay = t0 + t - _time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            img = synth_frame(i, width=c.width, height=c.height, walkers=c.walkers, seed=c.seed)
            yield Frame(self.source_id, i, round(t * 1000), tb, t,
                        c.start_time + timedelta(seconds=t), img)
