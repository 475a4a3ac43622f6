"""Human pose: 17 COCO keypoints per person, postures, falls and people down.

Three backends, chosen by ``backend``:

* ``movenet`` (default, fast on CPU): top-down. Person boxes come from an earlier stage
  (``boxes_from``, default ``detect``); each box is cropped and run through MoveNet SinglePose
  Lightning (int8 TFLite, the default) or, with ``model: movenet_thunder``, Thunder (a tfjs
  graph run in torch, 256 px crops, more accurate and slower); keypoints are mapped back to
  source pixels.
* ``multipose``: bottom-up, no detector. MoveNet MultiPose Lightning (a tfjs graph run in torch)
  finds up to 6 people and their keypoints in the whole frame, resized to ``max_side`` on its
  longer side (:mod:`streamcv.features.pose.multipose`). ``model: movenet_multipose`` with no
  ``backend`` selects it as well.
* ``keypointrcnn``: torchvision Keypoint R-CNN finds people and keypoints itself (batched across
  frames, GPU when present).

**Second opinion** (movenet only, ``bottom_up``): top-down finds nobody whose box the detector
merged with a neighbour's or suppressed (people overlapping). With ``bottom_up: stills`` (still
images, i.e. frames without ``pts``) or ``always`` (every frame the stage runs on), MoveNet
MultiPose also runs on the whole frame (``bottom_up_max_side``, 384 by default) and each of its
people (person score >= ``bottom_up_min_score``) whose box overlaps no person box of
``boxes_from`` by IoU >= ``bottom_up_max_iou`` is added, with its MultiPose box, keypoints and
person score (``data["bottom_up"]`` marks them; ``max_people`` still caps the frame). It costs
one MultiPose pass per frame (~45-80 ms on a CPU at 384), which is why the ``pose`` preset
asks for it on stills only. On the shared COCO sample (4 images, 12 scored people) the preset
goes from OKS AP 0.742 / PCK@0.2 0.906 (``never``) to 0.747 / 0.989 (``stills``). MultiPose
is optional: when its two files do not resolve the stage warns once and runs top-down only.

Track ids come from ``tracks_from`` (e.g. ``track``) by box IoU, when given. Per frame the
stage emits the metrics ``count`` (people), ``standing``, ``sitting``, ``lying``, ``unknown``,
``falls``, ``fallen``, ``down`` and, per zone, ``zone.<name>.count`` and
``zone.<name>.<posture>`` (a person is in a zone when the bottom centre of its box is); the
events ``fall`` and ``person_down``; and the people themselves (see
:mod:`streamcv.features.pose.output`). Postures and falls are defined in
:mod:`streamcv.features.pose.posture` and :mod:`streamcv.features.pose.fall`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from streamcv.boxes import iou_matrix, match_greedy
from streamcv.errors import StageError, WeightsNotFoundError
from streamcv.features.pose.analysis import PoseAnalyzer
from streamcv.features.pose.draw import draw_people
from streamcv.features.pose.events import KEYPOINTS
from streamcv.features.pose.fall import FallConfig
from streamcv.features.pose.output import PoseOutput
from streamcv.features.pose.posture import PostureConfig
from streamcv.stages.base import ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.stages.gating import Interval, rate_skipped
from streamcv.types import Detections, FrameResult, StageOutput
from streamcv.zones import ZoneList

if TYPE_CHECKING:
    from streamcv.features.pose.multipose import MultiPoseResult

__all__ = ["PoseConfig", "PoseStage", "DEFAULT_MODELS", "AUTO_MODEL", "THUNDER", "MULTIPOSE",
           "BOTTOM_UP", "match_track_ids"]

log = logging.getLogger(__name__)

Backend = Literal["movenet", "multipose", "keypointrcnn"]
BottomUp = Literal["never", "stills", "always"]
DEFAULT_MODELS: dict[str, str] = {
    "movenet": "movenet_singlepose_lightning_int8",
    "multipose": "movenet_multipose",
    "keypointrcnn": "keypointrcnn_resnet50_fpn_coco",
}
MIN_PERSON_SCORE: dict[str, float] = {"multipose": 0.1, "keypointrcnn": 0.5}
"""Default ``min_person_score`` of the backends that find people themselves."""
AUTO_MODEL = "auto"
"""``model: auto`` (movenet): Thunder when its two files resolve, else Lightning with a warning."""
THUNDER = "movenet_thunder"
MULTIPOSE = "movenet_multipose"
"""MoveNet MultiPose: ``model: movenet_multipose`` alone selects ``backend: multipose``."""
MULTIPOSE_FETCH = ("`streamcv models pull movenet_multipose` and `streamcv models pull "
                   "movenet_multipose_weights` (or `streamcv models import "
                   "movenet-multipose.json`)")
BOTTOM_UP = "bottom_up"
"""``data`` key of the pose stage's people: ``True`` for those added by the second opinion."""
THUNDER_FETCH = ("`streamcv models pull movenet_thunder` and `streamcv models pull "
                 "movenet_thunder_weights` (or `streamcv models import movenet-thunder.json`)")


