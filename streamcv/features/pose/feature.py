"""Pose: COCO keypoints, postures and falls (``type: pose``)."""

from __future__ import annotations

from streamcv.features.pose.cli import register
from streamcv.features.pose.events import EVENTS
from streamcv.features.pose.queries import POSES
from streamcv.features.pose.stage import PoseStage
from streamcv.features.pose.zoo import POSE_MODELS
from streamcv.plugins import Feature

FEATURE = Feature(
    name="pose", summary="human pose, postures and falls",
    stages=(PoseStage,), queries=(POSES,), models=POSE_MODELS, cli=register,
    events=EVENTS,
)
