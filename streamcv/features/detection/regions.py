"""Detection on motion regions (Frigate-style): run the detector only where something moves.

On a CCTV frame most pixels are a static background; the detector's cost is proportional to its
input's area. With ``regions:`` set, the detect stage, per frame:

1. collects the **moving regions** of the motion stage (``regions.motion_from``; its detections,
   in source pixels) and the **held boxes**: what the detector found in the last ``hold_s``
   seconds (so a person who stops moving stays detected, and tracked, while motion no longer sees
   them; a held box is refreshed whenever the detector finds something on it again);
2. pads each box by ``pad`` of its longer side, grows it to at least ``min_side`` network pixels,
   and merges boxes while one crop costs no more than two (the area of the union against the sum
   of the areas plus a per-call overhead);
3. snaps each crop outwards to the **network grid of the full-frame pass** (cells of 32
   network pixels at the scale the whole frame is seen at, i.e. the configured ``input_size``):
   YOLOX runs at any multiple of 32, so a crop is not enlarged, a person is seen at the same
   size and at the same place within a cell as in a full-frame pass, and the boxes and scores
   agree with that pass's;
4. runs the detector on each crop and maps the boxes back to source pixels (NMS across crops).

A **full-frame pass** runs instead on the first frame of a source, on still images (a frame
without ``pts``), when the motion stage's output is missing for the frame (skipped or failed:
fail open), every ``full_frame_every_s`` seconds (finds people motion never saw: someone who sat
still from the start) and when the crops would cost at least ``max_share`` of a full pass. With
neither motion nor held boxes the detector does not run at all: the frame gets empty detections
(not a skipped output: the tracker ages its tracks and counts read zero, which is what a
full-frame pass would say of a scene with nothing moving and nobody recently seen).

The stage output's ``data["pass"]`` says what ran (``full``, ``regions`` or ``none``) and
``data["regions"]`` holds the crops (K x 4 source pixels).

Example:
    >>> import numpy as np
    >>> boxes = np.array([[100, 100, 130, 180], [140, 110, 170, 190], [400, 50, 420, 60]], float)
    >>> plan_crops(boxes, width=640, height=360, ratio=1.0, pad=0.15, min_side=96).tolist()
    [[64, 64, 224, 224], [352, 0, 480, 128]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv.boxes import iou_matrix
from streamcv.strict import StrictModel
from streamcv.types import Detections

__all__ = ["RegionsConfig", "RegionPlan", "RegionPlanner", "pad_boxes", "merge_boxes",
           "fit_crops", "net_area", "plan_crops", "shift_detections", "STRIDE",
           "CALL_OVERHEAD_PX"]

#: Network stride: crops are sized so that their scaled sides are multiples of it.
STRIDE = 32
#: One detector call costs about as much as this many extra network pixels (measured on YOLOX-nano
#: with ONNX Runtime on 2 cores: ~0.3 ms fixed against ~0.2 ms per 1000 pixels).
CALL_OVERHEAD_PX = 64 * 64
#: More boxes than this in one frame: a full-frame pass (merging is quadratic).
_MAX_BOXES = 96
#: IoU at which a detection refreshes a held box.
_HOLD_IOU = 0.3

Pass = Literal["full", "regions", "none"]
Boxes = npt.NDArray[np.float64]
#: ``(width, height) -> (ratio, full_area)``: network pixels per source pixel of a full-frame
#: pass, and its network pixels.
Scale = Callable[[int, int], tuple[float, float]]


class RegionsConfig(StrictModel):
    """Options of ``detect``'s ``regions:`` (see :mod:`streamcv.features.detection.regions`)."""

    motion_from: str = Field("motion", description="Earlier motion stage whose moving regions "
                             "are searched.")
    pad: float = Field(0.15, ge=0, le=2, description="Each region grows by this share of its "
                       "longer side on every side (context around a moving part of a person).")
    min_side: int = Field(96, ge=STRIDE, le=4096, description="Smallest crop side in network "
                          "pixels (a moving hand is searched with the body around it).")
    full_frame_every_s: float | None = Field(
        3.0, gt=0, description="A full-frame pass at least this often (seconds; none: only on "
        "a source's first frame): finds people motion never saw.")
    hold_s: float = Field(2.0, ge=0, description="Keep searching around a detection this long "
                          "after it was last found (a person who stops moving stays detected).")
    hold_score: float | None = Field(
        None, ge=0, le=1, description="Detections scoring at least this start a held box "
        "(default: the stage's count_threshold, else score_threshold); any detection refreshes "
        "one.")
    max_share: float = Field(0.8, gt=0, le=1, description="When the crops (with a per-call "
                             "overhead) cost at least this share of a full-frame pass, run that "
                             "pass instead.")


def _areas(boxes: Boxes) -> npt.NDArray[np.float64]:
    return np.asarray((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), np.float64)


