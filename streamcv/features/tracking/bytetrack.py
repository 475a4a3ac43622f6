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

With appearance embeddings (``features``, unit vectors, e.g. from
:class:`~streamcv.features.tracking.reid.ReidEmbedder`) each track keeps an exponential moving
average of its detections' embeddings and the associations score a pair as
``(1 - appearance_weight) * IoU + appearance_weight * cosine`` where the IoU gate passes; a lost
track may also be re-found by appearance alone (cosine >= ``reid_similarity``) within a distance
that grows with the time it has been lost (``reid_speed`` box heights per second), for up to
``reid_timeout_s``, and with a box height within a factor ``reid_max_scale`` of its last one (a
fixed camera: people do not change size fast), so an occlusion longer than the motion model can
bridge does not split an identity.

A confirmed track that barely moves (its Kalman-filtered centre stays within ``static_shift`` box
heights of where it started) for ``static_after_s`` seconds while scoring below ``static_score`` on
average is flagged *static* (``TrackUpdate.static``): typically a bin or a cone taken for a
person. People analytics skip static tracks; the flag clears if the track moves.

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

__all__ = ["ByteTracker", "TrackerParams", "TrackState", "Track", "TrackUpdate", "Coasted"]


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
    appearance_weight: float = 0.5
    reid_similarity: float = 0.6
    reid_timeout_s: float = 0.0
    reid_speed: float = 1.0
    reid_max_scale: float = 1.5
    feature_ema: float = 0.9
    static_after_s: float = 10.0
    static_shift: float = 0.25
    static_score: float = 0.5

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
    feat: npt.NDArray[np.float32] | None = None  # EMA of unit appearance vectors
    anchor: tuple[float, float] | None = None  # centre where the track was confirmed
    anchor_t: float = 0.0
    max_shift: float = 0.0  # largest centre shift from the anchor, in box heights
    score_sum: float = 0.0
    n_scores: int = 0
    static: bool = False
    last_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

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
        static: per input detection, whether its track is flagged static (see the module docs).
    """

    track_ids: npt.NDArray[np.int64]
    confirmed: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    lost: tuple[int, ...] = field(default=())
    static: npt.NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class Coasted:
    """The confirmed tracks of one :meth:`ByteTracker.coast` (frame without detections):
    ids, predicted boxes (xyxy), last scores, classes and static flags, one row per track."""

    track_ids: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    classes: npt.NDArray[np.int64]
    static: npt.NDArray[np.bool_]


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

    def _score(self, tracks: list[Track], boxes: npt.NDArray[np.float64],
               classes: npt.NDArray[np.int64], feats: npt.NDArray[np.float32] | None, *,
               t: float, min_iou: float) -> npt.NDArray[np.float64]:
        """Association scores (tracks x boxes), 0 where a pair may not match (module docs)."""
        p = self.params
        iou = self._iou(tracks, boxes, classes)
        gate = iou >= min_iou
        if feats is None or iou.size == 0:
            return np.where(gate, iou, 0.0)
        has = np.array([tr.feat is not None for tr in tracks])
        cos = np.zeros_like(iou)
        if has.any():
            cos[has] = np.stack([tr.feat for tr in tracks if tr.feat is not None]) @ feats.T
        w = p.appearance_weight
        fused = np.where(has[:, None], (1 - w) * iou + w * np.clip(cos, 0, 1), iou)
        if p.reid_timeout_s > 0:
            lost = np.array([tr.state is TrackState.LOST for tr in tracks])
            same = np.array([tr.cls for tr in tracks])[:, None] == classes[None, :]
            refind = (lost & has)[:, None] & (cos >= p.reid_similarity) & same
            gate |= refind & self._reachable(tracks, boxes, t)
        return np.where(gate, np.maximum(fused, 1e-6), 0.0)

    def _reachable(self, tracks: list[Track], boxes: npt.NDArray[np.float64], t: float
                   ) -> npt.NDArray[np.bool_]:
        """Whether each box's centre is near enough each track's last seen box (walking speed)."""
        last = np.array([tr.last_box for tr in tracks], np.float64).reshape(-1, 4)
        h = np.maximum(last[:, 3] - last[:, 1], 1.0)
        dt = np.array([t - tr.last_t for tr in tracks])
        reach = h * (0.5 + self.params.reid_speed * dt)
        c_tr = (last[:, :2] + last[:, 2:]) / 2
        c_det = (boxes[:, :2] + boxes[:, 2:]) / 2
        dist = np.linalg.norm(c_tr[:, None, :] - c_det[None, :, :], axis=2)
        scale = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)[None, :] / h[:, None]
        k = self.params.reid_max_scale
        return np.asarray((dist <= reach[:, None]) & (scale <= k) & (scale >= 1 / k))

    def _hit(self, track: Track, box: npt.NDArray[np.float64], score: float, t: float,
             feat: npt.NDArray[np.float32] | None = None) -> None:
        track.mean, track.cov = self.kf.update(track.mean, track.cov, xyxy_to_xyah(box))
        track.score = score
        track.last_t = t
        track.hits += 1
        self._observe(track, box, score, t, feat)

    def _observe(self, track: Track, box: npt.NDArray[np.float64], score: float, t: float,
                 feat: npt.NDArray[np.float32] | None) -> None:
        p = self.params
        track.last_box = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        if feat is not None:
            if track.feat is None:
                track.feat = feat.astype(np.float32)
            else:
                f = p.feature_ema * track.feat + (1 - p.feature_ema) * feat
                track.feat = (f / max(float(np.linalg.norm(f)), 1e-6)).astype(np.float32)
        # the filtered centre: one box merged with a passer-by must not count as a move
        cx, cy, h = float(track.mean[0]), float(track.mean[1]), max(float(track.mean[3]), 1.0)
        if track.anchor is None:
            track.anchor, track.anchor_t = (float(cx), float(cy)), t
        shift = float(np.hypot(cx - track.anchor[0], cy - track.anchor[1]) / h)
        track.max_shift = max(track.max_shift, shift)
        track.score_sum += score
        track.n_scores += 1
        track.static = (p.static_after_s > 0 and t - track.anchor_t >= p.static_after_s
                        and track.max_shift < p.static_shift
                        and track.score_sum / track.n_scores < p.static_score)

    def update(self, xyxy: npt.ArrayLike, scores: npt.ArrayLike, classes: npt.ArrayLike, *,
               t: float, features: npt.ArrayLike | None = None) -> TrackUpdate:
        """Advance by one frame at media time ``t`` (seconds) with this frame's detections
        (and, optionally, their unit appearance vectors, N x D)."""
        p = self.params
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        sc = np.asarray(scores, np.float64).reshape(-1)
        cl = np.asarray(classes, np.int64).reshape(-1)
        fe = (None if features is None or not len(boxes)  # an empty frame needs no appearance
              else np.asarray(features, np.float32).reshape(len(boxes), -1))
        ids = np.full(len(boxes), -1, np.int64)
        static = np.zeros(len(boxes), bool)
        for tr in self.tracks:
            tr.mean, tr.cov = self.kf.predict(tr.mean, tr.cov)

        def feat(d: int) -> npt.NDArray[np.float32] | None:
            return None if fe is None else fe[d]

        def sub(idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float32] | None:
            return None if fe is None else fe[idx]

        high = np.flatnonzero(sc >= p.high_score)
        low = np.flatnonzero((sc >= p.low_score) & (sc < p.high_score))
        pool = [tr for tr in self.tracks if tr.state is not TrackState.TENTATIVE]
        tentative = [tr for tr in self.tracks if tr.state is TrackState.TENTATIVE]

        # 1st association: confirmed + lost tracks with high detections
        pairs, un_tr, un_det = match_hungarian(
            self._score(pool, boxes[high], cl[high], sub(high), t=t, min_iou=p.match_iou), 1e-9)
        for r, c in pairs:
            tr, d = pool[r], high[c]
            self._hit(tr, boxes[d], float(sc[d]), t, feat(d))
            tr.state = TrackState.CONFIRMED
            ids[d], static[d] = tr.id, tr.static
        rest_high = high[un_det]
        # 2nd association: still-unmatched confirmed tracks with low detections (IoU only:
        # low-score boxes are mostly occluded people, whose crops mislead the appearance)
        second = [pool[r] for r in un_tr if pool[r].state is TrackState.CONFIRMED]
        pairs, un2, _ = match_hungarian(self._iou(second, boxes[low], cl[low]), p.low_match_iou)
        for r, c in pairs:
            tr, d = second[r], low[c]
            self._hit(tr, boxes[d], float(sc[d]), t)
            ids[d], static[d] = tr.id, tr.static
        lost = []
        for r in un2:
            second[r].state = TrackState.LOST
            lost.append(second[r].id)
        # 3rd: tentative tracks with the remaining high detections
        pairs, un_tent, un_det = match_hungarian(
            self._score(tentative, boxes[rest_high], cl[rest_high], sub(rest_high), t=t,
                        min_iou=p.tentative_match_iou), 1e-9)
        confirmed = []
        for r, c in pairs:
            tr, d = tentative[r], rest_high[c]
            self._hit(tr, boxes[d], float(sc[d]), t, feat(d))
            if tr.hits >= p.confirm_hits:
                self._confirm(tr)
                confirmed.append(tr.id)
                ids[d], static[d] = tr.id, tr.static
        dead = {id(tentative[r]) for r in un_tent}
        # new tentative tracks
        for d in rest_high[un_det]:
            if sc[d] < p.new_track_score:
                continue
            mean, cov = self.kf.initiate(xyxy_to_xyah(boxes[d]))
            tr = Track(mean, cov, int(cl[d]), float(sc[d]), t, t)
            self._observe(tr, boxes[d], float(sc[d]), t, feat(d))
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
            timeout = max(p.lost_timeout_s, p.reid_timeout_s if tr.feat is not None else 0.0)
            if tr.state is TrackState.LOST and t - tr.last_t > timeout:
                removed.append(tr.id)
                continue
            keep.append(tr)
        if len(keep) > p.max_tracks:
            rank = {TrackState.LOST: 0, TrackState.TENTATIVE: 1, TrackState.CONFIRMED: 2}
            keep.sort(key=lambda tr: (rank[tr.state], tr.last_t))
            removed += [tr.id for tr in keep[: len(keep) - p.max_tracks] if tr.id >= 0]
            keep = keep[len(keep) - p.max_tracks:]
        self.tracks = keep
        return TrackUpdate(ids, tuple(confirmed), tuple(removed), tuple(lost), static)

    def coast(self) -> Coasted:
        """Advance by one frame the detector skipped: every track moves to its predicted box
        (the Kalman step :meth:`update` takes too, so the motion model keeps its per-frame
        units); nothing is matched, confirmed, lost or removed. Returns the confirmed tracks in
        view (not the lost ones) with their predicted boxes."""
        for tr in self.tracks:
            tr.mean, tr.cov = self.kf.predict(tr.mean, tr.cov)
        live = [tr for tr in self.tracks if tr.state is TrackState.CONFIRMED]
        boxes = np.array([tr.box for tr in live], np.float64).reshape(-1, 4)
        return Coasted(np.array([tr.id for tr in live], np.int64), boxes,
                       np.array([tr.score for tr in live], np.float64),
                       np.array([tr.cls for tr in live], np.int64),
                       np.array([tr.static for tr in live], bool))

    def _confirm(self, tr: Track) -> None:
        self.last_id += 1
        tr.id = self.last_id
        tr.state = TrackState.CONFIRMED

    def active_ids(self) -> list[int]:
        """Ids of confirmed tracks (seen or lost but not yet removed)."""
        return [tr.id for tr in self.tracks if tr.id >= 0]
