"""Object/person detection with any registry detector: boxes in source pixels, COCO labels.

Output per frame: ``StageOutput(metrics={"count": n}, detections=Detections)`` with
``labels = COCO80`` and ``class_id`` in COCO-80 ids (person = 0), filtered to ``classes``.
Later stages read it as ``result.outputs["detect"].detections``.

With ``count_threshold`` set, ``detections`` (what is stored and counted) holds only the boxes
scoring at least ``count_threshold``; every box above ``score_threshold`` still travels in
``data["candidates"]`` (not stored), which the ``track`` stage reads, so a low
``score_threshold`` can feed a tracker without filling the database. ``store_all: true`` outputs
(and stores) every box, e.g. to measure AP.

Accuracy knobs for small people in large frames (see ``pipelines/people.yaml``): ``input_size``
(YOLOX runs at any multiple of 32), ``scales`` + ``flip`` (multi-pass test-time augmentation
fused box by box) and ``tiles`` (overlapping crops).

Speed on video: ``regions: {}`` (after a ``motion`` stage; YOLOX) runs the detector only on crops
around the moving regions and the recent detections, with a full-frame pass on a source's first
frame, on still images and every ``regions.full_frame_every_s``; frames with nothing to search
get empty detections without the detector running. ``data["pass"]`` is ``full``, ``regions`` or
``none``. See :mod:`streamcv.features.detection.regions`.

Detector rate on video: ``stride: N`` runs the detector on one frame in N per source
(DeepStream's ``interval``), ``interval_s`` at most once per that many seconds (Frigate's detect
fps); the frames between get a skipped output
with ``data["pass"] = "interval"`` (:data:`~streamcv.stages.gating.RATE_SKIP`), on which a
``track`` stage moves its tracks to their predicted boxes, so tracks, counts and heat maps still
have every frame. Still images are always detected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from streamcv.boxes import iou_matrix
from streamcv.errors import ConfigError, StageError, UnknownNameError, WeightsNotFoundError
from streamcv.features.detection.regions import (
    RegionPlan,
    RegionPlanner,
    RegionsConfig,
    shift_detections,
)
from streamcv.models.coco import resolve_classes
from streamcv.models.registry import ModelEntry, get_model, resolve_weights
from streamcv.stages.base import ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.stages.gating import RATE_SKIP, Interval
from streamcv.state import PerSource
from streamcv.strict import StrictModel
from streamcv.types import Detections, FrameResult, StageOutput

__all__ = ["DetectConfig", "VideoDetectConfig", "Detect"]

Size = tuple[int, int]


@dataclass
class _Rate:
    """Per source: frames skipped since the detector last ran, the media time it last ran at,
    frames of a newcomer burst still to run and the boxes of its last run."""

    skipped: int
    last_t: float = float("-inf")
    burst: int = 0
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


class VideoDetectConfig(StrictModel):
    """What a detect stage does differently on video frames (those with ``pts``); unset fields
    keep the stage's."""

    input_size: Size | None = Field(None, description="Network input [width, height].")
    scales: list[Size] | None = Field(None, description="Input sizes fused box by box ([]: "
                                      "one pass at input_size).")
    flip: bool | None = Field(None, description="Also run on the mirrored frame.")
    nms_iou: float | None = Field(None, gt=0, le=1, description="NMS IoU within one class.")
    fuse_iou: float | None = Field(None, gt=0, lt=1, description="IoU joining boxes of "
                                   "several passes.")
    pass_score_threshold: float | None = Field(None, ge=0, le=1, description="Score threshold "
                                               "of each pass before fusion.")