class PoseConfig(StageConfig):
    type: Literal["pose"] = "pose"
    backend: Backend = Field("movenet", description="movenet (top-down on person boxes), "
                             "multipose (MoveNet MultiPose, up to 6 people, no detector) or "
                             "keypointrcnn (finds people itself).")
    model: str | None = Field(None, description="Model registry name (default: the backend's; "
                              "movenet also runs movenet_thunder; movenet_multipose alone "
                              "selects backend multipose), or auto (movenet: Thunder when "
                              "installed, else Lightning with a warning).")
    weights: str | None = Field(None, description="Explicit weights file (else the model store).")
    boxes_from: str = Field("detect", description="Stage whose person boxes the movenet backend "
                            "crops (ignored by multipose and keypointrcnn).")
    tracks_from: str | None = Field(None, description="Stage whose boxes carry track ids, "
                                    "matched to people by IoU (e.g. 'track').")
    person_label: str = Field("person", description="Label of person boxes in boxes_from.")
    min_box_score: float = Field(0.3, ge=0, le=1, description="Ignore person boxes below this.")
    min_box_px: float = Field(8.0, ge=1, description="Ignore boxes whose larger side is smaller.")
    max_people: int = Field(64, ge=1, le=1000, description="Most people per frame (highest "
                            "scores first).")
    box_scale: float = Field(1.25, ge=1, le=3, description="Crop side / box side (movenet).")
    flip: bool = Field(True, description="Also run each crop mirrored and average (movenet): "
                       "steadier keypoints at twice the cost.")
    num_threads: int | None = Field(None, ge=1, le=64, description="TFLite CPU threads.")
    min_size: int = Field(800, ge=128, le=2048, description="Keypoint R-CNN input shorter side.")
    min_person_score: float | None = Field(None, ge=0, le=1, description="Person score "
                                           "threshold of multipose (default 0.1) and "
                                           "keypointrcnn (default 0.5).")
    max_side: int = Field(256, ge=128, le=1024, multiple_of=32, description="MoveNet "
                          "MultiPose input longer side (multipose): 256 published; 384 or 512 "
                          "find smaller people, slower.")
    track_iou: float = Field(0.5, gt=0, le=1, description="IoU to take a track id from "
                             "tracks_from.")
    bottom_up: BottomUp = Field(
        "never", description="Second opinion (movenet only): also run MoveNet MultiPose on the "
        "whole frame and add the people it finds that no person box covers (people the "
        "detector merged or suppressed where they overlap). Costs one MultiPose pass per frame "
        "(~45-80 ms on a CPU at max side 384). never; stills (images, frames without pts); "
        "always (every frame the stage runs on). Runs without it, with a warning, when the "
        "model is not installed.")
    bottom_up_model: str = Field(MULTIPOSE, description="Registry name of the second "
                                 "opinion's MultiPose model (a tfjs graph with a <name>_weights "
                                 ".bin entry).")
    bottom_up_max_side: int = Field(384, ge=128, le=1024, multiple_of=32, description="Second "
                                    "opinion's MultiPose input longer side: larger finds "
                                    "smaller people, at about the square's cost.")
    bottom_up_min_score: float = Field(0.2, ge=0, le=1, description="Second opinion: add only "
                                       "people with at least this MultiPose person score.")
    bottom_up_max_iou: float = Field(0.3, gt=0, le=1, description="Second opinion: add only "
                                     "people whose box overlaps every person box of "
                                     "boxes_from by less than this IoU.")
    posture: PostureConfig = Field(default_factory=PostureConfig)
    fall: FallConfig = Field(default_factory=FallConfig)
    zones: ZoneList = Field(default_factory=list, description="Zones for per-zone posture "
                            "counts.")
    interval_s: float = Field(
        0.0, ge=0, description="Video: estimate poses at most once per this many seconds per "
        "source (other frames get a skipped output; keep it well below fall.window_s); 0: every "
        "frame. Stills: every image.")
    video_model: str | None = Field(
        None, description="movenet: the top-down model of video frames (those with pts), e.g. "
        "movenet_singlepose_lightning_int8 for live cameras on a CPU while stills keep the "
        "accurate model; none: the same as stills.")
    video_flip: bool | None = Field(None, description="movenet: mirror-average on video "
                                    "frames; none: as flip.")

    @model_validator(mode="before")
    @classmethod
    def _multipose_model_picks_its_backend(cls, data: Any) -> Any:
        """``model: movenet_multipose`` without a ``backend`` means ``backend: multipose``."""
        if isinstance(data, dict) and data.get("model") == MULTIPOSE and "backend" not in data:
            return {**data, "backend": "multipose"}
        return data

    @model_validator(mode="after")
    def _multipose_model_is_not_top_down(self) -> PoseConfig:
        if self.backend == "movenet" and self.model == MULTIPOSE:
            raise ValueError(f"model {MULTIPOSE} finds people itself: set backend: multipose "
                             "(or leave backend out) rather than backend: movenet")
        if (self.video_model is not None or self.video_flip is not None) and \
                self.backend != "movenet":
            raise ValueError("video_model and video_flip choose the top-down model of video "
                             f"frames: they need backend: movenet (not {self.backend})")
        if self.video_model in (MULTIPOSE, AUTO_MODEL):
            raise ValueError(f"video_model must name a top-down MoveNet model, not "
                             f"{self.video_model} (e.g. movenet_singlepose_lightning_int8)")
        if self.bottom_up != "never" and self.backend != "movenet":
            raise ValueError(f"bottom_up: {self.bottom_up} adds MultiPose people to the "
                             "top-down backend's, so it needs backend: movenet (backend "
                             f"{self.backend} finds people itself); set bottom_up: never")
        return self

    @property
    def person_score(self) -> float:
        """``min_person_score``, or the backend's default (multipose 0.1, keypointrcnn 0.5)."""
        if self.min_person_score is not None:
            return self.min_person_score
        return MIN_PERSON_SCORE.get(self.backend, 0.5)

    def models(self) -> list[ModelNeed]:
        """The model to load; ``auto`` (movenet): Lightning, and Thunder's two files as optional;
        with ``bottom_up``, MultiPose's two files as optional as well."""
        second = [] if self.bottom_up == "never" else [
            ModelNeed(self.bottom_up_model, optional=True),
            ModelNeed(f"{self.bottom_up_model}_weights", optional=True)]
        video = [] if self.video_model is None else _model_needs(self.video_model)
        return self._main_models() + video + second

    def _main_models(self) -> list[ModelNeed]:
        name = self.model or DEFAULT_MODELS[self.backend]
        if name != AUTO_MODEL:
            return _model_needs(name, self.weights)
        if self.backend != "movenet":
            return [ModelNeed(DEFAULT_MODELS[self.backend], self.weights)]
        if self.weights is not None:
            return [ModelNeed(THUNDER if self.weights.endswith(".json") else
                              DEFAULT_MODELS["movenet"], self.weights)]
        return [ModelNeed(DEFAULT_MODELS["movenet"]), ModelNeed(THUNDER, optional=True),
                ModelNeed(f"{THUNDER}_weights", optional=True)]

    def upstream_refs(self) -> dict[str, str]:
        """``boxes_from`` (movenet only) and ``tracks_from`` when set."""
        refs = {"boxes_from": self.boxes_from} if self.backend == "movenet" else {}
        if self.tracks_from:
            refs["tracks_from"] = self.tracks_from
        return refs


