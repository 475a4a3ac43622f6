"""Human pose: COCO keypoints, backends, postures, falls, drawing and evaluation.

The stage lives in :mod:`streamcv.features.pose.stage`; this package holds what it is made of,
importable without torch or TFLite (backends import them when built).
"""

from __future__ import annotations

from streamcv.features.pose.fall import FallConfig, FallDetector, Observation
from streamcv.features.pose.output import PoseOutput, people_json
from streamcv.features.pose.posture import PoseFeatures, Posture, PostureConfig, classify
from streamcv.features.pose.skeleton import (
    KEYPOINT_NAMES,
    NUM_KEYPOINTS,
    OKS_SIGMAS,
    SKELETON,
    Keypoint,
)

__all__ = [
    "KEYPOINT_NAMES", "NUM_KEYPOINTS", "OKS_SIGMAS", "SKELETON", "Keypoint",
    "FallConfig", "FallDetector", "Observation",
    "PoseOutput", "people_json",
    "PoseFeatures", "Posture", "PostureConfig", "classify",
]
