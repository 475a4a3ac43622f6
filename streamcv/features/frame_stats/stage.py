"""Frame statistics: brightness, contrast and sharpness (variance of the Laplacian)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.types import FrameResult, StageOutput

__all__ = ["FrameStatsConfig", "FrameStats", "frame_stats"]


class FrameStatsConfig(StageConfig):
    type: Literal["frame_stats"] = "frame_stats"
    max_side: int = Field(
        640, ge=32, description="Frames are downscaled so their longer side is at most this "
        "(sharpness is scale dependent; a fixed size keeps values comparable across cameras)."
    )


def frame_stats(rgb: np.ndarray, max_side: int = 640) -> dict[str, float]:
    """Brightness (mean luma 0-255), contrast (luma std) and sharpness (Laplacian variance).

    Example:
        >>> import numpy as np
        >>> frame_stats(np.full((10, 10, 3), 128, np.uint8))["brightness"]
        128.0
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    scale = max_side / max(h, w)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA)
    mean, std = cv2.meanStdDev(gray)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    return {
        "brightness": float(mean[0, 0]),
        "contrast": float(std[0, 0]),
        "sharpness": float(lap.var()),
    }


@stage_type("frame_stats", FrameStatsConfig)
class FrameStats(Stage[FrameStatsConfig]):
    """Per-frame image quality numbers: useful for camera health (dark, covered, out of focus)."""

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        side = self.config.max_side
        return [StageOutput(metrics=frame_stats(r.frame.image, side)) for r in batch]