class DetectConfig(StageConfig):
    type: Literal["detect"] = "detect"
    model: str = Field("yolox_nano", description="Registry name of a detection model "
                       "(`streamcv models list`).")
    weights: str | None = Field(None, description="Explicit weights path (default: the model "
                                "store, then a package, then the official URL).")
    classes: list[str] = Field(["person"], description="COCO class names or groups (vehicle, "
                               "animal, bag, motor_vehicle) to keep; [] keeps all.")
    score_threshold: float = Field(0.3, ge=0, le=1, description="Drop objects scoring below.")
    nms_iou: float = Field(0.5, gt=0, le=1, description="NMS IoU within one class.")
    max_detections: int = Field(300, ge=1, le=10_000, description="Most objects per frame.")
    input_size: Size | None = Field(
        None, description="Network input [width, height] (YOLOX: multiples of 32, any size; "
        "torchvision: the smaller side is the resize target). Default: the model's.")
    scales: list[Size] = Field(
        default_factory=list, description="Several input sizes fused box by box (test-time "
        "augmentation; YOLOX). Overrides input_size.")
    flip: bool = Field(False, description="Also run on the mirrored frame and fuse.")
    fuse_iou: float = Field(0.55, gt=0, lt=1, description="IoU joining boxes of several passes.")
    pass_score_threshold: float = Field(
        0.03, ge=0, le=1, description="Score threshold of each pass before fusion.")
    tiles: Size = Field((1, 1), description="[columns, rows] of overlapping tiles.")
    tile_overlap: float = Field(0.25, ge=0, lt=1, description="Overlap of neighbouring tiles.")
    tile_full_frame: bool = Field(True, description="With tiles, also run on the whole frame.")
    fp16: bool = Field(True, description="Half precision on CUDA (torch models).")
    threads: int | None = Field(None, ge=1, le=64, description="CPU threads of one inference "
                                "(YOLOX, ONNX Runtime; default: all cores).")
    spin: bool = Field(True, description="ONNX Runtime's threads spin-wait between calls "
                       "(YOLOX): slightly faster for one camera; false frees that CPU for the "
                       "other cameras' work (retail: about a quarter less CPU per frame; "
                       "bench/realtime_budget.py's per-CPU column).")
    count_threshold: float | None = Field(
        None, ge=0, le=1, description="The 'count' metric counts objects scoring at least this "
        "(default: score_threshold). Lets a low score_threshold feed a tracker while counts "
        "stay precise.")
    store_all: bool = Field(False, description="Output and store every box above "
                            "score_threshold (for evaluation); default: with count_threshold, "
                            "only the counted boxes, the others go to data['candidates'] for a "
                            "tracker.")
    regions: RegionsConfig | None = Field(
        None, description="Video: detect only around moving regions (of an earlier motion "
        "stage) and recent detections, with periodic full-frame passes; still images stay "
        "full-frame. YOLOX, without scales/flip/tiles.")
    video: VideoDetectConfig | None = Field(
        None, description="Video frames: other input sizes, flip or NMS than still images "
        "(e.g. two input sizes where stills get ten: what a stream can afford; "
        "bench/eval_people_video.py). Not with regions or tiles.")
    stride: int = Field(
        1, ge=1, le=100, description="Video: run the detector on one frame in this many per "
        "source (2: every other frame; DeepStream's interval + 1); the frames between get a "
        "skipped output on which a track stage predicts its tracks. Still images: always.")
    stride_burst: int = Field(
        2, ge=0, le=10, description="With stride: after a run that finds an object the previous "
        "run did not (a newcomer), run on this many following frames too, so that a tracker "
        "confirms new tracks as fast as without stride (0: never).")
    max_gap_s: float = Field(
        0.25, gt=0, description="With stride: a frame is skipped only while the detector's "
        "last run on its source is less than this old, so a stream sampled sparsely (e.g. "
        "--fps 2) is detected on every frame: a tracker predicts badly that far ahead.")
    interval_s: float = Field(
        0.0, ge=0, description="Video: run the detector at most once per this many seconds per "
        "source (0.2: 5 detections a second; with stride, both must allow it); frames between as "
        "with stride. 0: no limit.")
    batch: int | None = Field(
        None, ge=1, le=64, description="Frames per inference call (YOLOX): the frames of "
        "several cameras in one batch go through the network together. Default: 1 on CPU, "
        "8 on CUDA (bench/bench_batching.py).")

    @field_validator("classes")
    @classmethod
    def verify_classes(cls, names: list[str]) -> list[str]:
        try:
            resolve_classes(names)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return names

    @field_validator("input_size", "tiles")
    @classmethod
    def verify_positive(cls, size: Size | None) -> Size | None:
        if size is not None and (size[0] < 1 or size[1] < 1):
            raise ValueError(f"sizes must be positive, got {list(size)}")
        return size

    def models(self) -> list[ModelNeed]:
        return [ModelNeed(self.model, self.weights)]

    def upstream_refs(self) -> dict[str, str]:
        refs = super().upstream_refs()
        if self.regions is not None:
            refs["regions.motion_from"] = self.regions.motion_from
        return refs


