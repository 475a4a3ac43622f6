"""Multi-object tracking stage (ByteTrack-style, per source, bounded memory).

Reads ``result.outputs[detections_from].detections`` (or, when present, ``data["candidates"]``:
every box, also the low-score ones a ``detect`` stage does not store) and outputs those of
confirmed tracks, with ``track_id`` set (a new ``Detections`` via ``.replace``; the upstream
object is never changed). Unconfirmed candidates are not output, so no later stage ever sees or
counts an id that flickered. ``data`` carries ``confirmed`` / ``removed`` / ``lost`` id tuples
for analytics stages. If the upstream output was skipped (e.g. a motion gate kept it closed) the
tracker does not advance and its output is skipped too.

``reid: person_reid_retail_0288`` adds appearance to the association (a person crop embedding per
detection, see :mod:`streamcv.features.tracking.bytetrack`); the weights come from the model
store (``streamcv models pull person_reid_retail_0288`` or ``streamcv models import FILE --name
person_reid_retail_0288``) or ``reid_weights``. Tracks flagged static (a bin or a cone kept as a
person) carry ``detections.data["static"] = True``; counting and heat maps skip them.

Example:
    >>> from streamcv.stages import build_stage
    >>> build_stage({"type": "track", "confirm_hits": 2}).params.confirm_hits
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from streamcv.errors import ConfigError, StageError, UnknownNameError
from streamcv.features.tracking import ByteTracker, TrackerParams
from streamcv.features.tracking.reid import ReidEmbedder
from streamcv.models.registry import get_model, resolve_weights
from streamcv.stages.base import ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.stages.gating import rate_skipped
from streamcv.state import PerSource
from streamcv.types import Detections, FrameResult, StageOutput

__all__ = ["TrackConfig", "Track"]


class TrackConfig(StageConfig):
    type: Literal["track"] = "track"
    detections_from: str = Field("detect", description="Stage whose detections are tracked.")
    high_score: float = Field(0.5, ge=0, le=1, description="Detections at or above start/keep "
                              "tracks in the first association.")
    low_score: float = Field(0.1, ge=0, le=1, description="Detections between low_score and "
                             "high_score can only continue existing tracks.")
    new_track_score: float = Field(0.6, ge=0, le=1, description="Least score to start a track.")
    match_iou: float = Field(0.2, gt=0, le=1, description="Least IoU, 1st association.")
    low_match_iou: float = Field(0.5, gt=0, le=1, description="Least IoU, low-score association.")
    tentative_match_iou: float = Field(0.3, gt=0, le=1,
                                       description="Least IoU to continue an unconfirmed track.")
    confirm_hits: int = Field(3, ge=1, le=100, description="Consecutive hits before a track is "
                              "confirmed and gets an id.")
    lost_timeout_s: float = Field(2.0, ge=0, description="Seconds a lost track may be re-found "
                                  "before it is removed.")
    max_tracks: int = Field(1000, ge=1, description="Most tracks kept per source.")
    class_aware: bool = Field(True, description="Only match detections of the track's class.")
    reid: str | None = Field(None, description="Registry name of a re-identification model "
                             "(person_reid_retail_0288) whose crop embeddings join the IoU in "
                             "association; none: IoU only.")
    reid_weights: str | None = Field(None, description="Explicit re-ID weights path.")
    appearance_weight: float = Field(0.5, ge=0, le=1, description="Weight of the cosine "
                                     "similarity against the IoU in association (with reid).")
    reid_similarity: float = Field(0.6, ge=-1, le=1, description="Least cosine similarity to "
                                   "re-find a lost track by appearance alone.")
    reid_timeout_s: float = Field(6.0, ge=0, description="Seconds a lost track with an "
                                  "appearance may be re-found (with reid).")
    reid_speed: float = Field(1.0, ge=0, description="How far (box heights per second lost) a "
                              "re-found track may have moved.")
    feature_ema: float = Field(0.9, ge=0, lt=1, description="Weight of the past in a track's "
                               "mean appearance.")
    static_after_s: float = Field(10.0, ge=0, description="Seconds after which a track that "
                                  "never moved and scores low is flagged static (0: never).")
    static_shift: float = Field(0.25, ge=0, description="Most shift of the filtered centre, in "
                                "box heights, of a static track.")
    static_score: float = Field(0.5, ge=0, le=1, description="A static track's mean score is "
                                "below this.")
    max_sources: int = Field(10_000, ge=1, description="Most sources with tracker state (the "
                             "least recently seen is forgotten beyond this).")

    @model_validator(mode="after")
    def verify_scores(self) -> TrackConfig:
        if self.low_score > self.high_score:
            raise ValueError(f"low_score ({self.low_score}) must not exceed high_score "
                             f"({self.high_score})")
        return self

    def params(self) -> TrackerParams:
        return TrackerParams(
            high_score=self.high_score, low_score=self.low_score,
            new_track_score=self.new_track_score, match_iou=self.match_iou,
            low_match_iou=self.low_match_iou, tentative_match_iou=self.tentative_match_iou,
            confirm_hits=self.confirm_hits, lost_timeout_s=self.lost_timeout_s,
            max_tracks=self.max_tracks, class_aware=self.class_aware,
            appearance_weight=self.appearance_weight, reid_similarity=self.reid_similarity,
            reid_timeout_s=self.reid_timeout_s if self.reid else 0.0,
            reid_speed=self.reid_speed, feature_ema=self.feature_ema,
            static_after_s=self.static_after_s, static_shift=self.static_shift,
            static_score=self.static_score,
        )

    def models(self) -> list[ModelNeed]:
        return [] if self.reid is None else [ModelNeed(self.reid, self.reid_weights)]


@stage_type("track", TrackConfig)
class Track(Stage[TrackConfig]):
    """Tracks the upstream detections of each source."""

    def __init__(self, config: TrackConfig) -> None:
        super().__init__(config)
        self.params = config.params()
        self._state: PerSource[tuple[ByteTracker, tuple[int, int]]] = PerSource(
            max_sources=config.max_sources)
        self.embedder: ReidEmbedder | None = None
        if config.reid is not None:
            try:
                entry = get_model(config.reid)
            except UnknownNameError as exc:
                raise ConfigError(str(exc), key="reid") from exc
            if entry.task != "reid":
                raise ConfigError(f"model {config.reid!r} is a {entry.task} model, not a "
                                  "re-identification model", key="reid")

    def on_setup(self, context: StageContext) -> None:
        if self.config.reid is not None and self.embedder is None:
            path = resolve_weights(self.config.reid, self.config.reid_weights)
            self.embedder = ReidEmbedder(path)

    def tracker(self, source_id: str, shape: tuple[int, int]) -> ByteTracker:
        """The tracker of ``source_id`` (a new one for a new source or a new frame size)."""
        st = self._state.get(source_id)
        if st is None or st[1] != shape:
            st = self._state[source_id] = (ByteTracker(self.params), shape)
        return st[0]

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [self._one(r) for r in batch]

    def _one(self, result: FrameResult) -> StageOutput:
        src = self.config.detections_from
        upstream = result.outputs.get(src)
        if upstream is None:
            raise StageError(f"stage {self.name}: no output of stage {src!r} (detections_from); "
                             f"stages before it: {', '.join(result.outputs) or 'none'}")
        if rate_skipped(upstream):  # the detector's own rate: tracks move to their predictions
            return self._coast(result, upstream.data.get("labels", ()))
        if upstream.skipped or upstream.detections is None:
            return StageOutput(skipped=True)
        f = result.frame
        # a detect stage with count_threshold keeps its low-score boxes in data["candidates"]
        cand = upstream.data.get("candidates")
        dets = cand if isinstance(cand, Detections) else upstream.detections
        tr = self.tracker(f.source_id, (f.height, f.width))
        feats = None
        if self.config.reid is not None:
            if self.embedder is None:
                self.setup("cpu")
            assert self.embedder is not None
            # only the boxes whose appearance the tracker uses (high scores) are embedded
            use = dets.confidence >= self.params.high_score
            feats = np.zeros((len(dets), 256), np.float32)
            feats[use] = self.embedder.embed(f.image, dets.xyxy[use])
        up = tr.update(dets.xyxy, dets.confidence, dets.class_id, t=f.time, features=feats)
        keep = up.track_ids >= 0
        tracked = dets[keep].replace(track_id=up.track_ids[keep].copy())
        if up.static is not None and up.static[keep].any():  # only then: rows stay lean
            tracked = tracked.replace(data={**tracked.data, "static": up.static[keep].copy()})
        return StageOutput(
            metrics={"tracks": float(int(keep.sum())), "lost": float(len(up.lost)),
                     "confirmed_total": float(tr.last_id)},
            detections=tracked,
            data={"confirmed": up.confirmed, "removed": up.removed, "lost": up.lost,
                  "active": tuple(tr.active_ids())},
        )

    def _coast(self, result: FrameResult, labels: Sequence[str]) -> StageOutput:
        """A frame the detector skipped for its own rate (``stride``, ``interval_s``): the
        confirmed tracks at their predicted boxes (``data["predicted"]``), so that counts and
        heat maps see every frame."""
        f = result.frame
        tr = self.tracker(f.source_id, (f.height, f.width))
        c = tr.coast()
        data: dict[str, Any] = {"static": c.static} if c.static.any() else {}
        tracked = Detections.from_arrays(c.xyxy, c.scores, c.classes, track_id=c.track_ids,
                                         labels=labels, data=data)
        return StageOutput(
            metrics={"tracks": float(len(c.track_ids)), "lost": 0.0,
                     "confirmed_total": float(tr.last_id)},
            detections=tracked,
            data={"confirmed": (), "removed": (), "lost": (), "active": tuple(tr.active_ids()),
                  "predicted": True})

    def reset(self, source_id: str) -> None:
        self._state.reset(source_id)
