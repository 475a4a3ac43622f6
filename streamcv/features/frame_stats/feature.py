"""Frame statistics: brightness and size per frame (a minimal stage, handy in tests)."""

from __future__ import annotations

from streamcv.features.frame_stats.stage import FrameStats
from streamcv.plugins import Feature

FEATURE = Feature(name="frame_stats", summary="mean brightness and size of each frame",
                  stages=(FrameStats,))
