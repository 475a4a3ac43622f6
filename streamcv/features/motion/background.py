"""A background model that survives lighting changes.

Wraps OpenCV's MOG2 or KNN subtractor (chosen by name) and adds what CCTV needs around it:

* **time-based learning**: the learning rate follows the time between frames, so "a stationary
  object becomes background after ``absorb_s`` seconds" holds at any frame rate or sampling;
* **exposure compensation**: the frame's tone curve is fitted against the background and undone
  before subtraction (auto-exposure, auto-gain, slow daylight drift);
* **global-change suppression**: when the change is too large to compensate (lights switched,
  IR mode, a camera's exposure jump) or most of the picture changes at once, the model
  re-baselines: it reports no foreground, learns quickly until the picture is stable again, and
  says so (``ModelStep.started`` / ``ModelStep.ended``), so the caller can record it.

Example:
    >>> import numpy as np
    >>> model = BackgroundModel(BackgroundParams(warmup_frames=2), (48, 64))
    >>> room = np.tile(np.linspace(40, 160, 64).astype(np.uint8), (48, 1))
    >>> [str(model.step(room, dt=0.1).state) for _ in range(3)]
    ['warmup', 'warmup', 'ready']
    >>> step = model.step(room // 3, dt=0.1)   # lights off
    >>> str(step.state), step.started.reason
    ('rebaseline', 'exposure')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.features.motion.exposure import fit_transfer

__all__ = [
    "Method", "ModelState", "BackgroundParams", "GlobalChange", "ModelStep", "BackgroundModel",
]

#: MOG2/KNN treat a component as background once its weight passes 1 - backgroundRatio (0.1):
#: after about 0.105 / rate frames. The learning rate for ``absorb_s`` follows from that.
_ABSORB_WEIGHT = 0.105


class Method(StrEnum):
    """OpenCV background subtractors."""

    MOG2 = "mog2"
    KNN = "knn"


class ModelState(StrEnum):
    WARMUP = "warmup"
    READY = "ready"
    REBASELINE = "rebaseline"


@dataclass(frozen=True)
class BackgroundParams:
    """Tuning of :class:`BackgroundModel` (the motion stage's config fills it)."""

    method: Method = Method.MOG2
    var_threshold: float = 16.0
    absorb_s: float = 60.0
    warmup_frames: int = 10
    compensate: bool = True
    max_shift: float = 25.0
    global_share: float = 0.7
    rebaseline_rate: float = 0.25
    settle_frames: int = 5
    settle_s: float = 1.0
    settle_level: float = 1.0
    rebaseline_max_s: float = 10.0
    still_rate: float = 0.5


@dataclass(frozen=True)
class GlobalChange:
    """Why a re-baseline started: ``exposure`` (brightness shift beyond compensation) or
    ``share`` (most of the picture changed)."""

    reason: str
    shift: float
    share: float
    level_before: float
    level_now: float


@dataclass(frozen=True)
class ModelStep:
    """Result of one frame: the foreground mask (``None`` unless ``state`` is ready)."""

    state: ModelState
    fg: npt.NDArray[np.uint8] | None
    shift: float = 0.0
    started: GlobalChange | None = None
    ended_after_s: float | None = None


class BackgroundModel:
    """Per-camera background model on grey frames of one fixed shape.

    Args:
        params: tuning.
        shape: (height, width) of the frames given to :meth:`step`.
        reference: optional background picture (grey, same shape), e.g. for still images: the
            model starts from it and needs no warm-up.
    """

    def __init__(
        self,
        params: BackgroundParams,
        shape: tuple[int, int],
        *,
        reference: npt.NDArray[np.uint8] | None = None,
    ) -> None:
        self.params = params
        self.shape = shape
        self._sub = self._new_subtractor()
        self._seen = 0
        self._state = ModelState.WARMUP
        self._level = 0.0  # mean grey level of the latest frame
        self._ready_level = 0.0  # mean level of the background when it was last ready
        self._settled = 0
        self._settled_s = 0.0
        self._rebase_frames = 0
        self._rebase_s = 0.0
        if reference is not None:
            if reference.shape != shape:
                raise ValueError(f"reference background is {reference.shape}, frames are {shape}")
            self._sub.apply(reference, learningRate=1.0)
            self._seen = max(1, params.warmup_frames)
            self._state = ModelState.READY
            self._level = self._ready_level = float(reference.mean())

    def _new_subtractor(self) -> cv2.BackgroundSubtractor:
        p = self.params
        if p.method == Method.KNN:
            return cv2.createBackgroundSubtractorKNN(
                history=500, dist2Threshold=p.var_threshold * 25.0, detectShadows=False
            )
        return cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=p.var_threshold, detectShadows=False
        )

    @property
    def state(self) -> ModelState:
        return self._state

    def _rate(self, dt: float | None) -> float:
        if dt is None:  # still images: no time between them
            return self.params.still_rate
        return min(1.0, _ABSORB_WEIGHT * max(dt, 0.0) / self.params.absorb_s)

    def step(self, gray: npt.NDArray[np.uint8], *, dt: float | None) -> ModelStep:
        """Feed one grey frame; ``dt``: seconds since the previous frame (``None`` for stills)."""
        if gray.shape != self.shape:
            raise ValueError(f"frame is {gray.shape}, model is {self.shape}")
        level_before, self._level = self._level, float(gray.mean())
        if self._state == ModelState.WARMUP:
            self._seen += 1
            self._sub.apply(gray, learningRate=1.0 / self._seen)
            if self._seen >= max(1, self.params.warmup_frames):
                self._state = ModelState.READY
                self._ready_level = self._level
            return ModelStep(ModelState.WARMUP, None)
        if self._state == ModelState.REBASELINE:
            return self._rebaselining(gray, level_before, dt)
        return self._ready(gray, dt)

    def _ready(self, gray: npt.NDArray[np.uint8], dt: float | None) -> ModelStep:
        p = self.params
        shift = 0.0
        if p.compensate:
            fit = fit_transfer(np.asarray(self._sub.getBackgroundImage(), np.uint8), gray)
            if fit is not None:
                shift = fit.shift
                if abs(shift) > p.max_shift:
                    return self._start(gray, dt, "exposure", shift=shift, share=float("nan"))
                gray = fit.apply(gray)
        fg = np.asarray(self._sub.apply(gray, learningRate=self._rate(dt)), np.uint8)
        share = float(np.count_nonzero(fg)) / fg.size
        if share > p.global_share:
            return self._start(gray, dt, "share", shift=shift, share=share)
        self._ready_level = self._level - shift
        return ModelStep(ModelState.READY, fg, shift)

    def _start(
        self, gray: npt.NDArray[np.uint8], dt: float | None, reason: str, *, shift: float,
        share: float,
    ) -> ModelStep:
        change = GlobalChange(reason, shift, share, self._ready_level, self._level)
        self._state = ModelState.REBASELINE
        self._settled = 0
        self._settled_s = 0.0
        self._rebase_frames = 0
        self._rebase_s = 0.0
        if dt is None:  # a still image: start again from this picture at once
            self._sub = self._new_subtractor()
            self._sub.apply(gray, learningRate=1.0)
            self._state = ModelState.READY
            self._ready_level = self._level
            return ModelStep(ModelState.REBASELINE, None, shift, started=change, ended_after_s=0.0)
        self._sub.apply(gray, learningRate=self.params.rebaseline_rate)
        return ModelStep(ModelState.REBASELINE, None, shift, started=change)

    def _rebaselining(
        self, gray: npt.NDArray[np.uint8], level_before: float, dt: float | None
    ) -> ModelStep:
        p = self.params
        self._sub.apply(gray, learningRate=p.rebaseline_rate)
        step_s = max(dt or 0.0, 0.0)
        self._rebase_frames += 1
        self._rebase_s += step_s
        if abs(self._level - level_before) < p.settle_level:
            self._settled += 1
            self._settled_s += step_s
        else:
            self._settled, self._settled_s = 0, 0.0
        settled = self._settled >= p.settle_frames and self._settled_s >= p.settle_s
        if settled or self._rebase_s >= p.rebaseline_max_s:
            self._state = ModelState.READY
            self._ready_level = self._level
            return ModelStep(ModelState.REBASELINE, None, ended_after_s=self._rebase_s)
        return ModelStep(ModelState.REBASELINE, None)