def _model_needs(name: str, weights: str | None = None) -> list[ModelNeed]:
    """Model ``name`` (or its explicit ``weights``); a tfjs graph (Thunder, MultiPose) from the
    store also needs its ``.bin``, a second entry."""
    graph = name in (THUNDER, MULTIPOSE) and weights is None
    return [ModelNeed(name, weights)] + ([ModelNeed(f"{name}_weights")] if graph else [])


def _multipose_people(mp: MultiPoseResult, idx: np.ndarray) -> Detections:
    """People ``idx`` of a MoveNet MultiPose result as person detections with keypoints."""
    return Detections.from_arrays(mp.xyxy[idx], mp.score[idx], np.zeros(len(idx), np.int32),
                                  labels=("person",), data={KEYPOINTS: mp.keypoints[idx]})


def _concat(top_down: Detections, added: Detections) -> Detections:
    """Top-down people then the second opinion's, marked by ``data["bottom_up"]``."""
    return Detections.from_arrays(
        np.concatenate([top_down.xyxy, added.xyxy]).reshape(-1, 4),
        np.concatenate([top_down.confidence, added.confidence]),
        np.zeros(len(top_down) + len(added), np.int32), labels=("person",),
        data={KEYPOINTS: np.concatenate([np.asarray(top_down.data[KEYPOINTS], np.float32)
                                         .reshape(-1, 17, 3),
                                         np.asarray(added.data[KEYPOINTS], np.float32)
                                         .reshape(-1, 17, 3)]),
              BOTTOM_UP: np.repeat([False, True], [len(top_down), len(added)])})


