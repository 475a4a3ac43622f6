"""Multi-object tracking stage (ByteTrack-style, per source, bounded memory).

Reads ``result.outputs[detections_from].detections`` and outputs the detections that belong to
confirmed tracks, with ``track_id`` set (a new ``Detections`` via ``.replace``; the upstream
object is never changed). Unconfirmed candidates are not output, so no later stage ever sees or
counts an id that flickered. ``data`` carries ``confirmed`` / ``removed`` / ``lost`` id tuples
for analytics stages. If the upstream output was skipped (e.g. a motion gate kept it closed) the
tracker does not advance and its output is skipped too.

Example:
    >>> from streamcv.stages import build_stage
    >>> build_stage({"type": "track", "confirm_hits": 2}).params.confirm_hits
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from streamcv.errors import StageError
from streamcv.features.tracking import ByteTracker, TrackerParams
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.state import PerSource
from streamcv.types import FrameResult, StageOutput

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
        )


@stage_type("track", TrackConfig)
class Track(Stage[TrackConfig]):
    """Tracks the upstream detections of each source."""

    def __init__(self, config: TrackConfig) -> None:
        super().__init__(config)
        self.params = config.params()
        self._state: PerSource[tuple[ByteTracker, tuple[int, int]]] = PerSource(
            max_sources=config.max_sources)

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
        if upstream.skipped or upstream.detections is None:
            return StageOutput(skipped=True)
        f = result.frame
        dets = upstream.detections
        tr = self.tracker(f.source_id, (f.height, f.width))
        up = tr.update(dets.xyxy, dets.confidence, dets.class_id, t=f.time)
        keep = up.track_ids >= 0
        tracked = dets[keep].replace(track_id=up.track_ids[keep].copy())
        return StageOutput(
            metrics={"tracks": float(int(keep.sum())), "lost": float(len(up.lost)),
                     "confirmed_total": float(tr.last_id)},
            detections=tracked,
            data={"confirmed": up.confirmed, "removed": up.removed, "lost": up.lost,
                  "active": tuple(tr.active_ids())},
        )

    def reset(self, source_id: str) -> None:
        self._state.reset(source_id)
