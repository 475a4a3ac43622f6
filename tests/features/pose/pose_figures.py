"""Scripted 2D stick figures (17 COCO keypoints) and keypoint tracks for posture/fall tests.

A figure is a hip position plus three angles: the torso (hip → shoulders, 0° = straight up,
+90° = head to the right), the thighs (hip → knees, 0° = straight down, +90° = pointing right)
and the shins (knee → ankles, same convention). Segment lengths are fractions of the standing
height ``h``; ``thigh_scale`` < 1 shortens the thighs as a camera facing a seated person sees them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Figure", "keypoints", "box_of", "STANDING", "SITTING_SIDE", "SITTING_FRONT", "LYING",
           "BENT_OVER", "track", "SCENARIOS"]

GROUND = 400.0


@dataclass(frozen=True)
class Figure:
    x: float = 200.0
    hip_y: float = GROUND - 0.48 * 180
    h: float = 180.0
    torso: float = 0.0
    thigh: float = 0.0
    shin: float = 0.0
    thigh_scale: float = 1.0
    shin_scale: float = 1.0


def _unit(deg: float, *, up: bool) -> np.ndarray:
    r = math.radians(deg)
    return np.array([math.sin(r), -math.cos(r) if up else math.cos(r)])


def keypoints(f: Figure, *, score: float = 0.9) -> np.ndarray:
    """``(17, 3)`` keypoints of a figure."""
    t = _unit(f.torso, up=True)
    perp = np.array([-t[1], t[0]])
    hip = np.array([f.x, f.hip_y])
    sh = hip + t * 0.30 * f.h
    head = sh + t * 0.13 * f.h
    knee = hip + _unit(f.thigh, up=False) * 0.24 * f.h * f.thigh_scale
    ankle = knee + _unit(f.shin, up=False) * 0.24 * f.h * f.shin_scale
    elbow = sh - t * 0.17 * f.h
    wrist = elbow - t * 0.15 * f.h
    kp = np.zeros((17, 3))
    kp[0, :2] = head
    kp[1, :2], kp[2, :2] = head + perp * 0.02 * f.h, head - perp * 0.02 * f.h
    kp[3, :2], kp[4, :2] = head + perp * 0.05 * f.h, head - perp * 0.05 * f.h
    kp[5, :2], kp[6, :2] = sh + perp * 0.11 * f.h, sh - perp * 0.11 * f.h
    kp[7, :2], kp[8, :2] = elbow + perp * 0.13 * f.h, elbow - perp * 0.13 * f.h
    kp[9, :2], kp[10, :2] = wrist + perp * 0.13 * f.h, wrist - perp * 0.13 * f.h
    kp[11, :2], kp[12, :2] = hip + perp * 0.08 * f.h, hip - perp * 0.08 * f.h
    kp[13, :2], kp[14, :2] = knee + perp * 0.08 * f.h, knee - perp * 0.08 * f.h
    kp[15, :2], kp[16, :2] = ankle + perp * 0.08 * f.h, ankle - perp * 0.08 * f.h
    kp[:, 2] = score
    return kp


def box_of(kp: np.ndarray, pad: float = 0.05) -> np.ndarray:
    lo, hi = kp[:, :2].min(axis=0), kp[:, :2].max(axis=0)
    m = (hi - lo) * pad
    return np.concatenate([lo - m, hi + m])


STANDING = Figure()
SITTING_SIDE = Figure(hip_y=GROUND - 0.26 * 180, torso=5, thigh=-85, shin=0)
SITTING_FRONT = Figure(hip_y=GROUND - 0.26 * 180, torso=0, thigh=0, shin=0, thigh_scale=0.25)
LYING = Figure(hip_y=GROUND - 0.05 * 180, torso=-88, thigh=88, shin=90)
BENT_OVER = Figure(torso=80, thigh=0, shin=0)


def _lerp(a: Figure, b: Figure, u: float) -> Figure:
    u = min(max(u, 0.0), 1.0)
    return Figure(*(va + (vb - va) * u for va, vb in zip(
        (a.x, a.hip_y, a.h, a.torso, a.thigh, a.shin, a.thigh_scale, a.shin_scale),
        (b.x, b.hip_y, b.h, b.torso, b.thigh, b.shin, b.thigh_scale, b.shin_scale),
        strict=True)))


def track(script: Callable[[float], Figure], seconds: float, fps: float = 10.0
          ) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """``(t, keypoints, box)`` per frame of a scripted motion."""
    for i in range(int(seconds * fps)):
        t = i / fps
        kp = keypoints(script(t))
        yield t, kp, box_of(kp)


def _walk(t: float) -> Figure:
    swing = 15 * math.sin(2 * math.pi * t)
    return replace(STANDING, x=100 + 40 * t, thigh=swing, shin=swing / 2)


def _sit(t: float) -> Figure:
    return _lerp(STANDING, SITTING_SIDE, (t - 2.0) / 1.0)


def _fall(t: float) -> Figure:
    return _lerp(STANDING, LYING, (t - 2.0) / 0.6)


def _lie_still(t: float) -> Figure:
    return LYING


def _fall_get_up(t: float) -> Figure:
    return _fall(t) if t < 4.0 else _lerp(LYING, STANDING, (t - 4.0) / 1.5)


def _lie_down_slowly(t: float) -> Figure:
    return _lerp(STANDING, LYING, (t - 1.0) / 8.0)


#: name → (script, seconds)
SCENARIOS: dict[str, tuple[Callable[[float], Figure], float]] = {
    "walk": (_walk, 8.0),
    "sit": (_sit, 8.0),
    "fall": (_fall, 10.0),
    "lie_still": (_lie_still, 8.0),
    "fall_get_up": (_fall_get_up, 8.0),
    "lie_down_slowly": (_lie_down_slowly, 16.0),
}
