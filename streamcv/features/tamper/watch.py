"""One camera's tamper watch: a learnt baseline, raw conditions per frame, and hysteresis.

A :class:`SceneWatch` gets the :class:`~streamcv.features.tamper.measure.Picture` of each frame
with its time, and judges it:

* **covered**: brightness below ``dark_level`` or contrast below ``uniform_contrast`` (needs no
  baseline);
* **defocused**: sharpness below ``defocus_ratio`` x the baseline's;
* **moved**: the share of the baseline's structured tiles whose edges still match (tile
  correlation at least :data:`AGREE`) below ``moved_match`` (judged only when the picture is
  neither covered nor defocused: a blurred picture cannot be matched). A passing lorry changes
  a few tiles; a camera turned away changes them all.

Defocus and movement are judged only against a baseline with at least :data:`MIN_TILES` tiles
of structure (:func:`~streamcv.features.tamper.measure.tile_structure` at least
``min_structure``; sensor noise on a plain wall has none). The baseline is learnt from the
first ``learn_s`` seconds of pictures that are not covered, then follows slow changes (daylight,
a parked car) with time constant ``adapt_s`` while nothing is wrong. Each condition is a
:class:`Latch`: it starts after showing on every frame for ``hold_s`` and ends after being absent
for ``clear_s``, so a passing lorry or a light switching fires nothing.

Example:
    >>> import numpy as np
    >>> from streamcv.features.tamper.measure import measure
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.integers(0, 255, (18, 32), dtype=np.uint8).repeat(10, 0).repeat(10, 1)
    >>> normal = measure(np.repeat(scene[:, :, None], 3, axis=2))
    >>> dark = measure(np.zeros((180, 320, 3), np.uint8))
    >>> watch = SceneWatch(WatchParams(learn_s=1.0, hold_s=1.0, clear_s=1.0))
    >>> steps = [watch.step(normal if t < 20 or t > 40 else dark, t / 10) for t in range(60)]
    >>> [(t / 10, [str(c) for c in s.started], [str(c) for c in s.ended])
    ...  for t, s in enumerate(steps) if s.started or s.ended]
    [(3.0, ['covered'], []), (5.1, [], ['covered'])]
    >>> round(watch.latches[Condition.COVERED].duration_s, 3)  # dark from 2.0 s to 4.1 s
    2.1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from streamcv.features.tamper.events import Condition
from streamcv.features.tamper.measure import EdgeMap, Picture, tile_correlations, tile_structure

__all__ = ["WatchParams", "Baseline", "Latch", "Step", "SceneWatch", "covered", "AGREE",
           "MIN_TILES"]

_MIN_LEARN_FRAMES = 3
#: A tile still shows the baseline's view when its edges correlate at least this much.
AGREE = 0.5
#: Defocus and movement need this many structured tiles in the baseline.
MIN_TILES = 4


@dataclass(frozen=True)
class WatchParams:
    """Thresholds and times of a watch (the stage config's fields of the same names)."""

    learn_s: float = 5.0
    adapt_s: float | None = 600.0
    dark_level: float = 20.0
    uniform_contrast: float = 6.0
    defocus_ratio: float = 0.35
    min_structure: float = 0.3
    moved_match: float = 0.45
    hold_s: float = 2.0
    clear_s: float = 2.0
    max_gap_s: float = 5.0


@dataclass(frozen=True, eq=False)
class Baseline:
    """What the camera's picture normally looks like.

    Attributes:
        brightness, contrast, sharpness: the usual picture numbers.
        edges: the usual edge map.
        structured: per tile, whether it has structure to match (``min_structure``).
    """

    brightness: float
    contrast: float
    sharpness: float
    edges: EdgeMap
    structured: npt.NDArray[np.bool_]


@dataclass
class Latch:
    """Hysteresis of one condition: it changes state only after the raw value has differed
    from it on every frame for ``hold_s`` (to start) or ``clear_s`` (to end).

    Attributes:
        active: the condition is reported.
        pending: since when the raw value has differed from ``active`` (``None``: it has not).
        began: when the condition of the current (or last) spell first showed.
        cleared: when the last spell's condition stopped showing (``None`` while active).
    """

    active: bool = False
    pending: float | None = None
    began: float | None = None
    cleared: float | None = None

    def update(self, raw: bool, t: float, *, hold_s: float, clear_s: float) -> bool:
        """Feed the raw value at time ``t``; True when the state changed."""
        if raw == self.active:
            self.pending = None
            return False
        if self.pending is None:
            self.pending = t
        if t - self.pending < (hold_s if raw else clear_s):
            return False
        if raw:
            self.began, self.cleared = self.pending, None
        else:
            self.cleared = self.pending
        self.active, self.pending = raw, None
        return True

    @property
    def duration_s(self) -> float:
        """Length of the last spell, from its first showing to its clearing (0 while active)."""
        if self.began is None or self.cleared is None:
            return 0.0
        return max(0.0, self.cleared - self.began)


@dataclass(frozen=True)
class Step:
    """The watch's verdict on one picture.

    Attributes:
        raw: conditions this picture shows (before hysteresis).
        active: conditions reported now (after hysteresis).
        started: conditions that started on this picture.
        ended: conditions that ended on this picture.
        match: share of the baseline's structured tiles that still match (``None`` when
            not judged).
        baseline: the baseline the picture was judged against (``None`` while learning).
    """

    raw: frozenset[Condition]
    active: frozenset[Condition]
    started: tuple[Condition, ...] = ()
    ended: tuple[Condition, ...] = ()
    match: float | None = None
    baseline: Baseline | None = None


def covered(pic: Picture, params: WatchParams) -> bool:
    """True when a picture is very dark or nearly uniform (no baseline needed)."""
    return pic.brightness < params.dark_level or pic.contrast < params.uniform_contrast


@dataclass
class _Learner:
    first_t: float
    frames: int = 0
    sums: np.ndarray = field(default_factory=lambda: np.zeros(3))
    edges: np.ndarray | None = None

    def add(self, pic: Picture) -> None:
        self.frames += 1
        self.sums += (pic.brightness, pic.contrast, pic.sharpness)
        e = pic.edges.astype(np.float64)
        if self.edges is None or self.edges.shape != e.shape:
            self.edges, self.frames = e, 1  # the resolution changed: start again
            self.sums = np.array([pic.brightness, pic.contrast, pic.sharpness])
        else:
            self.edges += e

    def baseline(self, min_structure: float) -> Baseline:
        assert self.edges is not None
        b, c, s = (self.sums / self.frames).tolist()
        return _baseline(b, c, s, (self.edges / self.frames).astype(np.float32), min_structure)


def _baseline(brightness: float, contrast: float, sharpness: float, edges: EdgeMap,
              min_structure: float) -> Baseline:
    return Baseline(brightness, contrast, sharpness, edges,
                    tile_structure(edges) >= min_structure)


class SceneWatch:
    """The tamper watch of one camera (see the module docstring)."""

    def __init__(self, params: WatchParams) -> None:
        self.params = params
        self.baseline: Baseline | None = None
        self.latches = {c: Latch() for c in Condition}
        self._learner: _Learner | None = None
        self._last_t: float | None = None

    @property
    def active(self) -> frozenset[Condition]:
        return frozenset(c for c, latch in self.latches.items() if latch.active)

    def step(self, pic: Picture, t: float) -> Step:
        """Judge the picture taken at ``t`` (seconds, increasing)."""
        p = self.params
        raw: set[Condition] = set()
        match = None
        base = self.baseline
        if covered(pic, p):
            raw.add(Condition.COVERED)
        elif base is not None and int(base.structured.sum()) >= MIN_TILES:
            if pic.sharpness < p.defocus_ratio * base.sharpness:
                raw.add(Condition.DEFOCUSED)
            else:
                agree = tile_correlations(pic.edges, base.edges)[base.structured] >= AGREE
                match = float(agree.mean())
                if match < p.moved_match:
                    raw.add(Condition.MOVED)
        started: list[Condition] = []
        ended: list[Condition] = []
        for cond, latch in self.latches.items():
            if latch.update(cond in raw, t, hold_s=p.hold_s, clear_s=p.clear_s):
                (started if latch.active else ended).append(cond)
        dt = 0.0 if self._last_t is None else min(max(0.0, t - self._last_t), p.max_gap_s)
        self._last_t = t
        if base is None:
            if not raw:
                self._learn(pic, t)
        elif not raw and not self.active:
            self._adapt(base, pic, dt)
        return Step(frozenset(raw), self.active, tuple(started), tuple(ended), match, base)

    def _learn(self, pic: Picture, t: float) -> None:
        if self._learner is None:
            self._learner = _Learner(t)
        self._learner.add(pic)
        lr = self._learner
        if lr.frames >= _MIN_LEARN_FRAMES and t - lr.first_t >= self.params.learn_s:
            self.baseline, self._learner = lr.baseline(self.params.min_structure), None

    def _adapt(self, base: Baseline, pic: Picture, dt: float) -> None:
        if self.params.adapt_s is None or dt <= 0:
            return
        a = min(1.0, dt / self.params.adapt_s)
        edges = base.edges
        if pic.edges.shape == edges.shape:
            edges = edges + np.float32(a) * (pic.edges - edges)
        self.baseline = _baseline(
            base.brightness + a * (pic.brightness - base.brightness),
            base.contrast + a * (pic.contrast - base.contrast),
            base.sharpness + a * (pic.sharpness - base.sharpness), edges,
            self.params.min_structure)
