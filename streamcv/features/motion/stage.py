"""Motion: lighting-robust background subtraction per camera, with zones, masks and persistence.

Per frame the stage reports (metrics, stored as observations):

* ``score``: share of the analysed picture covered by moving regions (0-1);
* ``regions``: number of moving regions (each at least ``min_area`` of the picture);
* ``active``: 1 while motion has persisted ``persist_frames`` frames and ``persist_s`` seconds;
* ``zone.<name>``: share of each zone covered by moving regions, once motion in that zone has
  persisted (0 otherwise);
* ``exposure_shift``: the camera's brightness change against the background that was
  compensated (grey levels); ``rebaselining``: 1 while a global change is being re-learned.

Boxes of the moving regions are detections labelled ``motion`` (source pixels; ``data`` has
``area`` and the ``zones`` each box touches). Events: ``motion_start``/``motion_end`` when
``active`` changes, ``motion_rebaseline`` when a global change (lights, IR switch, an exposure
jump) made the model start again instead of reporting motion, ``motion_rebaseline_end`` when
the picture is stable again.

Zones and masks are per camera: stage-wide ``zones``/``ignore``, overridden per source id (or
glob pattern such as ``"lobby-*"``) under ``cameras``. Still images work too: each image of an
ordered sequence is compared with the background learned from the ones before it, or with a
reference ``background`` image.

Example:
    >>> from streamcv.stages import build_stage
    >>> door = {"name": "door", "points": [[0, 0], [0.3, 0], [0.3, 1]], "normalized": True}
    >>> stage = build_stage({"type": "motion", "cameras": {"lobby": {"zones": [door]}}})
    >>> [z.name for z in stage.camera_config("lobby").zones], stage.camera_config("yard").zones
    (['door'], [])
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv.draw import draw_boxes, tint
from streamcv.errors import SourceNotFoundError, StageError
from streamcv.features.motion import (
    BackgroundModel,
    BackgroundParams,
    Method,
    ModelState,
    ModelStep,
    Persistence,
    Regions,
    find_regions,
)
from streamcv.features.motion.events import (
    MOTION_END,
    MOTION_START,
    REBASELINE,
    REBASELINE_END,
    rebaseline_data,
    rebaseline_end_data,
)
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.state import PerSource
from streamcv.strict import StrictModel
from streamcv.types import Detections, Event, Frame, FrameResult, StageOutput
from streamcv.zones import ZoneList, zone_mask

__all__ = ["MotionConfig", "CameraMotionConfig", "Motion"]

LABELS = ("motion",)
_MOVING_COLOR = (255, 60, 60)  # RGB


class CameraMotionConfig(StrictModel):
    """Zones, masks and reference background of one camera (each replaces the stage-wide one)."""

    zones: ZoneList = Field(default_factory=list, description="Named zones to report.")
    ignore: ZoneList = Field(
        default_factory=list, description="Areas never analysed (trees, clocks, a road)."
    )
    background: str | None = Field(
        None, description="Reference background image (still images are compared with it)."
    )


class MotionConfig(StageConfig):
    type: Literal["motion"] = "motion"
    method: Literal["mog2", "knn"] = Field("mog2", description="OpenCV background subtractor.")
    var_threshold: float = Field(
        16.0, gt=0, description="Foreground threshold (MOG2 varThreshold; KNN: x25 dist2)."
    )
    work_width: int = Field(320, ge=32, description="Frames are downscaled to this width.")
    min_area: float = Field(
        0.001, gt=0, lt=1, description="Smallest moving region as a share of the picture."
    )
    kernel: int = Field(3, ge=1, le=31, description="Morphology kernel size (work pixels).")
    warmup_frames: int = Field(
        10, ge=1, description="Frames learned before motion is reported (after a start)."
    )
    absorb_s: float = Field(
        60.0, gt=0, description="A stationary new object (a parked car, someone standing "
        "still) becomes background after about this long."
    )
    persist_frames: int = Field(3, ge=1, description="Motion must last this many frames...")
    persist_s: float = Field(0.3, ge=0, description="...and this many seconds to count.")
    release_frames: int = Field(
        2, ge=0, description="Gaps of up to this many still frames do not end motion."
    )
    compensate_exposure: bool = Field(
        True, description="Undo auto-exposure/gain changes before subtraction."
    )
    max_exposure_shift: float = Field(
        25.0, gt=0, description="A brightness change beyond this many grey levels is a global "
        "change: re-baseline instead of compensating."
    )
    global_share: float = Field(
        0.7, gt=0, le=1, description="When more than this share of the picture changes at "
        "once, re-baseline instead of reporting motion."
    )
    rebaseline_max_s: float = Field(
        10.0, gt=0, description="Longest re-baseline; normally it ends once brightness is stable."
    )
    still_learning_rate: float = Field(
        0.5, gt=0, le=1, description="Weight of each new still image in the background."
    )
    zones: ZoneList = Field(default_factory=list, description="Zones of every camera.")
    ignore: ZoneList = Field(default_factory=list, description="Masks of every camera.")
    background: str | None = Field(None, description="Reference background of every camera.")
    cameras: dict[str, CameraMotionConfig] = Field(
        default_factory=dict, description="Per camera (source id or glob pattern): zones, "
        "ignore, background overriding the stage-wide ones."
    )

    def params(self) -> BackgroundParams:
        return BackgroundParams(
            method=Method(self.method), var_threshold=self.var_threshold, absorb_s=self.absorb_s,
            warmup_frames=self.warmup_frames, compensate=self.compensate_exposure,
            max_shift=self.max_exposure_shift, global_share=self.global_share,
            rebaseline_max_s=self.rebaseline_max_s, still_rate=self.still_learning_rate,
        )


@dataclass
class _Camera:
    """State of one source at one frame size."""

    model: BackgroundModel
    scale: float
    analysed: npt.NDArray[np.bool_] | None  # None: the whole picture
    analysed_px: int
    zones: list[tuple[str, npt.NDArray[np.bool_]]]
    persistence: Persistence
    zone_persistence: dict[str, Persistence]
    last_time: float | None = None
    active: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@stage_type("motion", MotionConfig)
class Motion(Stage[MotionConfig]):
    """Moving regions, motion score, zone coverage and global-change handling per camera."""

    def __init__(self, config: MotionConfig) -> None:
        super().__init__(config)
        self._params = config.params()
        self._state: PerSource[_Camera] = PerSource()
        self._backgrounds: dict[str, npt.NDArray[np.uint8]] = {}

    # configuration ------------------------------------------------------------------------------
    def camera_config(self, source_id: str) -> CameraMotionConfig:
        """Zones, masks and background for ``source_id`` (exact id, then first glob match)."""
        c = self.config
        entry = c.cameras.get(source_id)
        if entry is None:
            entry = next((v for k, v in c.cameras.items() if fnmatch.fnmatchcase(source_id, k)),
                         None)
        base: dict[str, Any] = {"zones": c.zones, "ignore": c.ignore, "background": c.background}
        if entry is not None:
            base.update({k: getattr(entry, k) for k in entry.model_fields_set})
        return CameraMotionConfig.model_validate(base)

    def on_setup(self, context: StageContext) -> None:
        paths = [self.config.background, *(c.background for c in self.config.cameras.values())]
        for path in paths:
            if path is not None:
                self._load_background(path)

    def _load_background(self, path: str) -> npt.NDArray[np.uint8]:
        img = self._backgrounds.get(path)
        if img is None:
            from streamcv.errors import DecodeError
            from streamcv.sources.images import read_image

            p = Path(path).expanduser()
            if not p.is_file():
                raise SourceNotFoundError(f"motion: background image {p}: no such file")
            try:
                img = read_image(p)
            except DecodeError as exc:
                raise StageError(f"motion: background image {p}: {exc}") from exc
            self._backgrounds[path] = img
        return img

    def _work_gray(self, rgb: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # before resizing: a third of the work
        h, w = gray.shape
        if scale < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                              interpolation=cv2.INTER_AREA)
        return np.asarray(cv2.GaussianBlur(gray, (5, 5), 0), dtype=np.uint8)

    def _camera(self, frame: Frame) -> _Camera:
        h, w = frame.height, frame.width
        scale = min(1.0, self.config.work_width / w)
        st = self._state.get(frame.source_id)
        if st is not None and st.extra["size"] == (w, h):
            return st
        cam = self.camera_config(frame.source_id)
        gray_shape = self._work_gray(np.zeros((h, w, 3), np.uint8), scale).shape
        wh, ww = int(gray_shape[0]), int(gray_shape[1])
        reference = None
        if cam.background is not None:
            ref = self._load_background(cam.background)
            if abs(ref.shape[1] / ref.shape[0] - w / h) > 0.01:
                raise StageError(f"motion: background image {cam.background} is "
                                 f"{ref.shape[1]}x{ref.shape[0]}, frames are {w}x{h}")
            sized = np.asarray(cv2.resize(ref, (w, h), interpolation=cv2.INTER_AREA), np.uint8)
            reference = self._work_gray(sized, scale)
        analysed = None
        if cam.ignore:
            analysed = np.ones((wh, ww), bool)
            for z in cam.ignore:
                analysed &= ~zone_mask(z.polygon(width=w, height=h) * scale, width=ww, height=wh)
        zones = [(z.name, zone_mask(z.polygon(width=w, height=h) * scale, width=ww, height=wh))
                 for z in cam.zones]
        if analysed is not None:
            zones = [(n, m & analysed) for n, m in zones]
        still = frame.pts is None
        c = self.config

        def persistence() -> Persistence:
            if still:  # each image is judged on its own
                return Persistence(min_frames=1, min_s=0.0, release_frames=0)
            return Persistence(min_frames=c.persist_frames, min_s=c.persist_s,
                               release_frames=c.release_frames)

        st = _Camera(
            model=BackgroundModel(self._params, (wh, ww), reference=reference),
            scale=scale, analysed=analysed,
            analysed_px=int(analysed.sum()) if analysed is not None else wh * ww,
            zones=zones, persistence=persistence(),
            zone_persistence={n: persistence() for n, _ in zones},
            extra={"size": (w, h)},
        )
        self._state[frame.source_id] = st
        return st

    # processing ---------------------------------------------------------------------------------
    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [self._one(r.frame) for r in batch]

    def _one(self, frame: Frame) -> StageOutput:
        st = self._camera(frame)
        t = float(frame.time)
        dt = None if frame.pts is None else (0.0 if st.last_time is None else t - st.last_time)
        st.last_time = t
        step = st.model.step(self._work_gray(frame.image, st.scale), dt=dt)
        events = list(self._global_events(step, st))
        if step.fg is None:
            regions = None
            moving = False
        else:
            fg = step.fg
            if st.analysed is not None:
                fg = np.where(st.analysed, fg, 0).astype(np.uint8)
            regions = find_regions(fg, min_px=self.config.min_area * st.analysed_px,
                                   kernel=self.config.kernel)
            moving = len(regions) > 0
        active = st.persistence.update(moving, t)
        metrics: dict[str, float] = {
            "score": regions.pixels / st.analysed_px if regions is not None else 0.0,
            "regions": float(len(regions)) if regions is not None else 0.0,
            "active": float(active),
            "exposure_shift": round(step.shift, 2),
            "rebaselining": float(step.state == ModelState.REBASELINE),
        }
        touched: list[list[str]] = [[] for _ in range(len(regions) if regions is not None else 0)]
        for name, zmask in st.zones:
            cover = regions.coverage(zmask) if regions is not None else 0.0
            zone_on = st.zone_persistence[name].update(cover > 0, t)
            metrics[f"zone.{name}"] = cover if zone_on else 0.0
            if regions is not None:
                for i in np.flatnonzero(regions.touching(zmask)):
                    touched[i].append(name)
        if active != st.active:
            st.active = active
            kind = MOTION_START if active else MOTION_END
            events.append(Event(kind, f"{int(metrics['regions'])} moving region(s), score "
                                      f"{metrics['score']:.3f}"))
        return StageOutput(metrics=metrics, detections=self._detections(regions, st, touched),
                           events=tuple(events),
                           data={"mask": regions.mask if regions is not None else None,
                                 "scale": st.scale})

    def _detections(self, regions: Regions | None, st: _Camera,
                    touched: list[list[str]]) -> Detections:
        if regions is None or len(regions) == 0:
            return Detections.empty(LABELS)
        area = regions.areas.astype(np.float32) / st.analysed_px
        data: dict[str, Any] = {"area": area}
        if st.zones:
            zones = np.empty(len(regions), object)
            zones[:] = [list(z) for z in touched]
            data["zones"] = zones
        return Detections.from_arrays(regions.boxes / st.scale, np.clip(area * 10, 0.01, 1.0),
                                      np.zeros(len(regions)), labels=LABELS, data=data)

    @staticmethod
    def _global_events(step: ModelStep, st: _Camera) -> list[Event]:
        out = []
        g = step.started
        if g is not None:
            what = (f"brightness shift {g.shift:+.0f} levels" if g.reason == "exposure"
                    else f"{g.share:.0%} of the picture changed")
            out.append(Event(
                REBASELINE,
                f"global change ({what}; level {g.level_before:.0f} -> {g.level_now:.0f}): "
                "background re-learned, no motion reported",
                rebaseline_data(reason=g.reason, shift=g.shift, share=g.share,
                                level_before=g.level_before, level_now=g.level_now),
            ))
        if step.ended_after_s is not None and g is None:
            out.append(Event(REBASELINE_END,
                             f"picture stable again after {step.ended_after_s:.1f} s",
                             rebaseline_end_data(step.ended_after_s)))
        return out

    def draw(self, image: npt.NDArray[np.uint8], output: StageOutput) -> npt.NDArray[np.uint8]:
        """The moving pixels tinted, and a box around each moving region."""
        mask = output.data.get("mask")
        img = image
        if mask is not None and mask.any():
            h, w = image.shape[:2]
            full = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            img = tint(image, _MOVING_COLOR, mask=full.astype(bool), alpha=0.35)
        if output.detections is None:
            return np.array(img, copy=True) if img is image else img
        return draw_boxes(img, output.detections, key=self.name, scores=False)

    def reset(self, source_id: str) -> None:
        self._state.reset(source_id)
        if self.gate is not None:
            self.gate.forget(source_id)