def match_track_ids(people: np.ndarray, tracked: Detections, *, min_iou: float) -> np.ndarray:
    """Track id per person box (``-1`` if none): greedy one-to-one matching by IoU."""
    ids = np.full(len(people), -1, np.int64)
    keep = tracked.track_id >= 0
    boxes, tids = tracked.xyxy[keep], tracked.track_id[keep]
    if len(people) == 0 or len(boxes) == 0:
        return ids
    for i, j in match_greedy(iou_matrix(people, boxes), min_iou).pairs:
        ids[i] = tids[j]
    return ids


@stage_type("pose", PoseConfig)
class PoseStage(Stage[PoseConfig]):
    """Keypoints, postures and fall metrics per person.

    Example:
        >>> from streamcv.stages import build_stage
        >>> stage = build_stage({"type": "pose", "boxes_from": "detect", "tracks_from": "track"})
        >>> stage.name, stage.config.backend
        ('pose', 'movenet')
    """

    needs_device = True

    def __init__(self, config: PoseConfig) -> None:
        super().__init__(config)
        self._net: Any = None
        self._second: Any = None  # MoveNetMultiPose of the second opinion (bottom_up)
        self._video_net: Any = None  # movenet: the top-down model of video frames, if its own
        self._analyzer = PoseAnalyzer(posture=config.posture, fall=config.fall,
                                      zones=config.zones)
        self._every = Interval(config.interval_s)

    @property
    def model_name(self) -> str:
        """The configured registry name (``auto``: see :meth:`resolve_model`)."""
        return self.config.model or DEFAULT_MODELS[self.config.backend]

    def resolve_model(self) -> str:
        """The registry name to load: ``auto`` becomes ``movenet_thunder`` when its ``.json``
        and ``.bin`` resolve (or ``weights`` names a ``.json``), else the backend's default
        (Lightning for movenet, with a warning naming the commands that fetch Thunder)."""
        c = self.config
        if self.model_name != AUTO_MODEL:
            return self.model_name
        fallback = DEFAULT_MODELS[c.backend]
        if c.backend != "movenet":
            return fallback
        if c.weights is not None:
            return THUNDER if c.weights.endswith(".json") else fallback
        from streamcv.models.registry import resolve_graph

        try:
            resolve_graph(THUNDER, download=False)
        except WeightsNotFoundError:
            log.warning("pose: MoveNet Thunder is not installed, so keypoints come from "
                        "Lightning (less accurate); get Thunder with %s", THUNDER_FETCH)
            return fallback
        return THUNDER

    def on_setup(self, context: StageContext) -> None:
        device = context.device
        from streamcv.models.registry import get_model, resolve_graph

        c = self.config
        entry = get_model(self.resolve_model())
        if entry.task != "pose":
            raise StageError(f"stage {self.name}: model {entry.name!r} is a {entry.task} model")
        path = resolve_graph(entry.name, c.weights)  # Thunder, MultiPose: their .bin as well
        if c.backend == "multipose":
            from streamcv.features.pose.multipose import MoveNetMultiPose

            self._net = MoveNetMultiPose(path, max_side=c.max_side, min_score=c.person_score)
        elif c.backend == "movenet":
            from streamcv.features.pose.movenet import MoveNetTopDown

            self._net = MoveNetTopDown(path, box_scale=c.box_scale, num_threads=c.num_threads,
                                       flip=c.flip)
            video = c.video_model or entry.name
            flip = c.flip if c.video_flip is None else c.video_flip
            if (video, flip) != (entry.name, c.flip):
                if get_model(video).task != "pose":
                    raise StageError(f"stage {self.name}: video_model {video!r} is not a pose "
                                     "model")
                vpath = path if video == entry.name else resolve_graph(video)
                self._video_net = MoveNetTopDown(vpath, box_scale=c.box_scale,
                                                 num_threads=c.num_threads, flip=flip)
            self._second = self._load_second_opinion()
        else:
            from streamcv.features.pose.keypoint_rcnn import KeypointRCNN

            self._net = KeypointRCNN(path, device=device, min_size=c.min_size,
                                     max_size=max(c.min_size, round(c.min_size * 5 / 3)),
                                     min_score=c.person_score, max_people=c.max_people)

    def _load_second_opinion(self) -> Any:
        """MultiPose for ``bottom_up``, or ``None`` (``never``, or not installed: a warning)."""
        c = self.config
        if c.bottom_up == "never":
            return None
        from streamcv.features.pose.multipose import MoveNetMultiPose
        from streamcv.models.registry import get_model, resolve_graph

        entry = get_model(c.bottom_up_model)
        if entry.task != "pose":
            raise StageError(f"stage {self.name}: bottom_up_model {entry.name!r} is a "
                             f"{entry.task} model")
        try:
            path = resolve_graph(entry.name, download=False)
        except WeightsNotFoundError:
            fetch = MULTIPOSE_FETCH if entry.name == MULTIPOSE else (
                f"`streamcv models pull {entry.name}` and `streamcv models pull "
                f"{entry.name}_weights`")
            log.warning("pose: bottom_up: %s, but %s is not installed, so people the detector "
                        "merged stay missing (top-down only); get it with %s", c.bottom_up,
                        entry.name, fetch)
            return None
        return MoveNetMultiPose(path, max_side=c.bottom_up_max_side,
                                min_score=c.bottom_up_min_score)

    def _wants_second_opinion(self, result: FrameResult) -> bool:
        """Whether the second opinion runs on this frame (``stills``: frames without ``pts``)."""
        mode = self.config.bottom_up
        return self._second is not None and (
            mode == "always" or (mode == "stills" and result.frame.pts is None))

    def _second_opinion(self, result: FrameResult, boxes: Detections, room: int
                        ) -> Detections:
        """MultiPose people of the whole frame that overlap none of ``boxes`` (IoU below
        ``bottom_up_max_iou``), highest scores first, at most ``room``."""
        c = self.config
        mp = self._second.predict(result.frame.image)
        keep = np.ones(len(mp), bool)
        if len(mp) and len(boxes):
            keep = iou_matrix(mp.xyxy, boxes.xyxy).max(axis=1) < c.bottom_up_max_iou
        return _multipose_people(mp, np.flatnonzero(keep)[: max(room, 0)])

    # people ------------------------------------------------------------------------------------
    def _person_boxes(self, result: FrameResult) -> Detections | None:
        c = self.config
        up = result.outputs.get(c.boxes_from)
        if up is None:
            raise StageError(
                f"stage {self.name!r} reads person boxes from stage {c.boxes_from!r}, which did "
                f"not run before it (stages so far: {', '.join(result.outputs) or 'none'}); add "
                "a detection stage before it or set boxes_from"
            )
        if up.skipped or up.detections is None:
            return None
        d = up.detections
        labels = np.array([d.label_of(i) for i in range(len(d))], dtype=object)
        sides = np.maximum(d.xyxy[:, 2] - d.xyxy[:, 0], d.xyxy[:, 3] - d.xyxy[:, 1])
        d = d[(labels == c.person_label) & (d.confidence >= c.min_box_score)
              & (sides >= c.min_box_px)]
        return d[np.argsort(-d.confidence, kind="stable")[: c.max_people]]

    def _detect(self, batch: Sequence[FrameResult]) -> list[Detections | None]:
        if self._net is None:
            raise StageError(f"stage {self.name}: setup() was not called")
        if self.config.backend == "keypointrcnn":
            found = self._net.predict([r.frame.image for r in batch])
            return [d[np.argsort(-d.confidence, kind="stable")[: self.config.max_people]]
                    for d in found]
        if self.config.backend == "multipose":
            out_mp: list[Detections | None] = []
            for r in batch:
                mp = self._net.predict(r.frame.image)
                n = min(len(mp), self.config.max_people)  # highest scores first
                out_mp.append(_multipose_people(mp, np.arange(n)))
            return out_mp
        out: list[Detections | None] = []
        for r in batch:
            boxes = self._person_boxes(r)
            if boxes is None:
                out.append(None)
                continue
            net = self._video_net if (self._video_net is not None
                                      and r.frame.pts is not None) else self._net
            kps = net.predict(r.frame.image, boxes.xyxy)
            score = boxes.confidence * (kps[..., 2].mean(axis=1) if len(boxes) else 0)
            people = Detections.from_arrays(
                boxes.xyxy, score, np.zeros(len(boxes), np.int32), labels=("person",),
                data={KEYPOINTS: kps},
            )
            if self._wants_second_opinion(r):
                added = self._second_opinion(r, boxes, self.config.max_people - len(boxes))
                people = _concat(people, added)
            out.append(people)
        return out

    # per frame ---------------------------------------------------------------------------------
    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        due = [self._due(r) for r in batch]
        todo = [r for r, go in zip(batch, due, strict=True) if go]
        found = self._detect(todo) if todo else []
        done = iter([self._frame(r, d) for r, d in zip(todo, found, strict=True)])
        return [next(done) if go else PoseOutput(skipped=True) for go in due]

    def _due(self, result: FrameResult) -> bool:
        """``interval_s``; a frame whose person boxes the detector skipped for its own rate
        (``stride``) waits for the next detected frame rather than use up the interval."""
        if self.config.backend == "movenet" and rate_skipped(
                result.outputs.get(self.config.boxes_from)):
            return False
        return self._every.due(result.frame)

    def _frame(self, result: FrameResult, people: Detections | None) -> StageOutput:
        if people is None:  # upstream skipped this frame (e.g. motion gating)
            return PoseOutput(skipped=True)
        c = self.config
        frame = result.frame
        tracked = result.outputs.get(c.tracks_from) if c.tracks_from else None
        if tracked is not None and tracked.detections is not None:
            people = people.replace(track_id=match_track_ids(
                people.xyxy, tracked.detections, min_iou=c.track_iou))
        out = self._analyzer.analyze(frame.source_id, frame.time, people, width=frame.width,
                                     height=frame.height)
        if BOTTOM_UP in people.data and out.detections is not None:  # the second opinion ran
            out = dataclasses.replace(out, detections=out.detections.replace(
                data={**out.detections.data, BOTTOM_UP: people.data[BOTTOM_UP]}))
        return out

    # lifecycle ---------------------------------------------------------------------------------
    def reset(self, source_id: str) -> None:
        self._analyzer.reset(source_id)
        self._every.forget(source_id)

    def close(self) -> None:
        self._net = None
        self._video_net = None
        self._second = None
        self._analyzer.reset()

    def draw(self, image: np.ndarray, output: StageOutput) -> np.ndarray:
        """People with their skeletons and postures (see
        :func:`~streamcv.features.pose.draw.draw_people`)."""
        if output.detections is None:
            return super().draw(image, output)
        return draw_people(image, output.detections, key=self.name)
