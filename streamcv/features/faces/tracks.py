"""Face tracks and visitors.

Faces get track ids either from person tracks of an earlier stage (:func:`assign_to_people`: a
face belongs to the person box whose upper part holds it) or from :class:`FaceTracker`, a small
greedy IoU tracker with bounded memory. :class:`VisitorBook` collects each track's per-frame age
and gender into one visitor: the median of the per-frame ages (robust to turned or blurred frames)
and a gender vote in which each frame counts with its confidence ``|2 p_male - 1|``.

Example:
    >>> t = FaceTracker(iou_threshold=0.3, max_missed_s=1.0)
    >>> t.update(np.array([[0, 0, 10, 10]], np.float32), time=0.0)[0].tolist()
    [1]
    >>> t.update(np.array([[1, 1, 11, 11]], np.float32), time=0.1)[0].tolist()
    [1]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.boxes import iou_matrix, match_greedy

__all__ = ["FaceTracker", "assign_to_people", "Visitor", "VisitorBook",
           "AGE_BANDS", "age_band"]

#: Age bands used for counting (inclusive years); the last one is open-ended.
AGE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 9), (10, 17), (18, 25), (26, 35), (36, 45), (46, 55), (56, 65), (66, None))


def age_band(age: float) -> str:
    """The band label of an age: ``"26-35"``, or ``"66+"`` for the last band."""
    years = int(np.floor(age + 0.5))
    for lo, hi in AGE_BANDS:
        if hi is None or years <= hi:
            return f"{lo}+" if hi is None else f"{lo}-{hi}"
    raise AssertionError("unreachable")


@dataclass
class _Track:
    box: npt.NDArray[np.float32]
    last_time: float


class FaceTracker:
    """Greedy IoU tracker for one source; ids start at 1 and are never reused.

    Args:
        iou_threshold: least IoU between a face and a track's last box to continue the track.
        max_missed_s: a track unseen for longer than this (media seconds) ends.
        max_tracks: most live tracks; beyond it the longest-unseen one ends.
    """

    def __init__(self, *, iou_threshold: float = 0.3, max_missed_s: float = 1.0,
                 max_tracks: int = 256) -> None:
        self.iou_threshold = iou_threshold
        self.max_missed_s = max_missed_s
        self.max_tracks = max_tracks
        self._tracks: dict[int, _Track] = {}
        self._next = 1

    def __len__(self) -> int:
        return len(self._tracks)

    def update(self, boxes: npt.NDArray[np.float32], *, time: float
               ) -> tuple[npt.NDArray[np.int64], list[int]]:
        """Track ids for ``boxes`` (N, 4) seen at media ``time``, and the ids that ended."""
        ended = [tid for tid, t in self._tracks.items() if time - t.last_time > self.max_missed_s]
        for tid in ended:
            del self._tracks[tid]
        ids = np.full(len(boxes), -1, np.int64)
        tids = list(self._tracks)
        if tids and len(boxes):
            iou = iou_matrix(boxes, np.stack([self._tracks[t].box for t in tids]))
            for i, j in match_greedy(iou, self.iou_threshold).pairs:
                ids[i] = tids[j]
        for i in range(len(boxes)):
            if ids[i] < 0:
                ids[i] = self._next
                self._next += 1
            self._tracks[int(ids[i])] = _Track(np.asarray(boxes[i], np.float32), time)
        while len(self._tracks) > self.max_tracks:
            oldest = min(self._tracks, key=lambda t: self._tracks[t].last_time)
            del self._tracks[oldest]
            ended.append(oldest)
        return ids, ended


def assign_to_people(faces: npt.NDArray[np.float32], people: npt.NDArray[np.float32],
                     people_ids: npt.NDArray[np.int64], *, head_fraction: float = 0.5
                     ) -> npt.NDArray[np.int64]:
    """Track id of the person each face belongs to (-1: none).

    A face matches a person when the face centre lies inside the person box, in its top
    ``head_fraction``; among several candidates the one whose box top is closest above the face
    wins (people standing behind others are taller in the image). Each person takes one face.
    """
    out = np.full(len(faces), -1, np.int64)
    if not len(faces) or not len(people):
        return out
    cx = (faces[:, 0] + faces[:, 2]) / 2
    cy = (faces[:, 1] + faces[:, 3]) / 2
    px1, py1, px2, py2 = (people[:, k] for k in range(4))
    inside = ((cx[:, None] >= px1) & (cx[:, None] <= px2) & (cy[:, None] >= py1)
              & (cy[:, None] <= py1 + head_fraction * (py2 - py1)) & (people_ids[None, :] >= 0))
    gap = np.where(inside, (cy[:, None] - py1) / np.maximum(py2 - py1, 1), np.inf)
    taken: set[int] = set()
    for flat in np.argsort(gap, axis=None):
        i, j = divmod(int(flat), len(people))
        if not np.isfinite(gap[i, j]):
            break
        if out[i] < 0 and j not in taken:
            out[i] = people_ids[j]
            taken.add(j)
    return out


@dataclass
class Visitor:
    """Everything seen of one face track."""

    track_id: int
    first_time: float
    first_seen: datetime
    last_time: float
    last_seen: datetime
    frames: int = 0
    skipped_small: int = 0
    skipped_blur: int = 0
    ages: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    male_votes: float = 0.0
    female_votes: float = 0.0
    faces: int = 0

    def add(self, *, age: float, male: float) -> None:
        self.faces += 1
        self.ages.append(float(age))
        conf = abs(2.0 * float(male) - 1.0)
        if male > 0.5:
            self.male_votes += conf
        else:
            self.female_votes += conf

    @property
    def age(self) -> float | None:
        return float(np.median(self.ages)) if self.ages else None

    @property
    def gender(self) -> str | None:
        if self.faces == 0 or self.male_votes == self.female_votes:
            return None
        return "male" if self.male_votes > self.female_votes else "female"

    @property
    def gender_score(self) -> float | None:
        total = self.male_votes + self.female_votes
        if self.gender is None or total <= 0:
            return None
        return max(self.male_votes, self.female_votes) / total

    def to_json(self) -> dict[str, Any]:
        age = self.age
        score = self.gender_score
        return {
            "track_id": self.track_id,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "duration_s": round(self.last_time - self.first_time, 3),
            "frames": self.frames,
            "faces": self.faces,
            "skipped_small": self.skipped_small,
            "skipped_blur": self.skipped_blur,
            "age": None if age is None else round(age, 1),
            "age_band": None if age is None else age_band(age),
            "gender": self.gender,
            "gender_score": None if score is None else round(score, 4),
        }


class VisitorBook:
    """Live visitors of one source, keyed by track id (at most ``max_visitors``).

    Args:
        timeout_s: a visitor whose track is unseen for longer than this (media seconds) leaves.
        max_visitors: most live visitors; beyond it the longest-unseen one leaves early.
    """

    def __init__(self, *, timeout_s: float = 2.0, max_visitors: int = 512) -> None:
        self.timeout_s = timeout_s
        self.max_visitors = max_visitors
        self._live: dict[int, Visitor] = {}

    def __len__(self) -> int:
        return len(self._live)

    def get(self, track_id: int, *, time: float, wallclock: datetime) -> Visitor:
        v = self._live.get(track_id)
        if v is None:
            v = self._live[track_id] = Visitor(track_id, time, wallclock, time, wallclock)
        v.last_time, v.last_seen = max(v.last_time, time), max(v.last_seen, wallclock)
        return v

    def expire(self, *, time: float) -> list[Visitor]:
        """Visitors gone by media ``time`` (plus the stalest ones over the size limit)."""
        gone = [t for t, v in self._live.items() if time - v.last_time > self.timeout_s]
        left = [self._live.pop(t) for t in gone]
        while len(self._live) > self.max_visitors:
            stalest = min(self._live, key=lambda t: self._live[t].last_time)
            left.append(self._live.pop(stalest))
        return left

    def close_all(self) -> list[Visitor]:
        left = sorted(self._live.values(), key=lambda v: v.first_time)
        self._live.clear()
        return left
