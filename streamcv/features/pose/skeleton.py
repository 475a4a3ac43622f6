"""The 17 COCO keypoints: names, limb connections, left/right sides and OKS sigmas.

Every pose in streamcv uses this order (COCO ``person_keypoints``), whatever the backend.

Example:
    >>> KEYPOINT_NAMES[Keypoint.LEFT_HIP], len(SKELETON)
    ('left_hip', 19)
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = [
    "Keypoint", "KEYPOINT_NAMES", "NUM_KEYPOINTS", "SKELETON", "LEFT", "RIGHT", "MIRROR",
    "OKS_SIGMAS",
]


class Keypoint(IntEnum):
    """Index of each COCO keypoint in a ``(17, 3)`` array of ``[x, y, score]`` rows."""

    NOSE = 0
    LEFT_EYE = 1
    RIGHT_EYE = 2
    LEFT_EAR = 3
    RIGHT_EAR = 4
    LEFT_SHOULDER = 5
    RIGHT_SHOULDER = 6
    LEFT_ELBOW = 7
    RIGHT_ELBOW = 8
    LEFT_WRIST = 9
    RIGHT_WRIST = 10
    LEFT_HIP = 11
    RIGHT_HIP = 12
    LEFT_KNEE = 13
    RIGHT_KNEE = 14
    LEFT_ANKLE = 15
    RIGHT_ANKLE = 16


KEYPOINT_NAMES: tuple[str, ...] = tuple(k.name.lower() for k in Keypoint)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)

K = Keypoint
#: Limb connections (0-based), the COCO ``skeleton`` list.
SKELETON: tuple[tuple[int, int], ...] = (
    (K.LEFT_ANKLE, K.LEFT_KNEE), (K.LEFT_KNEE, K.LEFT_HIP),
    (K.RIGHT_ANKLE, K.RIGHT_KNEE), (K.RIGHT_KNEE, K.RIGHT_HIP),
    (K.LEFT_HIP, K.RIGHT_HIP), (K.LEFT_SHOULDER, K.LEFT_HIP), (K.RIGHT_SHOULDER, K.RIGHT_HIP),
    (K.LEFT_SHOULDER, K.RIGHT_SHOULDER), (K.LEFT_SHOULDER, K.LEFT_ELBOW),
    (K.RIGHT_SHOULDER, K.RIGHT_ELBOW), (K.LEFT_ELBOW, K.LEFT_WRIST),
    (K.RIGHT_ELBOW, K.RIGHT_WRIST), (K.LEFT_EYE, K.RIGHT_EYE), (K.NOSE, K.LEFT_EYE),
    (K.NOSE, K.RIGHT_EYE), (K.LEFT_EYE, K.LEFT_EAR), (K.RIGHT_EYE, K.RIGHT_EAR),
    (K.LEFT_EAR, K.LEFT_SHOULDER), (K.RIGHT_EAR, K.RIGHT_SHOULDER),
)
LEFT: frozenset[int] = frozenset(k for k in Keypoint if k.name.startswith("LEFT_"))
RIGHT: frozenset[int] = frozenset(k for k in Keypoint if k.name.startswith("RIGHT_"))
#: For each keypoint, the one it becomes in a mirror image (left and right swapped).
MIRROR: tuple[int, ...] = tuple(
    Keypoint[k.name.replace("LEFT_", "RIGHT_") if k.name.startswith("LEFT_")
             else k.name.replace("RIGHT_", "LEFT_")] for k in Keypoint)

#: Per-keypoint falloff of COCO's object keypoint similarity (OKS), from cocoeval.
OKS_SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87,
     0.89, 0.89], dtype=np.float64,
) / 10.0
OKS_SIGMAS.flags.writeable = False
