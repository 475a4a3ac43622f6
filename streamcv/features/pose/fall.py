"""Falls and people down, per track, from per-frame postures (one detector per source).

Definitions (times are media seconds, ``frame.time``):

* A **lying run** of a track starts at its first ``lying`` observation and ends once the track has
  been seen ``standing``/``sitting`` for ``confirm_s`` (``unknown`` neither starts nor ends one).
* **Fall**: a lying run that has lasted ``confirm_s`` and in which, within ``window_s`` before the
  run started, the same track was seen upright (standing or sitting with the torso within
  ``upright_max_deg`` of vertical, see :mod:`~streamcv.features.pose.posture`) with its torso centre
  at least ``drop_ratio`` x (its box height then) higher than the lowest torso centre of the run so
  far. Checked until the run is ``window_s`` old; at most one fall per run. Emits ``fall``.
* **Down**: a lying run that has lasted ``down_after_s``, however it began (a fall, lying down,
  or already lying when first seen). Emits ``person_down`` once per run.
* Per frame: ``falls`` = falls detected on this frame, ``fallen`` = people seen on this frame
  whose current run began with a fall, ``down`` = people seen on this frame who are down.

Tracks come from the upstream tracker's ids; people without an id are linked frame to frame by
greedy box IoU (``link_iou``) for this purpose only. State is bounded: tracks unseen for
``max_age_s`` are dropped, at most ``max_tracks`` are kept (least recently seen go first), and a
track's upright history holds at most 256 observations.

Limits: a fall needs the upright "before" to have been seen: a person who falls out of view, or
whose track id switches during the fall, gives ``down`` (after ``down_after_s``) but not ``fall``.
Lying down quickly on purpose (onto a bed or sofa within ``window_s``) looks like a fall. A fall
along the camera's line of sight barely changes the 2D torso angle and may be missed. Low frame
rates (< 2 fps) may skip the upright-to-lying transition.

Example:
    >>> det = FallDetector(FallConfig(confirm_s=0.0))
    >>> up = Observation(track_id=7, posture=Posture.STANDING, center_y=100.0, height=180.0)
    >>> det.update(0.0, [up]).falls
    0
    >>> down = Observation(track_id=7, posture=Posture.LYING, center_y=170.0, height=60.0)
    >>> det.update(0.8, [down]).falls
    1
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from streamcv.boxes import iou_matrix, match_greedy
from streamcv.features.pose.events import (
    DOWN,
    FALL,
    FALLEN,
    LYING_S,
    PERSON_DOWN,
    fall_data,
)
from streamcv.features.pose.posture import Posture
from streamcv.strict import StrictModel
from streamcv.types import Event

__all__ = ["FallConfig", "FallDetector", "Observation", "FallUpdate", "TrackFlags", "as_array"]

_HISTORY = 256


class FallConfig(StrictModel):
    """Parameters of the fall / person-down detector."""

    window_s: float = Field(1.5, gt=0, le=30, description="Upright → lying within this time.")
    drop_ratio: float = Field(
        0.25, gt=0, le=2, description="Torso centre drop, as a fraction of the upright box height."
    )
    confirm_s: float = Field(
        0.3, ge=0, le=10, description="A posture change must hold this long to count."
    )
    down_after_s: float = Field(5.0, ge=0, le=3600, description="Lying this long: person down.")
    max_age_s: float = Field(5.0, gt=0, le=3600, description="Forget tracks unseen this long.")
    max_tracks: int = Field(256, ge=1, le=100_000, description="Most tracks kept per source.")
    link_iou: float = Field(
        0.3, gt=0, le=1, description="Without tracker ids: link people across frames by box IoU."
    )


@dataclass(frozen=True)
class Observation:
    """One person on one frame, as the detector needs it."""

    track_id: int  # upstream id (>= 0) or -1 (then linked by box)
    posture: Posture
    center_y: float
    height: float
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    upright: bool | None = None  # torso upright (default: standing or sitting)

    @property
    def is_upright(self) -> bool:
        if self.upright is not None:
            return self.upright
        return self.posture in (Posture.STANDING, Posture.SITTING)


@dataclass(frozen=True)
class TrackFlags:
    fallen: bool
    down: bool
    lying_s: float


@dataclass(frozen=True)
class FallUpdate:
    falls: int
    fallen: int
    down: int
    flags: tuple[TrackFlags, ...]
    events: tuple[Event, ...]


@dataclass
class _Track:
    last_seen: float
    box: tuple[float, float, float, float]
    upright: deque[tuple[float, float, float]] = field(
        default_factory=lambda: deque(maxlen=_HISTORY))
    lying_since: float | None = None
    before: tuple[tuple[float, float, float], ...] = ()
    lowest: float = -math.inf
    not_lying_since: float | None = None
    fell: bool = False
    down: bool = False


class FallDetector:
    """Fall / person-down state of every track of one source.

    Example: see the module docstring.
    """

    def __init__(self, config: FallConfig | None = None) -> None:
        self.config = config or FallConfig()
        self._tracks: OrderedDict[int, _Track] = OrderedDict()
        self._next_link = -1
        self._last_t = -math.inf

    def __len__(self) -> int:
        return len(self._tracks)

    def update(self, t: float, people: Sequence[Observation]) -> FallUpdate:
        """Feed the people seen on the frame at media time ``t`` (seconds)."""
        if t < self._last_t - 1.0:  # time went backwards (source restarted): start afresh
            self.reset()
        self._last_t = max(self._last_t, t)
        keys = self._keys(people)
        events: list[Event] = []
        flags: list[TrackFlags] = []
        falls = 0
        for key, obs in zip(keys, people, strict=True):
            tr = self._tracks.get(key)
            if tr is None:
                tr = self._tracks[key] = _Track(last_seen=t, box=obs.box)
            self._tracks.move_to_end(key)
            tr.last_seen, tr.box = t, obs.box
            fell, became_down = self._step(tr, t, obs)
            label = f"track {key}" if key >= 0 else "person (untracked)"
            if fell:
                falls += 1
                events.append(Event(FALL, f"{label} fell", self._event_data(key, obs, t)))
            if became_down:
                how = "after a fall" if tr.fell else "lying"
                events.append(Event(PERSON_DOWN, f"{label} down for "
                                    f"{self.config.down_after_s:g} s ({how})",
                                    self._event_data(key, obs, t)))
            lying_s = t - tr.lying_since if tr.lying_since is not None else 0.0
            flags.append(TrackFlags(tr.fell, tr.down, lying_s))
        self._expire(t)
        return FallUpdate(falls, sum(f.fallen for f in flags), sum(f.down for f in flags),
                          tuple(flags), tuple(events))

    def reset(self) -> None:
        self._tracks.clear()
        self._last_t = -math.inf

    # internals --------------------------------------------------------------------------------
    @staticmethod
    def _event_data(key: int, obs: Observation, t: float) -> dict[str, object]:
        return fall_data(key if key >= 0 else None, t, obs.box)

    def _step(self, tr: _Track, t: float, obs: Observation) -> tuple[bool, bool]:
        c = self.config
        fell = became_down = False
        if obs.posture is Posture.LYING:
            tr.not_lying_since = None
            if tr.lying_since is None:
                tr.lying_since = t
                tr.before = tuple(u for u in tr.upright if u[0] >= t - c.window_s)
                tr.lowest = -math.inf
            tr.lowest = max(tr.lowest, obs.center_y)
            age = t - tr.lying_since
            if (not tr.fell and c.confirm_s <= age <= c.window_s + c.confirm_s
                    and any(tr.lowest - cy >= c.drop_ratio * h for _, cy, h in tr.before)):
                tr.fell = fell = True
            if not tr.down and age >= c.down_after_s:
                tr.down = became_down = True
        elif obs.posture in (Posture.STANDING, Posture.SITTING):
            if obs.is_upright:
                tr.upright.append((t, obs.center_y, obs.height))
            if tr.lying_since is not None:
                if tr.not_lying_since is None:
                    tr.not_lying_since = t
                if t - tr.not_lying_since >= c.confirm_s:
                    tr.lying_since, tr.before, tr.not_lying_since = None, (), None
                    tr.fell = tr.down = False
        return fell, became_down

    def _keys(self, people: Sequence[Observation]) -> list[int]:
        """Upstream ids as they are; people without one linked to earlier boxes by IoU."""
        keys = [p.track_id if p.track_id >= 0 else None for p in people]
        free = [i for i, k in enumerate(keys) if k is None]
        if free:
            # equal IoUs go to the later person, then the older link id (-1 is the first)
            rows = free[::-1]
            olds = sorted((k for k in self._tracks if k < 0), reverse=True)
            iou = iou_matrix([people[i].box for i in rows], [self._tracks[k].box for k in olds])
            for r, c in match_greedy(iou, self.config.link_iou).pairs:
                keys[rows[r]] = olds[c]
            for i in free:
                if keys[i] is None:
                    keys[i] = self._next_link
                    self._next_link -= 1
        return [int(k) for k in keys]  # type: ignore[arg-type]

    def _expire(self, t: float) -> None:
        horizon = t - self.config.max_age_s
        for key in [k for k, tr in self._tracks.items() if tr.last_seen < horizon]:
            del self._tracks[key]
        while len(self._tracks) > self.config.max_tracks:
            self._tracks.popitem(last=False)


def as_array(flags: Sequence[TrackFlags]) -> dict[str, np.ndarray]:
    """Per-person flags as arrays (for ``Detections.data``)."""
    return {
        FALLEN: np.array([f.fallen for f in flags], bool),
        DOWN: np.array([f.down for f in flags], bool),
        LYING_S: np.array([round(f.lying_s, 3) for f in flags], np.float64),
    }