@stage_type("detect", DetectConfig)
class Detect(Stage[DetectConfig]):
    """Detects objects with the configured registry model.

    Example:
        >>> from streamcv.stages import build_stage
        >>> stage = build_stage({"type": "detect", "model": "yolox_nano", "classes": ["person"]})
        >>> stage.entry.task, stage.class_ids
        ('detection', (0,))
    """

    needs_device = True

    def __init__(self, config: DetectConfig) -> None:
        super().__init__(config)
        try:
            self.entry: ModelEntry = get_model(config.model)
        except UnknownNameError as exc:
            raise ConfigError(str(exc), key="model") from exc
        if self.entry.task != "detection":
            raise ConfigError(f"model {config.model!r} is a {self.entry.task} model, not a "
                              "detector", key="model")
        if config.batch is not None and self.entry.architecture != "yolox":
            raise ConfigError("batch (frames per inference call) needs a YOLOX model",
                              key="batch")
        if (config.scales or config.input_size) and self.entry.architecture == "hog":
            raise ConfigError("input_size/scales do not apply to the HOG detector", key="scales")
        if config.scales and self.entry.architecture != "yolox":
            raise ConfigError("scales (multi-size passes) need a YOLOX model; use input_size",
                              key="scales")
        if config.video is not None:
            if config.regions is not None or config.tiles != (1, 1):
                raise ConfigError("video (settings for video frames) cannot be combined with "
                                  "regions or tiles", key="video")
            if config.video.scales and self.entry.architecture != "yolox":
                raise ConfigError("video.scales (multi-size passes) need a YOLOX model",
                                  key="video")
        if config.regions is not None:
            if self.entry.architecture != "yolox":
                raise ConfigError("regions (detection on motion regions) needs a YOLOX model",
                                  key="regions")
            if config.scales or config.flip or config.tiles != (1, 1):
                raise ConfigError("regions cannot be combined with scales, flip or tiles",
                                  key="regions")
        self.class_ids = resolve_classes(config.classes)
        self._every = Interval(config.interval_s)
        # per source, frames skipped since the detector last ran (a new source: due at once)
        self._rate: PerSource[_Rate] = PerSource(lambda _sid: _Rate(config.stride - 1))
        self.detector: Any = None
        self.video_detector: Any = None  # with ``video``: the detector of frames with pts
        #: the YOLOX detector whose ONNX Runtime session every other pass of the stage runs on
        self._session: Any = None
        self.planner: RegionPlanner | None = None
        if config.regions is not None:
            r = config.regions
            hold = r.hold_score if r.hold_score is not None else (
                config.count_threshold if config.count_threshold is not None
                else config.score_threshold)
            self.planner = RegionPlanner(r, hold_score=hold, max_held=config.max_detections)

    def on_setup(self, context: StageContext) -> None:
        c = self.config
        self._session = None
        self.detector = self._build(c, context.device)
        if c.video is not None:
            video = {k: v for k, v in c.video.model_dump().items() if v is not None}
            self.video_detector = self._build(c.model_copy(update=video), context.device)

    def _build(self, c: DetectConfig, device: str) -> Any:
        """The detector of config ``c`` (one pass, several sizes and/or flip fused, tiles)."""
        from streamcv.features.detection.detectors import Detector, DetectorOptions, build_detector

        final = DetectorOptions(
            score_threshold=c.score_threshold, classes=self.class_ids, nms_iou=c.nms_iou,
            max_detections=c.max_detections, device=device, fp16=c.fp16, threads=c.threads,
            spin=c.spin,
            input_size=min(c.input_size) if c.input_size else None,
        )
        try:
            weights = None if self.entry.builtin else resolve_weights(self.entry.name, c.weights)
        except WeightsNotFoundError as exc:
            if self.entry.url is None and self.entry.name.endswith("_int8"):  # made locally
                raise WeightsNotFoundError(
                    f"{exc}; an int8 model is made from its fp32 one: `streamcv models quantize "
                    f"{self.entry.name.removesuffix('_int8')} --calibration VIDEO|DIR`") from exc
            raise
        multi = bool(c.scales) or c.flip
        member_opts = final if not multi else DetectorOptions(
            **{**final.__dict__, "score_threshold": c.pass_score_threshold,
               "nms_iou": max(c.nms_iou, 0.65), "max_detections": max(c.max_detections, 300)})
        if self.entry.architecture == "yolox":
            from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector

            sizes: list[tuple[int, int] | None] = list(c.scales) or [
                c.input_size or self.entry.input_size]
            assert weights is not None
            # several passes (sizes, or a still and a video detector) run on one session: one
            # session each would spin idle threads on the cores the next pass needs
            several = len(sizes) > 1 or self.config.video is not None
            members: list[Detector] = []
            for s in sizes:
                if s is None:
                    continue
                m = YoloxOnnxDetector(self.entry, weights, member_opts, input_size=(s[0], s[1]),
                                      dynamic=c.regions is not None or several,
                                      max_batch=c.batch, share=self._session)
                if m.dynamic and self._session is None:
                    self._session = m
                members.append(m)
        else:
            members = [build_detector(self.entry, weights, member_opts)]
        det: Detector = members[0]
        if multi:
            from streamcv.features.detection.detectors.fusion import MultiPassDetector

            det = MultiPassDetector(members, final, flip=c.flip, iou=c.fuse_iou)
        if c.tiles != (1, 1):
            from streamcv.features.detection.detectors.tiling import TiledDetector

            det = TiledDetector(det, final, cols=c.tiles[0], rows=c.tiles[1],
                                overlap=c.tile_overlap, full_frame=c.tile_full_frame)
        return det

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        if self.detector is None:
            self.setup("cpu")
        assert self.detector is not None
        due = [self._due(r) for r in batch]
        todo = [r for r, go in zip(batch, due, strict=True) if go]
        found = self._process(todo) if todo else []
        self._watch_newcomers(todo, found)
        done = iter(found)
        rest = StageOutput(skipped=True, data={"pass": RATE_SKIP, "labels": self.detector.labels})
        return [next(done) if go else rest for go in due]

    def _due(self, result: FrameResult) -> bool:
        """Whether the detector runs on this frame (``stride`` and ``interval_s``)."""
        f = result.frame
        if f.pts is None:
            return True
        st = self._rate[f.source_id]
        t = float(f.time)
        # stride skips only while frames are dense: a sparse or sampled stream (--fps 2) is
        # detected on every frame, so the tracker never predicts more than max_gap_s ahead; and
        # not during a burst (a newcomer was found)
        skip = st.skipped + 1 < self.config.stride and 0 <= t - st.last_t < self.config.max_gap_s
        if st.burst > 0 and skip:
            st.burst -= 1
            skip = False
        if skip or not self._every.due(f):
            st.skipped += 1
            return False
        st.skipped, st.last_t = 0, t
        return True

    def _watch_newcomers(self, batch: Sequence[FrameResult], outs: Sequence[StageOutput]) -> None:
        """With stride: a run that finds an object the source's previous run did not (IoU
        < 0.3 with every box) starts a burst of ``stride_burst`` detected frames, so that a
        tracker confirms the newcomer as fast as without stride."""
        if self.config.stride <= 1 or self.config.stride_burst <= 0:
            return
        for r, out in zip(batch, outs, strict=True):
            if r.frame.pts is None or out.detections is None:
                continue
            st = self._rate[r.frame.source_id]
            boxes = out.detections.xyxy
            if len(boxes) and (not len(st.boxes)
                               or (iou_matrix(boxes, st.boxes).max(axis=1) < 0.3).any()):
                st.burst = self.config.stride_burst
            st.boxes = boxes

    def _process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        if self.planner is not None:
            found, extra = self._detect_regions(batch)
        else:
            found = self._detect_whole(batch)
            extra = [{} for _ in batch]
        thr = self.config.count_threshold
        if thr is None or self.config.store_all:
            return [StageOutput(metrics={"count": float(len(d) if thr is None else
                                                        int((d.confidence >= thr).sum()))},
                                detections=d, data=x) for d, x in zip(found, extra, strict=True)]
        outs = []
        for d, x in zip(found, extra, strict=True):
            counted = d[d.confidence >= thr]
            outs.append(StageOutput(metrics={"count": float(len(counted))}, detections=counted,
                                    data={"candidates": d, **x}))
        return outs

    def _detect_whole(self, batch: Sequence[FrameResult]) -> list[Detections]:
        """Whole frames: video frames through the ``video`` detector when there is one."""
        if self.video_detector is None:
            return list(self.detector.detect([r.frame.image for r in batch]))
        video = [r.frame.pts is not None for r in batch]
        found: dict[int, Detections] = {}
        for det, want in ((self.video_detector, True), (self.detector, False)):
            idx = [i for i, v in enumerate(video) if v == want]
            if idx:
                found.update(zip(idx, det.detect([batch[i].frame.image for i in idx]),
                                 strict=True))
        return [found[i] for i in range(len(batch))]

    # detection on motion regions ----------------------------------------------------------------
    def _scale(self, width: int, height: int) -> tuple[float, float]:
        """Network pixels per source pixel of a full-frame pass, and its network pixels."""
        w, h = self.detector.size
        return min(w / width, h / height), float(w * h)

    def _plan(self, result: FrameResult) -> RegionPlan:
        assert self.planner is not None and self.config.regions is not None
        name = self.config.regions.motion_from
        out = result.outputs.get(name)
        if out is None:
            raise StageError(f"stage {self.name}: regions.motion_from {name!r} has no output; it "
                             "must be an earlier motion stage of the pipeline (have: "
                             f"{', '.join(result.outputs) or 'none'})")
        f = result.frame
        # a skipped or failed motion stage: a full pass (fail open); no moving regions (also
        # while its model warms up or re-learns): the held boxes and the periodic full pass
        motion = None if out.skipped else (
            out.detections.xyxy if out.detections is not None else np.zeros((0, 4)))
        return self.planner.plan(f.source_id, float(f.time), f.width, f.height, motion=motion,
                                 still=f.pts is None, scale=self._scale)

    def _detect_regions(self, batch: Sequence[FrameResult]
                        ) -> tuple[list[Detections], list[dict[str, Any]]]:
        """One frame at a time: each frame's plan depends on what the previous one found."""
        assert self.planner is not None
        found: list[Detections] = []
        extra: list[dict[str, Any]] = []
        for r in batch:
            plan = self._plan(r)
            if plan.kind == "full":
                d = self.detector.detect([r.frame.image])[0]
            elif plan.kind == "regions":
                d = self._detect_crops(r.frame.image, plan.crops)
            else:
                d = Detections.empty(self.detector.labels)
            self.planner.update(r.frame.source_id, float(r.frame.time), plan.kind, d)
            found.append(d)
            extra.append({"pass": plan.kind, "regions": plan.crops})
        return found, extra

    def _detect_crops(self, image: Any, crops: Any) -> Detections:
        from streamcv.features.detection.detectors.base import finish

        ratio, _ = self._scale(image.shape[1], image.shape[0])
        parts = [shift_detections(self.detector.detect_scaled(image[y1:y2, x1:x2], ratio),
                                  float(x1), float(y1))
                 for x1, y1, x2, y2 in crops.tolist()]
        boxes = np.concatenate([p.xyxy for p in parts]) if parts else np.zeros((0, 4))
        scores = np.concatenate([p.confidence for p in parts]) if parts else np.zeros(0)
        classes = np.concatenate([p.class_id for p in parts]) if parts else np.zeros(0)
        return finish(boxes, scores, classes, self.detector.options, width=image.shape[1],
                      height=image.shape[0])

    def draw(self, image: Any, output: StageOutput) -> Any:
        """The detections, and with ``regions`` the crops the detector searched (``region``)."""
        img = super().draw(image, output)
        crops = output.data.get("regions")
        if crops is None or not len(crops):
            return img
        from streamcv.draw import draw_boxes

        boxes = Detections.from_arrays(np.asarray(crops, np.float32), np.ones(len(crops)),
                                       np.zeros(len(crops)), labels=("region",))
        return draw_boxes(img, boxes, key=self.name, scores=False)

    def reset(self, source_id: str) -> None:
        self._every.forget(source_id)
        self._rate.reset(source_id)
        if self.planner is not None:
            self.planner.forget(source_id)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
        if self.video_detector is not None:
            self.video_detector.close()
            self.video_detector = None
        self._session = None
