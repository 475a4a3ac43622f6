"""Helpers for the faces tests: reading photos, making video and still frames, pasting faces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from streamcv.types import Frame

__all__ = ["T0", "read_rgb", "video_frame", "still_frame", "paste"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def video_frame(image: np.ndarray, *, index: int, fps: float = 10.0, source: str = "cam"
                ) -> Frame:
    return Frame.create(source, index, image, pts=index, time_base=Fraction(1) / Fraction(fps),
                        wallclock=T0 + timedelta(seconds=index / fps))


def still_frame(image: np.ndarray, *, index: int = 0, source: str = "photos") -> Frame:
    return Frame.create(source, index, image, pts=None, time_base=Fraction(1), wallclock=T0)


def paste(canvas: np.ndarray, face: np.ndarray, x: int, y: int, size: int) -> np.ndarray:
    out = canvas.copy()
    out[y:y + size, x:x + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return out