def pad_boxes(boxes: npt.ArrayLike, *, pad: float, min_size: float) -> Boxes:
    """Grow each box by ``pad`` x its longer side on every side, then to at least ``min_size``
    on both sides (about its centre). Not clipped to the frame.

    Example:
        >>> pad_boxes([[10, 10, 30, 50]], pad=0.1, min_size=0).tolist()
        [[6.0, 6.0, 34.0, 54.0]]
        >>> pad_boxes([[10, 10, 30, 50]], pad=0.0, min_size=60).tolist()
        [[-10.0, 0.0, 50.0, 60.0]]
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    grow = pad * np.maximum(w, h)
    half_w = np.maximum(w / 2 + grow, min_size / 2)
    half_h = np.maximum(h / 2 + grow, min_size / 2)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], 1)


def merge_boxes(boxes: npt.ArrayLike, *, overhead: float = 0.0) -> Boxes:
    """Join boxes while the box around two costs no more than the two (its area is at most the
    sum of theirs plus ``overhead``, the cost of one more call in the same units). Overlapping
    boxes of similar size always join; far-apart ones stay apart.

    Example:
        >>> merge_boxes([[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]]).tolist()
        [[0.0, 0.0, 15.0, 10.0], [50.0, 50.0, 60.0, 60.0]]
        >>> merge_boxes([[0, 0, 10, 10], [12, 0, 22, 10]], overhead=50).tolist()
        [[0.0, 0.0, 22.0, 10.0]]
    """
    out = [list(map(float, b)) for b in np.asarray(boxes, np.float64).reshape(-1, 4)]
    merged = True
    while merged and len(out) > 1:
        merged = False
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in out]
        for i in range(len(out)):
            a = out[i]
            for j in range(i + 1, len(out)):
                b = out[j]
                u = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                if (u[2] - u[0]) * (u[3] - u[1]) <= areas[i] + areas[j] + overhead:
                    out[i] = u
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return np.asarray(out, np.float64).reshape(-1, 4)


def fit_crops(boxes: npt.ArrayLike, *, width: int, height: int, ratio: float,
              stride: int = STRIDE) -> npt.NDArray[np.int64]:
    """Integer crops inside the ``width`` x ``height`` frame covering each box, snapped outwards
    to the full-frame pass's network grid: cells of ``stride / ratio`` source pixels from the
    top-left corner (``ratio``: network pixels per source pixel). A crop then sees every pixel
    at the same place within a network cell as the full-frame pass does, so both find the same
    boxes with the same scores, except near the crop's border.

    Example:
        >>> fit_crops([[-20, 100, 40, 150]], width=640, height=360, ratio=1.0).tolist()
        [[0, 96, 64, 160]]
        >>> fit_crops([[600, 300, 700, 400]], width=640, height=360, ratio=0.5).tolist()
        [[576, 256, 640, 360]]
    """
    cell = stride / ratio
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    lo = np.floor(np.maximum(b[:, :2], 0) / cell + 1e-9) * cell
    hi = np.ceil(b[:, 2:] / cell - 1e-9) * cell
    limit = np.array([width, height], np.float64)
    lo, hi = np.minimum(np.round(lo), limit - 1), np.minimum(np.round(hi), limit)
    hi = np.maximum(hi, lo + 1)
    return np.concatenate([lo, hi], 1).astype(np.int64).reshape(-1, 4)


def net_area(crops: npt.ArrayLike, ratio: float, stride: int = STRIDE) -> int:
    """Network input pixels of running every crop at ``ratio`` (sides up to multiples of
    ``stride``)."""
    c = np.asarray(crops, np.float64).reshape(-1, 4)
    w = np.ceil(np.maximum(1, np.round((c[:, 2] - c[:, 0]) * ratio)) / stride) * stride
    h = np.ceil(np.maximum(1, np.round((c[:, 3] - c[:, 1]) * ratio)) / stride) * stride
    return int((w * h).sum())


def plan_crops(boxes: npt.ArrayLike, *, width: int, height: int, ratio: float, pad: float,
               min_side: int, overhead_px: int = CALL_OVERHEAD_PX) -> npt.NDArray[np.int64]:
    """Crops (K x 4 source pixels) to search for the ``boxes`` (N x 4 source pixels): padded,
    grown to ``min_side`` network pixels, merged where that is cheaper, snapped to the
    full-frame pass's network grid at ``ratio`` (network pixels per source pixel), merged again
    where snapping made them overlap."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(b):
        return np.zeros((0, 4), np.int64)
    padded = pad_boxes(b, pad=pad, min_size=min_side / ratio)
    padded[:, [0, 2]] = padded[:, [0, 2]].clip(0, width)
    padded[:, [1, 3]] = padded[:, [1, 3]].clip(0, height)
    merged = merge_boxes(padded, overhead=overhead_px / ratio**2)
    crops = fit_crops(merged, width=width, height=height, ratio=ratio)
    for _ in range(4):  # fitting grows crops: join those that now overlap
        if len(crops) < 2:
            break
        iou = iou_matrix(crops.astype(np.float64), crops.astype(np.float64))
        np.fill_diagonal(iou, 0.0)
        if not (iou > 0).any():
            break
        crops = fit_crops(merge_boxes(crops.astype(np.float64), overhead=overhead_px / ratio**2),
                          width=width, height=height, ratio=ratio)
    return crops


