"""Motion by background subtraction (OpenCV MOG2/KNN) with per-source state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from streamcv.stages.base import Stage, StageConfig, register_stage
from streamcv.types import Detections, Event, FrameResult, StageOutput

__all__ = ["MotionConfig", "Motion"]


class MotionConfig(StageConfig):
    type: Literal["motion"] = "motion"
    method: Literal["mog2", "knn"] = Field("mog2", description="OpenCV background subtractor.")
    history: int = Field(200, ge=2, description="Frames of history in the background model.")
    var_threshold: float = Field(
        25.0, gt=0, description="MOG2 varThreshold / KNN dist2Threshold scale."
    )
    work_width: int = Field(320, ge=32, description="Frames are downscaled to this width.")
    min_area: float = Field(
        0.001, gt=0, lt=1,
        description="Smallest moving region as a fraction of the frame area.",
    )
    warmup_frames: int = Field(
        5, ge=0, description="Frames after a (re)start during which no motion is reported."
    )
    kernel: int = Field(3, ge=1, le=31, description="Morphology kernel size (pixels, work size).")


@dataclass
class _SourceState:
    subtractor: cv2.BackgroundSubtractor
    shape: tuple[int, int]
    seen: int = 0
    active: bool = False


@register_stage("motion", MotionConfig)
class Motion(Stage[MotionConfig]):
    """Foreground share of the frame and boxes of moving regions (source pixels).

    Emits ``motion_start``/``motion_end`` events when motion appears or disappears.
    """

    def __init__(self, config: MotionConfig) -> None:
        super().__init__(config)
        self._state: dict[str, _SourceState] = {}
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (config.kernel, config.kernel))

    def _new_subtractor(self) -> cv2.BackgroundSubtractor:
        c = self.config
        if c.method == "knn":
            return cv2.createBackgroundSubtractorKNN(
                history=c.history, dist2Threshold=c.var_threshold * 16, detectShadows=False
            )
        return cv2.createBackgroundSubtractorMOG2(
            history=c.history, varThreshold=c.var_threshold, detectShadows=False
        )

    def _state_for(self, source_id: str, shape: tuple[int, int]) -> _SourceState:
        st = self._state.get(source_id)
        if st is None or st.shape != shape:  # new source or resolution change: re-baseline
            st = _SourceState(self._new_subtractor(), shape)
            self._state[source_id] = st
        return st

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [self._one(r) for r in batch]

    def _one(self, result: FrameResult) -> StageOutput:
        frame = result.frame
        h, w = frame.height, frame.width
        scale = min(1.0, self.config.work_width / w)
        small = frame.image
        if scale < 1.0:
            small = cv2.resize(small, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        st = self._state_for(frame.source_id, gray.shape)
        fg = st.subtractor.apply(gray)
        st.seen += 1
        if st.seen <= self.config.warmup_frames:
            return StageOutput(metrics={"score": 0.0, "regions": 0.0},
                               detections=Detections.empty(("motion",)))
        mask = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
        min_px = self.config.min_area * mask.size
        keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_px]
        boxes = np.array(
            [[stats[i, 0], stats[i, 1], stats[i, 0] + stats[i, 2], stats[i, 1] + stats[i, 3]]
             for i in keep], dtype=np.float32,
        ).reshape(-1, 4) / scale
        area = np.array([stats[i, cv2.CC_STAT_AREA] for i in keep], np.float32) / mask.size
        score = float(np.count_nonzero(fg) / fg.size)
        dets = Detections.from_arrays(boxes, np.clip(area * 10, 0, 1), np.zeros(len(keep)),
                                      labels=("motion",), data={"area": area})
        events: tuple[Event, ...] = ()
        active = len(keep) > 0
        if active != st.active:
            st.active = active
            kind = "motion_start" if active else "motion_end"
            events = (Event(kind, f"{len(keep)} moving region(s), score {score:.3f}"),)
        return StageOutput(metrics={"score": score, "regions": float(len(keep))},
                           detections=dets, events=events, data={"mask": mask})

    def reset(self, source_id: str) -> None:
        self._state.pop(source_id, None)
