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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_validator

from streamcv.errors import ConfigError, UnknownNameError
from streamcv.models.coco import resolve_classes
from streamcv.models.registry import ModelEntry, get_model, resolve_weights
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.types import FrameResult, StageOutput

__all__ = ["DetectConfig", "Detect"]

Size = tuple[int, int]


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
    count_threshold: float | None = Field(
        None, ge=0, le=1, description="The 'count' metric counts objects scoring at least this "
        "(default: score_threshold). Lets a low score_threshold feed a tracker while counts "
        "stay precise.")
    store_all: bool = Field(False, description="Output and store every box above "
                            "score_threshold (for evaluation); default: with count_threshold, "
                            "only the counted boxes, the others go to data['candidates'] for a "
                            "tracker.")

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
        if (config.scales or config.input_size) and self.entry.architecture == "hog":
            raise ConfigError("input_size/scales do not apply to the HOG detector", key="scales")
        if config.scales and self.entry.architecture != "yolox":
            raise ConfigError("scales (multi-size passes) need a YOLOX model; use input_size",
                              key="scales")
        self.class_ids = resolve_classes(config.classes)
        self.detector: Any = None

    def on_setup(self, context: StageContext) -> None:
        device = context.device
        from streamcv.features.detection.detectors import Detector, DetectorOptions, build_detector

        c = self.config
        final = DetectorOptions(
            score_threshold=c.score_threshold, classes=self.class_ids, nms_iou=c.nms_iou,
            max_detections=c.max_detections, device=device, fp16=c.fp16,
            input_size=min(c.input_size) if c.input_size else None,
        )
        weights = None if self.entry.builtin else resolve_weights(self.entry.name, c.weights)
        multi = bool(c.scales) or c.flip
        member_opts = final if not multi else DetectorOptions(
            **{**final.__dict__, "score_threshold": c.pass_score_threshold,
               "nms_iou": max(c.nms_iou, 0.65), "max_detections": max(c.max_detections, 300)})
        if self.entry.architecture == "yolox":
            from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector

            sizes: list[tuple[int, int] | None] = list(c.scales) or [
                c.input_size or self.entry.input_size]
            assert weights is not None
            members: list[Detector] = [
                YoloxOnnxDetector(self.entry, weights, member_opts, input_size=(s[0], s[1]))
                for s in sizes if s is not None]
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
        self.detector = det

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        if self.detector is None:
            self.setup("cpu")
        assert self.detector is not None
        found = self.detector.detect([r.frame.image for r in batch])
        thr = self.config.count_threshold
        if thr is None or self.config.store_all:
            return [StageOutput(metrics={"count": float(len(d) if thr is None else
                                                        int((d.confidence >= thr).sum()))},
                                detections=d) for d in found]
        outs = []
        for d in found:
            counted = d[d.confidence >= thr]
            outs.append(StageOutput(metrics={"count": float(len(counted))}, detections=counted,
                                    data={"candidates": d}))
        return outs

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