def shift_detections(d: Detections, dx: float, dy: float) -> Detections:
    """``d`` with its boxes moved by (``dx``, ``dy``): crop pixels → source pixels."""
    if not len(d) or (dx == 0 and dy == 0):
        return d
    return d.replace(xyxy=(d.xyxy + np.array([dx, dy, dx, dy], np.float32)).astype(np.float32))


@dataclass(frozen=True)
class RegionPlan:
    """What the detector runs on one frame: ``full`` (whole frame), ``regions`` (``crops``, K x 4
    source pixels) or ``none``."""

    kind: Pass
    crops: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 4), np.int64))


@dataclass
class _SourceRegions:
    size: tuple[int, int]
    last_t: float
    last_full: float = float("-inf")
    held: Boxes = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    seen: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))


class RegionPlanner:
    """Per-source state of region detection: when the last full pass ran, the held boxes.

    ``ratio`` is the scale the detector sees whole frames at (network pixels per source pixel),
    ``full_area`` the network pixels of one full-frame pass; both depend on the frame size, so
    they are functions of (width, height).

    Example:
        >>> import numpy as np
        >>> planner = RegionPlanner(RegionsConfig(), hold_score=0.5, max_held=10)
        >>> scale = lambda w, h: (1.0, w * h)
        >>> planner.plan("cam", 0.0, 640, 360, motion=None, still=False, scale=scale).kind
        'full'
        >>> planner.plan("cam", 0.1, 640, 360, motion=np.zeros((0, 4)), still=False,
        ...              scale=scale).kind
        'none'
        >>> moving = np.array([[100.0, 100, 130, 180]])
        >>> plan = planner.plan("cam", 0.2, 640, 360, motion=moving, still=False, scale=scale)
        >>> plan.kind, plan.crops.tolist()
        ('regions', [[64, 64, 192, 192]])
    """

    def __init__(self, config: RegionsConfig, *, hold_score: float, max_held: int) -> None:
        self.config = config
        self.hold_score = hold_score
        self.max_held = max_held
        self._sources: dict[str, _SourceRegions] = {}

    def plan(self, source_id: str, t: float, width: int, height: int, *,
             motion: npt.NDArray[Any] | None, still: bool, scale: Scale) -> RegionPlan:
        """Decide the pass for one frame. ``motion``: the moving regions (N x 4 source pixels),
        ``None`` when the motion stage had no output for it (fail open: full frame) or no
        picture of motion yet; ``still``: a frame without a predecessor (an image)."""
        c = self.config
        st = self._sources.get(source_id)
        if st is None or st.size != (width, height) or t < st.last_t:
            st = self._sources[source_id] = _SourceRegions((width, height), t)
            first = True
        else:
            first = False
        st.last_t = t
        due = c.full_frame_every_s is not None and t - st.last_full >= c.full_frame_every_s
        if first or still or motion is None or due:
            st.last_full = t
            return RegionPlan("full")
        alive = t - st.seen <= c.hold_s
        st.held, st.seen = st.held[alive], st.seen[alive]
        boxes = np.concatenate([np.asarray(motion, np.float64).reshape(-1, 4), st.held])
        if not len(boxes):
            return RegionPlan("none")
        if len(boxes) > _MAX_BOXES:
            st.last_full = t
            return RegionPlan("full")
        ratio, full_area = scale(width, height)
        crops = plan_crops(boxes, width=width, height=height, ratio=ratio, pad=c.pad,
                           min_side=c.min_side)
        if net_area(crops, ratio) + CALL_OVERHEAD_PX * len(crops) >= c.max_share * full_area:
            st.last_full = t
            return RegionPlan("full")
        return RegionPlan("regions", crops)

    def update(self, source_id: str, t: float, kind: Pass, found: Detections) -> None:
        """Record what the detector found on a frame it ran on (``found``: every box above the
        stage's score threshold, source pixels)."""
        st = self._sources.get(source_id)
        if st is None or kind == "none":
            return
        boxes = found.xyxy.astype(np.float64)
        refreshed = np.zeros(len(boxes), bool)
        if len(st.held) and len(boxes):
            iou = iou_matrix(st.held, boxes)
            best = iou.argmax(1)
            hit = iou[np.arange(len(st.held)), best] >= _HOLD_IOU
            # two held boxes on one detection become one
            first = np.zeros(len(st.held), bool)
            first[np.unique(np.where(hit, best, -1), return_index=True)[1]] = True
            keep = ~hit | first
            st.held[hit] = boxes[best[hit]]
            st.seen[hit] = t
            refreshed[best[hit]] = True
            st.held, st.seen = st.held[keep], st.seen[keep]
        new = ~refreshed & (found.confidence >= self.hold_score)
        if new.any():
            st.held = np.concatenate([st.held, boxes[new]])
            st.seen = np.concatenate([st.seen, np.full(int(new.sum()), t)])
        if len(st.held) > self.max_held:  # the most recently seen
            keep = np.argsort(-st.seen, kind="stable")[: self.max_held]
            st.held, st.seen = st.held[keep], st.seen[keep]

    def forget(self, source_id: str) -> None:
        self._sources.pop(source_id, None)
