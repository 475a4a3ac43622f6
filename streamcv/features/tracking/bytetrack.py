"""ByteTrack-style multi-object tracker (Zhang et al., ECCV 2022) with bounded memory.

Per frame:

1. detections split into *high* (score >= ``high_score``) and *low* (``low_score`` <= score <
   ``high_score``);
2. every track's Kalman box is predicted;
3. confirmed and lost tracks are matched to high detections (IoU, Hungarian);
4. confirmed tracks still unmatched get a second chance with the low detections (this is
   ByteTrack's idea: an occluded person scores low but is still there); tracks still unmatched
   become *lost*;
5. tentative tracks are matched to the remaining high detections; a tentative track is confirmed
   after ``confirm_hits`` consecutive hits and removed on its first miss (flicker never becomes a
   track);
6. unmatched high detections scoring >= ``new_track_score`` start tentative tracks;
7. lost tracks older than ``lost_timeout_s`` are removed.

Public track ids are given at confirmation (1, 2, 3, ... per tracker), so unconfirmed candidates
never show an id and ``last_id`` is the number of tracks ever confirmed. Removed tracks are
dropped at once and at most ``max_tracks`` tracks are kept (oldest lost, then tentative first).

Example:
    >>> import numpy as np
    >>> tr = ByteTracker(TrackerParams(confirm_hits=2))
    >>> box = np.array([[10, 10, 50, 110]], np.float32)
    >>> [tr.update(box + 2 * k, np.array([0.9]), np.array([0]), t=k * 0.1).track_ids.tolist()
    ...  for k in range(3)]
    [[-1], [1], [1]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from streamcv.boxes import iou_matrix, match_hungarian
from streamcv.features.tracking.kalman import KalmanBox, xyxy_to_xyah

__all__ = ["ByteTracker", "TrackerParams", "TrackState", "Track", "TrackUpdate"]


class TrackState(StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    LOST = "lost"


@dataclass(frozen=True)
class TrackerParams:
    """Thresholds of :class:`ByteTracker` (see the module docs for the steps they steer)."""

    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.6
    match_iou: float = 0.2
    low_match_iou: float = 0.5
    tentative_match_iou: float = 0.3
    confirm_hits: int = 3
    lost_timeout_s: float = 2.0
    max_tracks: int = 1000
    class_aware: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score <= 1:
            raise ValueError(f"need 0 <= low_score <= high_score <= 1, got {self.low_score}, "
                             f"{self.high_score}")
        if self.confirm_hits < 1 or self.max_tracks < 1 or self.lost_timeout_s < 0:
            raise ValueError("confirm_hits and max_tracks must be >= 1, lost_timeout_s >= 0")


@dataclass(eq=False)
class Track:
    mean: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]
    cls: int
    score: float
    first_t: float
    last_t: float
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    id: int = -1  # public id, given at confirmation

    @property
    def box(self) -> list[float]:
        cx, cy, a, h = self.mean[:4].tolist()
        w = a * h
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


@dataclass(frozen=True)
class TrackUpdate:
    """The result of one :meth:`ByteTracker.update`.

    Attributes:
        track_ids: per input detection, the confirmed track id it was assigned, or -1.
        confirmed: ids confirmed on this frame (new tracks).
        removed: ids of confirmed tracks removed on this frame (gone for good).
        lost: ids of confirmed tracks that were not seen on this frame.
    """

    track_ids: npt.NDArray[np.int64]
    confirmed: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    lost: tuple[int, ...] = field(default=())


class ByteTracker:
    """Tracks objects of one source (keep one tracker per source)."""

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self.kf = KalmanBox()
        self.tracks: list[Track] = []
        self.last_id = 0

    def __len__(self) -> int:
        return len(self.tracks)

    def _iou(self, tracks: list[Track], boxes: npt.NDArray[np.float64],
             classes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        iou = iou_matrix(np.array([t.box for t in tracks]).reshape(-1, 4), boxes)
        if self.params.class_aware and iou.size:
            iou = np.where(np.array([t.cls for t in tracks])[:, None] == classes[None, :], iou, 0)
        return iou

    def _hit(self, track: Track, box: npt.NDArray[np.float64], score: float, t: float) -> None:
        track.mean, track.cov = self.kf.update(track.mean, track.cov, xyxy_to_xyah(box))
        track.score = score
        track.last_t = t
        track.hits += 1

    def update(self, xyxy: npt.ArrayLike, scores: npt.ArrayLike, classes: npt.ArrayLike, *,
               t: float) -> TrackUpdate:
        """Advance by one frame at media time ``t`` (seconds) with this frame's detections."""
        p = self.params
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        sc = np.asarray(scores, np.float64).reshape(-1)
        cl = np.asarray(classes, np.int64).reshape(-1)
        ids = np.full(len(boxes), -1, np.int64)
        for tr in self.tracks:
            tr.mean, tr.cov = self.kf.predict(tr.mean, tr.cov)

        high = np.flatnonzero(sc >= p.high_score)
        low = np.flatnonzero((sc >= p.low_score) & (sc < p.high_score))
        pool = [tr for tr in self.tracks if tr.state is not TrackState.TENTATIVE]
        tentative = [tr for tr in self.tracks if tr.state is TrackState.TENTATIVE]

        # 1st association: confirmed + lost tracks with high detections
        pairs, un_tr, un_det = match_hungarian(self._iou(pool, boxes[high], cl[high]),
                                               p.match_iou)
        for r, c in pairs:
            tr, d = pool[r], high[c]
            self._hit(tr, boxes[d], float(sc[d]), t)
            tr.state = TrackState.CONFIRMED
            ids[d] = tr.id
        rest_high = high[un_det]
        # 2nd association: still-unmatched confirmed tracks with low detections
        second = [pool[r] for r in un_tr if pool[r].state is TrackState.CONFIRMED]
        pairs, un2, _ = match_hungarian(self._iou(second, boxes[low], cl[low]), p.low_match_iou)
        for r, c in pairs:
            tr, d = second[r], low[c]
            self._hit(tr, boxes[d], float(sc[d]), t)
            ids[d] = tr.id
        lost = []
        for r in un2:
            second[r].state = TrackState.LOST
            lost.append(second[r].id)
        # 3rd: tentative tracks with the remaining high detections
        pairs, un_tent, un_det = match_hungarian(
            self._iou(tentative, boxes[rest_high], cl[rest_high]), p.tentative_match_iou)
        confirmed = []
        for r, c in pairs:
            tr, d = tentative[r], rest_high[c]
            self._hit(tr, boxes[d], float(sc[d]), t)
            if tr.hits >= p.confirm_hits:
                self._confirm(tr)
                confirmed.append(tr.id)
                ids[d] = tr.id
        dead = {id(tentative[r]) for r in un_tent}
        # new tentative tracks
        for d in rest_high[un_det]:
            if sc[d] < p.new_track_score:
                continue
            mean, cov = self.kf.initiate(xyxy_to_xyah(boxes[d]))
            tr = Track(mean, cov, int(cl[d]), float(sc[d]), t, t)
            self.tracks.append(tr)
            if p.confirm_hits <= 1:
                self._confirm(tr)
                confirmed.append(tr.id)
                ids[d] = tr.id
        # removal: unmatched tentative, lost too long, then the cap
        removed = []
        keep = []
        for tr in self.tracks:
            if id(tr) in dead:
                continue
            if tr.state is TrackState.LOST and t - tr.last_t > p.lost_timeout_s:
                removed.append(tr.id)
                continue
            keep.append(tr)
        if len(keep) > p.max_tracks:
            rank = {TrackState.LOST: 0, TrackState.TENTATIVE: 1, TrackState.CONFIRMED: 2}
            keep.sort(key=lambda tr: (rank[tr.state], tr.last_t))
            removed += [tr.id for tr in keep[: len(keep) - p.max_tracks] if tr.id >= 0]
            keep = keep[len(keep) - p.max_tracks:]
        self.tracks = keep
        return TrackUpdate(ids, tuple(confirmed), tuple(removed), tuple(lost))

    def _confirm(self, tr: Track) -> None:
        self.last_id += 1
        tr.id = self.last_id
        tr.state = TrackState.CONFIRMED

    def active_ids(self) -> list[int]:
        """Ids of confirmed tracks (seen or lost but not yet removed)."""
        return [tr.id for tr in self.tracks if tr.id >= 0]
