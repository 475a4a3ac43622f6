"""Posture of one person from 2D keypoints: standing, sitting, lying or unknown.

Definitions (image plane; ``torso`` = hip midpoint → shoulder midpoint; a keypoint counts when its
score ≥ ``keypoint_threshold``; a midpoint uses whichever of the left/right pair is visible):

* **torso angle**: angle between the torso and the image's "up" direction, 0° upright, 90°
  horizontal, 180° head down.
* **legs extended**: a leg whose hip, knee and ankle are seen is extended when its thigh
  (hip → knee) drops at least ``thigh_shin_ratio`` times as far down the image as its shin
  (knee → ankle); one extended leg is enough (walking, a bent front knee). Comparing two segments
  of one leg holds under the foreshortening of an elevated camera (both shrink alike while
  vertical); a seated person's thighs run towards the camera or sideways and drop little. A knee
  above its hip, or thigh and shin both nearly flat, is a folded leg. A shin dropping less than
  ``kneel_ratio`` x its thigh (kneeling, or knee and ankle mixed up) is not trusted. Without a
  usable leg: the knees must lie ``knee_ratio`` torso lengths below the hips (or the ankles
  ``ankle_ratio``).
* **lying**: torso angle ≥ ``lying_min_deg`` and the visible keypoints spread at least as wide as
  they are tall; or, with no torso visible, a box at least ``lying_box_aspect`` times wider than
  tall. An angle between ``upright_max_deg`` and ``lying_min_deg`` counts as lying only when the
  spread is ``recline_spread`` times wider than tall.
* **standing**: otherwise, legs extended; this includes a person bent over with straight legs.
* **sitting**: an upright-ish torso with folded legs: sitting on a chair or the floor,
  squatting. (Kneeling upright reads as standing.)
* **unknown**: fewer than ``min_keypoints`` visible, no torso with an ordinary box, or no legs.

Limits: everything is 2D. A seated person seen from the side with the shins hidden (a desk)
has only the knee rule, which a steep camera angle can fool; one facing a steeply looking-down
camera shows longer thighs and may read as standing. A person lying along the camera's line of
sight (feet or head towards the camera) is foreshortened: the torso looks short and upright and
may read as sitting. An overhead (ceiling) camera has no image "up", so orientation means nothing
there. A rolled camera or a strong fisheye tilts "up"; heavy occlusion (desks, beds, other
people) hides the legs and gives ``unknown``. Wrong keypoints (MoveNet Lightning mixes up knees
and ankles in dark trousers, or puts hips at a long shirt's hem) give wrong postures: on the
shared clips of standing and walking people, 1-3 % of people-frames read as sitting. Thresholds
were set on eye-level and elevated views, not tuned per camera.

Example:
    >>> import numpy as np
    >>> kp = np.zeros((17, 3)); kp[:, 2] = 1.0
    >>> kp[[5, 6], :2] = [[40, 20], [60, 20]]    # shoulders
    >>> kp[[11, 12], :2] = [[42, 60], [58, 60]]  # hips
    >>> kp[[13, 14], :2] = [[42, 95], [58, 95]]  # knees
    >>> kp[[15, 16], :2] = [[42, 130], [58, 130]]  # ankles
    >>> kp[:5, :2] = [50, 10]
    >>> kp[7:11, :2] = [[38, 40], [62, 40], [38, 58], [62, 58]]
    >>> classify(kp, [35, 5, 65, 135]).posture
    <Posture.STANDING: 'standing'>
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv.features.pose.skeleton import Keypoint as K
from streamcv.strict import StrictModel

__all__ = ["Posture", "PostureConfig", "PoseFeatures", "classify"]


class Posture(StrEnum):
    STANDING = "standing"
    SITTING = "sitting"
    LYING = "lying"
    UNKNOWN = "unknown"


class PostureConfig(StrictModel):
    """Thresholds of :func:`classify` (see the module docstring for the definitions)."""

    keypoint_threshold: float = Field(0.3, ge=0, le=1, description="Score for a keypoint to count.")
    min_keypoints: int = Field(5, ge=1, le=17, description="Fewer visible keypoints: unknown.")
    upright_max_deg: float = Field(35.0, ge=0, le=90, description="Torso angle still upright.")
    lying_min_deg: float = Field(60.0, ge=0, le=180, description="Torso angle that is horizontal.")
    recline_spread: float = Field(
        1.3, ge=1, description="Between upright and horizontal: lying if the keypoints are this "
        "many times wider than tall."
    )
    thigh_shin_ratio: float = Field(
        0.6, gt=0, description="Legs extended if the thighs drop at least this many times as "
        "far as the shins (both seen)."
    )
    kneel_ratio: float = Field(
        0.35, ge=0, description="Shins dropping less than this many times as far as the thighs "
        "are not trusted (kneeling, or knees/ankles mixed up): the knee rule decides."
    )
    knee_ratio: float = Field(
        0.4, gt=0, description="Knees but no ankles seen: legs extended if the knees are this "
        "many torso lengths below the hips."
    )
    ankle_ratio: float = Field(
        0.9, gt=0, description="Ankles but no knees seen: legs extended if the ankles are this "
        "many torso lengths below the hips."
    )
    lying_box_aspect: float = Field(
        1.6, gt=1, description="No torso visible: lying if the box is this many times wider than "
        "tall."
    )


@dataclass(frozen=True)
class PoseFeatures:
    """Posture and the geometry the fall detector uses (pixels, degrees)."""

    posture: Posture
    torso_angle: float  # NaN without a torso
    center: tuple[float, float]  # torso centre, or the box centre without a torso
    height: float  # box height


def _mid(kp: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_], a: int, b: int
         ) -> npt.NDArray[np.float64] | None:
    sel = [i for i in (a, b) if ok[i]]
    return kp[sel, :2].mean(axis=0) if sel else None


def _leg(kp: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_], side: tuple[int, int, int],
         torso: float, c: PostureConfig) -> bool | None:
    """One leg (hip, knee, ankle all seen): extended, folded, or None (unseen / unreliable)."""
    h, k, a = side
    if not (ok[h] and ok[k] and ok[a]):
        return None
    thigh, shin = kp[k, 1] - kp[h, 1], kp[a, 1] - kp[k, 1]
    if thigh < -0.25 * torso or max(thigh, shin) < 0.25 * torso:
        return False  # knee raised above the hip, or the leg flat: folded
    if shin < c.kneel_ratio * thigh:
        # ankle level with (or above) the knee: kneeling, or knee and ankle mixed up (dark
        # trousers, furniture); MoveNet does the latter often enough not to trust it
        return None
    return bool(thigh >= c.thigh_shin_ratio * shin)


_LEGS = ((K.LEFT_HIP, K.LEFT_KNEE, K.LEFT_ANKLE), (K.RIGHT_HIP, K.RIGHT_KNEE, K.RIGHT_ANKLE))


def _legs_extended(kp: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_],
                   hip: npt.NDArray[np.float64], torso: float, c: PostureConfig) -> bool | None:
    """Legs straight below the hips (True: one straight leg is enough), folded (False), or not
    seen (None)."""
    legs = [r for r in (_leg(kp, ok, side, torso, c) for side in _LEGS) if r is not None]
    if legs:
        return any(legs)
    knee = _mid(kp, ok, K.LEFT_KNEE, K.RIGHT_KNEE)
    if knee is not None:
        return bool((knee[1] - hip[1]) / torso >= c.knee_ratio)
    ankle = _mid(kp, ok, K.LEFT_ANKLE, K.RIGHT_ANKLE)
    if ankle is not None:
        return bool((ankle[1] - hip[1]) / torso >= c.ankle_ratio)
    return None


def classify(keypoints: npt.ArrayLike, box: npt.ArrayLike,
             config: PostureConfig | None = None) -> PoseFeatures:
    """Posture of one person from ``(17, 3)`` keypoints ``[x, y, score]`` and its box ``xyxy``."""
    c = config or PostureConfig()
    kp = np.asarray(keypoints, np.float64).reshape(17, 3)
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    bw, bh = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    box_center = ((x1 + x2) / 2, (y1 + y2) / 2)
    ok = kp[:, 2] >= c.keypoint_threshold
    shoulder = _mid(kp, ok, K.LEFT_SHOULDER, K.RIGHT_SHOULDER)
    hip = _mid(kp, ok, K.LEFT_HIP, K.RIGHT_HIP)
    if int(ok.sum()) < c.min_keypoints:
        return PoseFeatures(Posture.UNKNOWN, math.nan, box_center, bh)
    if shoulder is None or hip is None or np.allclose(shoulder, hip):
        posture = Posture.LYING if bw / bh >= c.lying_box_aspect else Posture.UNKNOWN
        return PoseFeatures(posture, math.nan, box_center, bh)
    dx, dy = shoulder - hip
    torso = math.hypot(dx, dy)
    angle = math.degrees(math.atan2(abs(dx), -dy))
    center = (float(shoulder[0] + hip[0]) / 2, float(shoulder[1] + hip[1]) / 2)
    pts = kp[ok, :2]
    spread_w, spread_h = np.ptp(pts[:, 0]), np.ptp(pts[:, 1])
    if angle >= c.lying_min_deg and spread_w >= spread_h:
        return PoseFeatures(Posture.LYING, angle, center, bh)
    if c.upright_max_deg < angle < c.lying_min_deg and spread_w >= c.recline_spread * spread_h:
        return PoseFeatures(Posture.LYING, angle, center, bh)
    extended = _legs_extended(kp, ok, hip, torso, c)
    if extended is None:
        return PoseFeatures(Posture.UNKNOWN, angle, center, bh)
    if angle >= c.lying_min_deg:  # horizontal torso, keypoints taller than wide: bent over?
        posture = Posture.STANDING if extended else Posture.UNKNOWN
    else:
        posture = Posture.STANDING if extended else Posture.SITTING
    return PoseFeatures(posture, angle, center, bh)
