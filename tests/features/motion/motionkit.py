"""Synthetic scenes for the motion tests: a textured room, objects, lighting changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from streamcv.types import Frame, FrameResult

__all__ = ["W", "H", "room", "with_box", "frame", "results", "T0"]

W, H = 320, 192
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def room(seed: int = 3) -> npt.NDArray[np.uint8]:
    """A static RGB scene with texture at several grey levels (so exposure can be fitted)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(50, 200, (H // 16, W // 16), dtype=np.uint8)
    grey = cells.repeat(16, axis=0).repeat(16, axis=1)
    return np.repeat(grey[:, :, None], 3, axis=2)


def with_box(img: npt.NDArray[np.uint8], x: int, y: int, w: int = 40, h: int = 60,
             color: tuple[int, int, int] = (20, 20, 30)) -> npt.NDArray[np.uint8]:
    out = img.copy()
    out[y:y + h, x:x + w] = color
    return out


def frame(img: npt.NDArray[np.uint8], i: int, *, fps: float = 10.0, source: str = "cam",
          still: bool = False) -> Frame:
    if still:
        return Frame(source, i, None, Fraction(1, 1), float(i), T0, img)
    return Frame.create(source, i, img, pts=i, time_base=Fraction(1) / Fraction(fps),
                        wallclock=T0 + timedelta(seconds=i / fps))


def results(images: list[npt.NDArray[np.uint8]], **kw: object) -> list[FrameResult]:
    return [FrameResult(frame(img, i, **kw)) for i, img in enumerate(images)]  # type: ignore[arg-type]
